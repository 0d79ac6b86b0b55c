#!/bin/sh
# Prove an image volume is read-only and not empty, the way runtimes mount it: an overlay
# without an upper layer, so /proc/mounts shows `ro` and writes fail with
# EROFS (KEP-4639; neither CRI-O nor containerd adds noexec). CRI-O 1.33+
# mounts an OCI artifact file by file: then the mount path is a plain
# directory and every mount below it must be read-only.
# stdin: the kubeconfig. stdout: the refused write and the mount options.
#
# Environment:
#   IMAGEVOLUME_NAMESPACE, IMAGEVOLUME_POD, IMAGEVOLUME_CONTAINER   where to look
#   IMAGEVOLUME_MOUNT_PATH         the mount path, canonical
#   IMAGEVOLUME_MOUNT_PATH_KERNEL  the same as /proc/mounts prints it (octal escapes)
set -eu

namespace=${IMAGEVOLUME_NAMESPACE:?}
pod=${IMAGEVOLUME_POD:?}
container=${IMAGEVOLUME_CONTAINER:?}
mount_path=${IMAGEVOLUME_MOUNT_PATH:?}
kernel_path=${IMAGEVOLUME_MOUNT_PATH_KERNEL:?}

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

work=$(mktemp -d) # mode 0700: the kubeconfig stays private
trap 'rm -rf "$work"' EXIT
cat >"$work/kubeconfig"
command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not on PATH (it reaches the pod): install it, see https://kubernetes.io/docs/tasks/tools/"
in_pod() {
  kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/cache" --namespace "$namespace" \
    exec "$pod" --container "$container" -- "$@"
}

in_pod cat /proc/mounts >"$work/mounts" || fail "cannot read /proc/mounts in the container"
# Mount points at or below the path; fields: mount point (kernel-escaped), options.
MOUNT=$kernel_path awk '$2 == ENVIRON["MOUNT"] || index($2, ENVIRON["MOUNT"] "/") == 1 { print $2, $4 }' \
  "$work/mounts" >"$work/volume"
[ -s "$work/volume" ] || fail "nothing is mounted at or below $mount_path in the container (see /proc/mounts)"

while read -r point options; do
  case ",$options," in
    *,ro,*) ;;
    *) fail "$(printf '%b' "$point") is mounted without ro: $options" ;;
  esac
done <"$work/volume"

# Write where the runtime mounted: into the mount path when it is the mount
# itself, else onto the first file mounted below it (touch of an existing
# file only changes its times, and fails on a read-only mount).
if MOUNT=$kernel_path awk '$1 == ENVIRON["MOUNT"] { found = 1 } END { exit !found }' "$work/volume"; then
  target="$mount_path/.imagevolume-write-probe"
else
  target=$(printf '%b' "$(awk 'NR == 1 { print $1 }' "$work/volume")")
fi
if written=$(in_pod touch "$target" 2>&1); then
  fail "writing $target succeeded: the volume at $mount_path is not read-only"
fi
refusal=$(printf '%s\n' "$written" | grep -F 'Read-only file system' | head -n 1 || true)
[ -n "$refusal" ] || fail "writing $target failed, but not because the volume is read-only: $written"

# A runtime can mount an empty folder where the image should be, without an
# error (reported with k3s's bundled containerd): an image volume with nothing
# in it is a failure of the runtime, not a proof.
listing=$(in_pod ls -l "$mount_path") || fail "cannot list $mount_path in the container"
if ! printf '%s\n' "$listing" | grep -qv '^total '; then
  fail "the image volume at $mount_path is empty: the runtime mounted nothing of the image. Check that the nodes' runtime supports image volumes (CRI-O 1.31+, containerd 2.1+; README's version and runtime rules) and that the image (or its subPath) has content"
fi

printf 'write refused: %s\n' "$refusal"
if [ "$(wc -l <"$work/volume")" -eq 1 ] && [ "$(awk '{ print $1 }' "$work/volume")" = "$kernel_path" ]; then
  printf 'mount options: %s\n' "$(awk '{ print $2 }' "$work/volume")"
else
  while read -r point options; do
    printf 'mount options: %s %s\n' "$(printf '%b' "$point")" "$options"
  done <"$work/volume"
fi
