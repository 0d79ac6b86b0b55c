#!/bin/sh
# Delete the stack's kind cluster. Runs with the environment recorded when the
# cluster was created (pulumi-command runs the old state's delete), so it
# reaches the same node provider and engine endpoint as the create did: kind
# re-detects its provider on every call, and a delete sent elsewhere finds no
# nodes and exits 0 (kind pkg/internal/runtime/runtime.go, pkg/cluster/provider.go).
#
# Environment: IMAGEVOLUME_CLUSTER_NAME, KIND_EXPERIMENTAL_PROVIDER, and
# DOCKER_HOST / DOCKER_CONTEXT when they were set.
set -eu

name=${IMAGEVOLUME_CLUSTER_NAME:?}

fail() {
  printf 'imagevolume: %s\n' "$*" >&2
  exit 1
}

command -v kind >/dev/null 2>&1 ||
  fail "kind is not on PATH, so kind cluster $name cannot be deleted: install it (see https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and run pulumi destroy again"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kind removes the cluster's context from this kubeconfig: never the user's own.
# A missing cluster is not an error (kind delete is idempotent).
kind delete cluster --name "$name" --kubeconfig "$work/kubeconfig"
