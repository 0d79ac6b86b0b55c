#!/bin/sh
# Before kind create: can this kind run this node image on this Docker host?
# Refuses a mismatch that would only fail minutes into the create, with the
# fix; warns where kind's known host limits may bite. Run by create.sh.
#
# Environment:
#   IMAGEVOLUME_NODE_IMAGE        the node image
#   IMAGEVOLUME_KIND_FOR_IMAGE    the kind release the image was built for (a
#                                 kindest/node image of the version table), else empty
#   IMAGEVOLUME_KIND_AT_LEAST     the oldest kind that can run the image's
#                                 Kubernetes (0.32.0 for 1.36+), else empty
#   IMAGEVOLUME_WORKERS           worker nodes (limits matter with several nodes)
#   IMAGEVOLUME_PINNED_KIND, IMAGEVOLUME_PINNED_IMAGE   the kind `make tools`
#                                 installs and its own node image
#   KIND_EXPERIMENTAL_PROVIDER    the container engine (docker, podman, ...)
set -eu

image=${IMAGEVOLUME_NODE_IMAGE:?}
kind_for_image=${IMAGEVOLUME_KIND_FOR_IMAGE:-}
kind_at_least=${IMAGEVOLUME_KIND_AT_LEAST:-}
workers=${IMAGEVOLUME_WORKERS:-0}
pinned_kind=${IMAGEVOLUME_PINNED_KIND:?}
pinned_image=${IMAGEVOLUME_PINNED_IMAGE:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

# 1 when version $1 is older than $2 (both x.y.z).
older() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, "."); split(b, y, ".")
    for (i = 1; i <= 3; i++) { if (x[i] + 0 < y[i] + 0) exit 0; if (x[i] + 0 > y[i] + 0) exit 1 }
    exit 1 }'
}

# kind version -q prints the bare version (kind cmd/kind/app/main.go, version.go).
kind_version=$(kind version -q 2>/dev/null) || fail "kind version failed: is kind on PATH working? (make tools installs the pinned one)"
if [ -n "$kind_for_image" ] && [ "$kind_version" != "$kind_for_image" ]; then
  fail "node image $image was built for kind v$kind_for_image, but this kind is v$kind_version: kind's node images are built per release and should match it. Use kind v$kind_for_image, or the pinned kind v$pinned_kind (make tools) with its own image: pulumi config set imagevolume:nodeImage $pinned_image"
fi
if [ -n "$kind_at_least" ] && older "$kind_version" "$kind_at_least"; then
  fail "node image $image runs Kubernetes 1.36 or later, which needs kind v$kind_at_least or later (kubeadm v1beta4), but this kind is v$kind_version: use the pinned kind v$pinned_kind (make tools puts it first on PATH)"
fi
if [ -z "$kind_for_image" ]; then
  case "$image" in
    kindest/node:* | docker.io/kindest/node:* | index.docker.io/kindest/node:*) ;;
    *) notice "notice: node image $image comes from no kind release; kind v$kind_version runs it as it is" ;;
  esac
fi

# The image's platform against the host's: docker info reports the kernel's
# machine name (moby daemon/info.go), image inspect Go's arch names. A
# multi-arch image is pulled for the host's platform, so it always matches.
if [ "$engine" != docker ]; then
  notice "notice: the node image's platform and the host's inotify limits are checked with docker only; $engine runs the image as it is"
  exit 0
fi
# Only a missing image is pulled, as kind does (kind pkg/cluster/internal/
# providers/docker/images.go pullIfNotPresent: docker inspect --type=image):
# a pull always asks the registry, even for an image present by tag or digest,
# so offline or with a locally built node image it would fail.
if ! "$engine" inspect --type=image "$image" >/dev/null 2>&1; then
  "$engine" pull "$image" >&2 || fail "cannot pull node image $image (the error is above)"
fi
image_arch=$("$engine" image inspect --format '{{.Architecture}}' "$image")
host_arch=$("$engine" info --format '{{.Architecture}}')
case "$host_arch" in
  x86_64) host_arch=amd64 ;;
  aarch64) host_arch=arm64 ;;
esac
if [ "$image_arch" != "$host_arch" ]; then
  fail "node image $image is built for $image_arch only, but the $engine host is $host_arch: its nodes could not run there. Use an image built for $host_arch (kind's kindest/node images are multi-arch: pulumi config set imagevolume:nodeImage ...)"
fi

# kind's known issues for several nodes: "too many open files" below these
# inotify limits. Read on the engine's host (its kernel, not this machine's,
# which differs on macOS or with a remote DOCKER_HOST).
if [ "$workers" -gt 0 ]; then
  for limit in max_user_watches:524288 max_user_instances:512; do
    key=${limit%%:*}
    want=${limit#*:}
    have=$("$engine" run --rm --entrypoint cat "$image" "/proc/sys/fs/inotify/$key" 2>/dev/null) || continue
    if [ "$have" -lt "$want" ] 2>/dev/null; then
      notice "warning: fs.inotify.$key is $have on the $engine host; kind's multi-node clusters need $want (kind known issues: Pod errors due to too many open files). On that host: sudo sysctl fs.inotify.$key=$want"
    fi
  done
fi
