#!/bin/sh
# Remove the stack's registry container (and its store), only when this stack
# state made it. Runs with the environment recorded at create (pulumi-command
# runs the old state's delete). A container that is someone else's is left,
# with a warning, and the destroy succeeds.
#
# Environment: IMAGEVOLUME_REGISTRY_NAME, IMAGEVOLUME_OWNER, IMAGEVOLUME_OWNER_LABEL,
# KIND_EXPERIMENTAL_PROVIDER, and DOCKER_HOST / DOCKER_CONTEXT when they were set.
set -eu

name=${IMAGEVOLUME_REGISTRY_NAME:?}
label=${IMAGEVOLUME_OWNER_LABEL:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}
owner=$(printf '%s\n' "${IMAGEVOLUME_OWNER:?}" | sed -n 's/^id=//p')

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

command -v "$engine" >/dev/null 2>&1 ||
  fail "$engine is not on PATH, so the registry container $name was not removed: install $engine and run pulumi destroy again"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! theirs=$("$engine" inspect --type container --format "{{index .Config.Labels \"$label\"}}" "$name" 2>"$work/error"); then
  # docker inspect --type container prints the daemon's NotFound as it is,
  # "Error response from daemon: No such container: NAME" (docker/cli
  # cli/command/inspect/inspector.go; moby errdefs); without --type,
  # "Error: No such object: NAME".
  if grep -Eqi 'No such (container|object)' "$work/error"; then
    echo "imagevolume: registry container $name is already gone" >&2
    exit 0
  fi
  cat "$work/error" >&2
  fail "cannot reach $engine (the error is above), so the registry container $name was not removed: start $engine and run pulumi destroy again"
fi
if [ "$theirs" != "$owner" ]; then
  echo "imagevolume: warning: left container $name: this stack did not make it (its $label label is '${theirs}'); this stack's destroy removes only what it made" >&2
  exit 0
fi
# -v: the registry's store is an anonymous volume (the image declares
# VOLUME /var/lib/registry); it goes with the container.
"$engine" rm -f -v "$name" >/dev/null
