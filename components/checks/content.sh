#!/bin/sh
# Prove a source volume holds the folder's bytes: every regular file's sha256
# inside the pod equals the one computed from the folder. In the container it
# runs `sha256sum -c -` (BusyBox or coreutils); without sha256sum there, each
# file is read with `cat` and hashed here; without either, it says what the
# pod image lacks.
# stdin: the kubeconfig, a line "# imagevolume: expected sums", then one line
# per file: "<sha256 hex>  <absolute path in the container>".
# stdout: "<N> files, all match".
#
# Environment:
#   IMAGEVOLUME_NAMESPACE, IMAGEVOLUME_POD, IMAGEVOLUME_CONTAINER   where to look
#   IMAGEVOLUME_MOUNT_PATH     the mount path (for messages)
#   IMAGEVOLUME_DIGEST         the image's digest (for messages)
#   IMAGEVOLUME_POD_IMAGE      the container's image (for messages; [secret] when set with --secret)
#   IMAGEVOLUME_MASKED         yes: the volumes were set with --secret; messages name no
#                              mount path, file or digest
set -eu

namespace=${IMAGEVOLUME_NAMESPACE:?}
pod=${IMAGEVOLUME_POD:?}
container=${IMAGEVOLUME_CONTAINER:?}
mount_path=${IMAGEVOLUME_MOUNT_PATH:?}
digest=${IMAGEVOLUME_DIGEST:?}
pod_image=${IMAGEVOLUME_POD_IMAGE:?}
if [ "${IMAGEVOLUME_MASKED:-no}" = yes ]; then
  mount_path='[secret]'
  digest='[secret]'
fi
mark='# imagevolume: expected sums'

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

work=$(mktemp -d) # mode 0700: the kubeconfig stays private
trap 'rm -rf "$work"' EXIT
MARK=$mark awk -v kubeconfig="$work/kubeconfig" -v sums="$work/sums" '
  !found && $0 == ENVIRON["MARK"] { found = 1; next }
  { print > (found ? sums : kubeconfig) }' && : >>"$work/sums"
command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not on PATH (it reaches the pod): install it, see https://kubernetes.io/docs/tasks/tools/"
in_pod() {
  kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/cache" --namespace "$namespace" \
    exec "$@"
}
missing_program() {
  # runc: 'exec: "<program>": executable file not found in $PATH' (CRI-O
  # passes it through, containerd wraps it; see tests/fakes/container.py).
  grep -q "exec: \"$1\": executable file not found" "$2"
}

expected=$(wc -l <"$work/sums" | tr -d ' ')
if [ "$expected" -eq 0 ]; then
  echo "0 files (the folder has no regular files under $mount_path)"
  exit 0
fi

status=0
: >"$work/error"
in_pod -i "$pod" --container "$container" -- sha256sum -c - <"$work/sums" >"$work/checked" 2>"$work/error" ||
  status=$?
if [ "$status" -ne 0 ] && missing_program sha256sum "$work/error"; then
  # The fallback: read each file through kubectl and hash it on this machine.
  if command -v sha256sum >/dev/null 2>&1; then
    hash_here() { sha256sum | cut -d' ' -f1; }
  elif command -v shasum >/dev/null 2>&1; then
    hash_here() { shasum -a 256 | cut -d' ' -f1; }
  else
    fail "the content check needs sha256sum in the pod image ($pod_image) or, to hash here, sha256sum or shasum on this machine: install one, or use a pod image with BusyBox or coreutils (imagevolume:podImage)"
  fi
  : >"$work/checked"
  while IFS= read -r line; do
    want=${line%%  *}
    path=${line#*  }
    if in_pod "$pod" --container "$container" -- cat "$path" </dev/null >"$work/file" 2>"$work/error"; then
      got=$(hash_here <"$work/file")
      if [ "$got" = "$want" ]; then echo "$path: OK"; else echo "$path: FAILED"; fi
    elif missing_program cat "$work/error"; then
      cat "$work/error" >&2
      fail "the content check needs sha256sum or cat in the pod image ($pod_image), which has neither: use a pod image with BusyBox or coreutils (imagevolume:podImage), or set imagevolume:checks without this volume's source"
    else
      echo "$path: FAILED open or read"
    fi
  done <"$work/sums" >"$work/checked"
  status=0
  grep -qv ': OK$' "$work/checked" && status=1
  how=" (read with cat and hashed here: the pod image has no sha256sum)"
elif [ "$status" -ne 0 ] && ! grep -q ': \(OK\|FAILED\)' "$work/checked"; then
  cat "$work/error" >&2
  fail "could not run sha256sum in pod $namespace/$pod (exit $status; the error is above)"
else
  how=
fi

matched=$(grep -c ': OK$' "$work/checked" || true)
if [ "$status" -eq 0 ] && [ "$matched" -eq "$expected" ]; then
  echo "$expected files, all match$how"
  exit 0
fi
# Files that could not be read: coreutils says "FAILED open or read"; BusyBox
# says only FAILED, after "can't open '<file>'" on stderr
# (coreutils src/digest.c; busybox coreutils/md5_sha1_sum.c, libbb/xfuncs_printf.c).
unreadable=$(grep -c ': FAILED open or read$' "$work/checked" || true)
if [ "$unreadable" -eq 0 ]; then unreadable=$(grep -c "can't open '" "$work/error" || true); fi
if [ "$matched" -eq 0 ] && [ "$unreadable" -eq "$expected" ]; then
  fail "none of the $expected files of $digest can be read at $mount_path in pod $namespace/$pod: the mount is empty or another image's; the runtime mounted nothing it reported (an image volume that is empty is a runtime problem: check the node's runtime version and its logs)"
fi
if [ "${IMAGEVOLUME_MASKED:-no}" = yes ]; then
  fail "$((expected - matched)) of $expected files at $mount_path in pod $namespace/$pod differ from the folder (their names are not shown: the volumes were set with --secret)"
fi
grep -v ': OK$' "$work/checked" | head -n 10 >&2
if [ "$status" -ne 0 ] && [ -s "$work/error" ]; then head -n 10 "$work/error" >&2; fi
fail "$((expected - matched)) of $expected files at $mount_path in pod $namespace/$pod differ from the folder (image $digest; the first are listed above)"
