#!/bin/sh
# Run one check in the pod's container with `kubectl exec`, argv intact (no
# shell in the container). stdin: the kubeconfig. stdout: what the check printed.
#
# Environment:
#   IMAGEVOLUME_NAMESPACE, IMAGEVOLUME_POD, IMAGEVOLUME_CONTAINER   where to run
#   IMAGEVOLUME_ARGC, IMAGEVOLUME_ARG_0 ... IMAGEVOLUME_ARG_<ARGC-1>  the argv
#   IMAGEVOLUME_ARGV_SECRET   yes: the argv was set with --secret; never print it
set -eu

namespace=${IMAGEVOLUME_NAMESPACE:?}
pod=${IMAGEVOLUME_POD:?}
container=${IMAGEVOLUME_CONTAINER:?}
argc=${IMAGEVOLUME_ARGC:?}

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

work=$(mktemp -d) # mode 0700: the kubeconfig stays private
trap 'rm -rf "$work"' EXIT
cat >"$work/kubeconfig"
command -v kubectl >/dev/null 2>&1 ||
  fail "kubectl is not on PATH (it reaches the pod): install it, see https://kubernetes.io/docs/tasks/tools/"

# Rebuild the argv from one variable per word: no word is ever parsed by a shell.
set --
i=0
word=
while [ "$i" -lt "$argc" ]; do
  eval "word=\${IMAGEVOLUME_ARG_$i?}"
  set -- "$@" "$word"
  i=$((i + 1))
done

status=0
# kubectl exits with the remote exit code (kubectl pkg/cmd/exec/exec.go).
# A secret check's complaints may repeat its words: they are not shown.
errors=/dev/stderr
if [ "${IMAGEVOLUME_ARGV_SECRET:-no}" = yes ]; then errors=$work/errors; fi
kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/cache" --namespace "$namespace" \
  exec "$pod" --container "$container" -- "$@" 2>"$errors" || status=$?
if [ "$status" -ne 0 ]; then
  if [ "${IMAGEVOLUME_ARGV_SECRET:-no}" = yes ]; then
    fail "check failed in pod $namespace/$pod (exit $status): [secret]; its output is not shown, since the check was set with --secret"
  fi
  fail "check failed in pod $namespace/$pod (exit $status): $*; what it printed is above"
fi
