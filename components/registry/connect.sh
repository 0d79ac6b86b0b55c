#!/bin/sh
# Let the cluster's nodes pull from the stack's registry by the name the pods
# use, localhost:<port>, as kind's local-registry recipe does (kind
# site/content/docs/user/local-registry.md): the registry joins the `kind`
# network, and every node maps localhost:<port> to http://<registry>:5000.
# The files are written into the nodes (no host path in the cluster's
# definition), so they survive a restart of the nodes.
#
# Environment:
#   IMAGEVOLUME_CLUSTER_NAME     the kind cluster
#   IMAGEVOLUME_RUNTIME          containerd or crio: the nodes' runtime
#   IMAGEVOLUME_REGISTRY_NAME    the registry container
#   IMAGEVOLUME_REGISTRY_PORT    the port in the pods' image references
#   KIND_EXPERIMENTAL_PROVIDER   the engine (docker), DOCKER_HOST / DOCKER_CONTEXT when set
set -eu

cluster=${IMAGEVOLUME_CLUSTER_NAME:?}
runtime=${IMAGEVOLUME_RUNTIME:?}
name=${IMAGEVOLUME_REGISTRY_NAME:?}
port=${IMAGEVOLUME_REGISTRY_PORT:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}
host=localhost:$port

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

command -v kind >/dev/null 2>&1 ||
  fail "kind is not on PATH (it lists the cluster's nodes): install it, see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"

# kind creates the `kind` network with its first cluster (kind
# pkg/cluster/internal/providers/docker/network.go).
kind_network=$("$engine" inspect --type container --format '{{json .NetworkSettings.Networks.kind}}' "$name") ||
  fail "cannot inspect the registry container $name (the error is above): if it is gone, make up starts a new one"
if [ "$kind_network" = null ]; then
  "$engine" network connect kind "$name"
fi

nodes=$(kind get nodes --name "$cluster")
[ -n "$nodes" ] || fail "kind cluster $cluster has no nodes (kind get nodes lists none): run pulumi up again to recreate it"

for node in $nodes; do
  case $runtime in
  containerd)
    # containerd reads <config_path>/<host>/hosts.toml on every pull; from
    # containerd 2.2 config_path defaults to /etc/containerd/certs.d
    # (containerd plugins/cri/images/plugin.go; kind's config sets none, and
    # settings/rules.py refuses older containerd for source volumes).
    dir=/etc/containerd/certs.d/$host
    "$engine" exec "$node" mkdir -p "$dir"
    printf '[host."http://%s:5000"]\n' "$name" | "$engine" exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
    ;;
  crio)
    # containers/image sysregistriesv2: a [[registry]] prefix rewritten to
    # another location, over plain HTTP; CRI-O reads registries.conf.d again
    # when it reloads its configuration (SIGHUP: systemctl reload crio).
    dir=/etc/containers/registries.conf.d
    "$engine" exec "$node" mkdir -p "$dir"
    printf '[[registry]]\nprefix = "%s"\nlocation = "%s:5000"\ninsecure = true\n' "$host" "$name" |
      "$engine" exec -i "$node" cp /dev/stdin "$dir/50-imagevolume-registry.conf"
    "$engine" exec "$node" systemctl reload crio
    ;;
  *) fail "unknown runtime $runtime" ;;
  esac
done
echo "nodes of $cluster pull $host from $name"
