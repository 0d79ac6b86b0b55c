#!/bin/sh
# Delete the stack's kind cluster, only when this stack state owns it. Runs
# with the environment recorded when the cluster was created (pulumi-command
# runs the old state's delete), so it reaches the same node provider and
# engine endpoint as the create did: kind re-detects its provider on every
# call, and a delete sent elsewhere finds no nodes and exits 0 (kind
# pkg/internal/runtime/runtime.go, pkg/cluster/provider.go). A cluster that is
# someone else's is left, with a warning, and the destroy succeeds: the stack
# can always be destroyed.
#
# Environment: IMAGEVOLUME_CLUSTER_NAME, IMAGEVOLUME_OWNER, IMAGEVOLUME_OWNER_FILE,
# KIND_EXPERIMENTAL_PROVIDER, and DOCKER_HOST / DOCKER_CONTEXT when they were set.
set -eu

name=${IMAGEVOLUME_CLUSTER_NAME:?}
owner=${IMAGEVOLUME_OWNER:?}
owner_file=${IMAGEVOLUME_OWNER_FILE:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}
node=$name-control-plane

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

command -v kind >/dev/null 2>&1 ||
  fail "kind is not on PATH, so kind cluster $name cannot be deleted: install it (see https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and run pulumi destroy again"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

clusters=$(kind get clusters 2>"$work/error") || {
  cat "$work/error" >&2
  fail "cannot list the kind clusters on $engine (the error is above), so kind cluster $name was not deleted: start $engine and run pulumi destroy again"
}
if ! printf '%s\n' "$clusters" | grep -Fqx -- "$name"; then
  echo "imagevolume: kind cluster $name is already gone" >&2
  exit 0
fi

printf '%s' "$owner" >"$work/ours"
if ! "$engine" cp "$node:$owner_file" "$work/theirs" >/dev/null 2>&1; then
  echo "imagevolume: warning: left kind cluster $name: it carries no owner record, so this stack did not make it (another tool or an older version did). If it is yours: kind delete cluster --name $name" >&2
  exit 0
fi
if [ "$(sed -n 's/^id=//p' "$work/theirs")" != "$(sed -n 's/^id=//p' "$work/ours")" ]; then
  whose=$(awk '{ key = substr($0, 1, index($0, "=") - 1); value[key] = substr($0, index($0, "=") + 1) }
    END { printf "stack %s of project %s in %s on %s, created %s", value["stack"], value["project"],
      value["checkout"], value["host"], value["created"] }' "$work/theirs")
  echo "imagevolume: warning: left kind cluster $name: it belongs to another stack state ($whose); this stack's destroy removes only what it made" >&2
  exit 0
fi

# kind removes the cluster's context from this kubeconfig: never the user's own.
kind delete cluster --name "$name" --kubeconfig "$work/kubeconfig"
