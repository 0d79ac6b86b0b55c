#!/bin/sh
# Is the stack's kind cluster still there? Prints present, absent, or unknown
# when kind or its engine cannot answer (no Docker at hand: a preview works
# without one). Never fails: it only informs. `kind get clusters` lists
# stopped clusters too (kind: docker ps -a), so a restarting Docker is not
# "absent".
#
# Environment: IMAGEVOLUME_CLUSTER_NAME, KIND_EXPERIMENTAL_PROVIDER, and
# DOCKER_HOST / DOCKER_CONTEXT when set.
name=${IMAGEVOLUME_CLUSTER_NAME:?}
if ! command -v kind >/dev/null 2>&1 || ! clusters=$(kind get clusters 2>/dev/null); then
  echo unknown
elif printf '%s\n' "$clusters" | grep -Fqx -- "$name"; then
  echo present
else
  echo absent
fi
