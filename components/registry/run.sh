#!/bin/sh
# Start the stack's registry container, or adopt it when this stack made it.
# stdout: the container's id and nothing else (a new id: a new, empty store).
#
# Environment:
#   IMAGEVOLUME_REGISTRY_NAME    the container's name (<clusterName>-registry)
#   IMAGEVOLUME_REGISTRY_PORT    the host port, published on 127.0.0.1 only
#   IMAGEVOLUME_REGISTRY_IMAGE   the registry image, pinned by digest
#   IMAGEVOLUME_OWNER            this stack state's owner record (cluster/owner.py)
#   IMAGEVOLUME_OWNER_LABEL      the container label that carries the owner's id
#   KIND_EXPERIMENTAL_PROVIDER   the engine (docker), DOCKER_HOST / DOCKER_CONTEXT when set
set -eu

name=${IMAGEVOLUME_REGISTRY_NAME:?}
port=${IMAGEVOLUME_REGISTRY_PORT:?}
image=${IMAGEVOLUME_REGISTRY_IMAGE:?}
label=${IMAGEVOLUME_OWNER_LABEL:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}
owner=$(printf '%s\n' "${IMAGEVOLUME_OWNER:?}" | sed -n 's/^id=//p')

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

command -v "$engine" >/dev/null 2>&1 ||
  fail "$engine is not on PATH: the stack's registry runs as a $engine container; install $engine"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# An existing container of that name: ours is adopted (started if stopped);
# any other is left alone. `inspect` fails only when there is none.
if theirs=$("$engine" inspect --type container --format "{{index .Config.Labels \"$label\"}}" "$name" 2>/dev/null); then
  if [ "$theirs" != "$owner" ]; then
    fail "a container named $name exists and this stack did not make it (its $label label is '${theirs}'): remove it ($engine rm -f $name) if it is not needed, or set another imagevolume:clusterName"
  fi
  if [ "$("$engine" inspect --type container --format '{{.State.Running}}' "$name")" != true ]; then
    "$engine" start "$name" >/dev/null
  fi
  "$engine" inspect --type container --format '{{.Id}}' "$name"
  exit 0
fi

# --restart=always: the registry comes back with the Docker daemon, as kind's
# nodes do (kind site/content/docs/user/local-registry.md).
if ! id=$("$engine" run -d --restart=always --name "$name" --label "$label=$owner" \
  -p "127.0.0.1:$port:5000" "$image" 2>"$work/error"); then
  # docker run creates the container before starting it; a failed start leaves
  # it behind (moby daemon/start.go), and nothing half-made is left.
  "$engine" rm -f -v "$name" >/dev/null 2>&1 || true
  cat "$work/error" >&2
  if grep -Eq 'port is already allocated|address already in use' "$work/error"; then
    fail "imagevolume:registryPort $port is taken on 127.0.0.1 (the error is above), so the stack's registry cannot listen there: pick a free port with pulumi config set imagevolume:registryPort <port> (1024-65535) and run pulumi up again"
  fi
  fail "the stack's registry container $name did not start (the error is above)"
fi
printf '%s\n' "$id"
