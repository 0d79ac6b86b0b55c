#!/bin/sh
# Create the stack's kind cluster, or adopt it when this stack's settings made
# it. stdin: the kind config. stdout: the kubeconfig and nothing else, printed
# last and only on success (the Command keeps it as a secret output).
#
# Environment:
#   IMAGEVOLUME_CLUSTER_NAME     kind cluster name
#   IMAGEVOLUME_NODE_IMAGE       kind node image
#   IMAGEVOLUME_FINGERPRINT      the cluster's identity, recorded in the cluster
#   IMAGEVOLUME_OWNER            this stack state's owner record (cluster/owner.py)
#   IMAGEVOLUME_OWNER_FILE       where the record lives in the control-plane node
#   IMAGEVOLUME_READY_TIMEOUT    seconds for the whole readiness wait (kind's
#                                --wait, then every node; or an adopted
#                                cluster's API server to answer)
#   KIND_EXPERIMENTAL_PROVIDER   the node provider, pinned at evaluation
#   DOCKER_HOST, DOCKER_CONTEXT  the engine endpoint, when set
#   IMAGEVOLUME_POLL_SECONDS     pause between API server probes (default 2)
#   IMAGEVOLUME_PREFLIGHT_SH     preflight.sh's text, run before a create (its
#                                own values: see there)
set -eu

name=${IMAGEVOLUME_CLUSTER_NAME:?}
image=${IMAGEVOLUME_NODE_IMAGE:?}
fingerprint=${IMAGEVOLUME_FINGERPRINT:?}
budget=${IMAGEVOLUME_READY_TIMEOUT:?}
engine=${KIND_EXPERIMENTAL_PROVIDER:?}
owner=${IMAGEVOLUME_OWNER:?}
owner_file=${IMAGEVOLUME_OWNER_FILE:?}
poll=${IMAGEVOLUME_POLL_SECONDS:-2}
# kind names the first node container <cluster>-control-plane (kind common/namer.go).
node=$name-control-plane
mark=imagevolume-cluster

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

command -v kind >/dev/null 2>&1 ||
  fail "kind is not on PATH (it creates the cluster): install it, see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not on PATH (it checks the nodes): install it, see https://kubernetes.io/docs/tasks/tools/"
command -v "$engine" >/dev/null 2>&1 ||
  fail "$engine is not on PATH: kind runs its nodes as $engine containers; install $engine"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kubeconfig="$work/kubeconfig"
# kubectl writes a discovery cache under ~/.kube/cache unless told otherwise.
kc() { kubectl --kubeconfig "$kubeconfig" --cache-dir "$work/cache" "$@"; }

# `docker info` exits 1 both when the daemon is down and when the socket is
# not permitted; only its stderr tells them apart (docker/cli).
if ! "$engine" info >/dev/null 2>"$work/engine"; then
  cat "$work/engine" >&2
  if grep -qi 'permission denied' "$work/engine"; then
    fail "no permission to use the $engine daemon ($engine info fails): add your user to the $engine group (sudo usermod -aG $engine \$USER, then log in again) and run again"
  fi
  fail "cannot reach the $engine daemon ($engine info fails): kind runs its nodes as $engine containers; start it (e.g. sudo systemctl start $engine) and run again"
fi

deadline=$(($(date +%s) + budget))
seconds_left() {
  left=$((deadline - $(date +%s)))
  if [ "$left" -lt 1 ]; then left=1; fi
  echo "$left"
}

# The owner record: written into the control-plane node, read back with
# `cp`, which works on a stopped container too (moby daemon/archive.go).
printf '%s' "$owner" >"$work/ours"
owner_id() { sed -n 's/^id=//p' "$1"; }
describe_owner() {
  awk '{ key = substr($0, 1, index($0, "=") - 1); value[key] = substr($0, index($0, "=") + 1) }
    END { printf "stack %s of project %s in %s on %s, created %s", value["stack"], value["project"],
      value["checkout"], value["host"], value["created"] }' "$1"
}
read_owner() { "$engine" cp "$node:$owner_file" "$work/theirs" >/dev/null 2>&1; }
stamp() { "$engine" exec -i "$node" tee "$owner_file" <"$work/ours" >/dev/null; }

created=no
discard() {
  # kind removes the nodes of most failed creates, but not when it was killed
  # or its final kubeconfig export failed (kind pkg/cluster/internal/create/create.go);
  # the name was free before this create, so whatever is there now is ours.
  if [ "$created" = yes ]; then
    kind delete cluster --name "$name" --kubeconfig "$work/deleted" >&2 || true
    echo "imagevolume: deleted the half-made kind cluster $name" >&2
  fi
  fail "$@"
}

# The API server answered unless kubectl could not connect or authenticate.
unreachable() {
  grep -Eq 'connection to the server|Unable to connect to the server|Unauthorized|must be logged in|dial tcp|no such host|i/o timeout' "$1"
}

if kind get clusters 2>/dev/null | grep -Fqx -- "$name"; then
  marked=no
  if read_owner; then
    if [ "$(owner_id "$work/theirs")" != "$(owner_id "$work/ours")" ]; then
      fail "kind cluster $name belongs to another stack state: $(describe_owner "$work/theirs"). It was left untouched. Give this stack its own cluster (pulumi config set imagevolume:clusterName NAME), or destroy that stack first"
    fi
    marked=yes
  fi
  # kind lists stopped clusters too; after a Docker restart the nodes come
  # back on their own and the API server needs a while: wait for it within
  # the budget, and never call an unreachable cluster foreign.
  while :; do
    if kind get kubeconfig --name "$name" >"$kubeconfig" 2>"$work/error" &&
      found=$(kc get configmap "$mark" --namespace kube-system --ignore-not-found \
        --output 'jsonpath={.data.fingerprint}' 2>"$work/error"); then
      break
    fi
    if grep -Eq 'Unauthorized|must be logged in' "$work/error"; then
      cat "$work/error" >&2
      fail "kind cluster $name exists, but its API server refused the credentials of kind get kubeconfig (the error is above). It was left untouched"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cat "$work/error" >&2
      fail "kind cluster $name exists, but its API server did not answer within ${budget}s (imagevolume:clusterReadyTimeout); the last error is above. Its nodes may be stopped or still starting (Docker restarting): start them (docker start $name-control-plane) or wait, then run again. The cluster was left untouched"
    fi
    sleep "$poll"
  done
  if [ -z "$found" ]; then
    fail "kind cluster $name exists but carries no mark of this stack's settings. Either another tool or stack made it, or an earlier pulumi up was stopped while creating it (a half-made cluster). It was left untouched. If it is this stack's half-made cluster, delete it (kind delete cluster --name $name) and run again; otherwise pick another name (pulumi config set imagevolume:clusterName NAME)"
  fi
  if [ "$found" != "$fingerprint" ]; then
    fail "kind cluster $name exists but was made from other settings or on another engine; it was left untouched. Pick another name (pulumi config set imagevolume:clusterName NAME) or delete it (kind delete cluster --name $name) and run again"
  fi
  if [ "$marked" = no ]; then
    # Made from these settings before clusters carried an owner: this state's.
    stamp || fail "could not record this stack as the owner of kind cluster $name"
    echo "imagevolume: notice: kind cluster $name was made from these settings before clusters carried an owner record; it now belongs to this stack state" >&2
  fi
  echo "imagevolume: kind cluster $name exists and was made from these settings; using it" >&2
else
  /bin/sh -c "${IMAGEVOLUME_PREFLIGHT_SH:?}" preflight.sh
  created=yes
  # kind's --wait covers the control plane only and exits 0 when it runs out
  # (kind pkg/cluster/internal/create/actions/waitforready/waitforready.go);
  # every node is waited for below, within the same budget.
  kind create cluster --name "$name" --image "$image" --config - --wait "${budget}s" \
    --kubeconfig "$kubeconfig" >&2 ||
    discard "kind create cluster failed (its output is above)"
  # At once, so that a later run can tell this state's cluster from any other.
  stamp || discard "could not record this stack as the owner of kind cluster $name"
fi

if ! kc wait --for=condition=Ready nodes --all --timeout="$(seconds_left)s" >&2 2>"$work/wait"; then
  cat "$work/wait" >&2
  if unreachable "$work/wait"; then
    discard "cannot reach the API server of kind cluster $name (the error is above)"
  fi
  kc get nodes --output wide >&2 || true
  discard "the nodes of kind cluster $name were not all Ready within ${budget}s (imagevolume:clusterReadyTimeout covers kind's wait for the control plane and then the wait for every node); CRI-O nodes start slowly: raise it (pulumi config set imagevolume:clusterReadyTimeout 10m) and run again"
fi

if [ "$created" = yes ]; then
  kc create configmap "$mark" --namespace kube-system --from-literal=fingerprint="$fingerprint" >&2 ||
    discard "could not record the cluster's identity in kind cluster $name"
fi
kind get kubeconfig --name "$name" ||
  discard "could not read the kubeconfig of kind cluster $name"
