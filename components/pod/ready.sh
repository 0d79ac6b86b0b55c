#!/bin/sh
# Wait for the pod to be Ready and print its uid. When it is not Ready in
# time, show `kubectl describe pod` and say which failure it is, from the
# strings the runtimes and kubelet really report.
# stdin: the kubeconfig. stdout: the pod's uid.
#
# Environment:
#   IMAGEVOLUME_NAMESPACE, IMAGEVOLUME_POD   where the pod is
#   IMAGEVOLUME_READY_TIMEOUT                seconds (imagevolume:podReadyTimeout)
#   IMAGEVOLUME_REFERENCES                   the image volumes, "name=reference ..."
#   IMAGEVOLUME_POD_IMAGE                    the container's image
#   IMAGEVOLUME_SUBPATHS                     "yes" when a volume has a subPath
#   IMAGEVOLUME_MASKED                       "yes" when images were set with --secret:
#                                            kubectl describe (which names them) is not shown
set -eu

namespace=${IMAGEVOLUME_NAMESPACE:?}
pod=${IMAGEVOLUME_POD:?}
timeout=${IMAGEVOLUME_READY_TIMEOUT:?}
references=${IMAGEVOLUME_REFERENCES:?}
pod_image=${IMAGEVOLUME_POD_IMAGE:?}
subpaths=${IMAGEVOLUME_SUBPATHS:-no}
masked=${IMAGEVOLUME_MASKED:-no}

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

work=$(mktemp -d) # mode 0700: the kubeconfig stays private
trap 'rm -rf "$work"' EXIT
cat >"$work/kubeconfig"
command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not on PATH (it reaches the pod): install it, see https://kubernetes.io/docs/tasks/tools/"
# kubectl writes a discovery cache under ~/.kube/cache unless told otherwise.
kc() { kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/cache" --namespace "$namespace" "$@"; }

if kc wait --for=condition=Ready "pod/$pod" --timeout="${timeout}s" >&2 2>"$work/wait"; then
  kc get pod "$pod" --output 'jsonpath={.metadata.uid}'
  exit 0
fi
cat "$work/wait" >&2
# kubectl wait exits 1 on a time-out and on a connection or credential error
# alike; only the text tells them apart (kubectl pkg/cmd/wait/wait.go).
if grep -Eq 'connection to the server|Unable to connect to the server|Unauthorized|must be logged in' "$work/wait"; then
  fail "cannot reach the API server to wait for pod $namespace/$pod (the error is above); this is not a pod failure"
fi

described=$(kc describe pod "$pod" 2>&1 || true)
if [ "$masked" = yes ]; then
  echo "imagevolume: the pod's description is not shown: its images were set with --secret (kubectl describe pod $pod shows it)" >&2
else
  printf '%s\n' "$described" >&2
fi
mount_failed="the runtime could not mount an image volume (reason above). containerd mounts only OCI images whose config lists rootfs.diff_ids, not OCI artifacts (quay.io/crio/artifact:v1 has no diff_ids; :v2 has the same files). Image volumes: $references"
no_support="the node's container runtime does not support image volumes: use CRI-O 1.31+ or containerd 2.1+ (see the version and runtime rules in README.md)"
# The subPath strings: CRI-O's "sub path ... does not exist in image volume",
# containerd's "failed to ensure image subpath"; the no-support strings:
# CRI-O's "mount.HostPath is empty", containerd before 2.1 "failed to mkdir".
# Both runtimes wrap image volume mount failures as ImageVolumeMountFailed
# (kubernetes cri-api pkg/errors/errors.go).
case "$described" in
  *'mount.HostPath is empty'* | *'failed to mkdir ""'*) hint=$no_support ;;
  *'does not exist in image volume'* | *'failed to ensure image subpath'*)
    if [ "$subpaths" = yes ]; then
      hint="a volume's subPath is not in its image: check each volume's subPath against the image's content. Image volumes: $references"
    else
      hint=$mount_failed
    fi ;;
  *ImageVolumeMountFailed*) hint=$mount_failed ;;
  *InvalidImageName*)
    hint="an image reference is not valid for the runtime (reason above). Image volumes: $references; container image: $pod_image" ;;
  *ErrImagePull* | *ImagePullBackOff*)
    hint="an image could not be pulled (reason above). Image volumes: $references; container image: $pod_image. Check each reference and that the nodes can reach its registry" ;;
  *CreateContainerError*)
    if [ "$subpaths" = yes ]; then
      hint="the container could not be created (reason above); with image volumes, a subPath that is not in the image does this"
    else
      hint="the container could not be created (reason above)"
    fi ;;
  *) hint="its description is above" ;;
esac
fail "pod $namespace/$pod was not Ready within ${timeout}s (imagevolume:podReadyTimeout): $hint"
