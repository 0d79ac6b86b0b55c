#!/bin/sh
# Push a volume's folder to the stack's registry as the image the settings
# built (python -m components.content push), and check that the registry got
# the digest the pod references: a folder changed after the deployment read
# it would otherwise be mounted under a digest the pod does not name.
# stdout: REFERENCE@DIGEST, as pushed.
#
# Environment:
#   IMAGEVOLUME_PYTHON     the interpreter that runs this program (with its packages)
#   IMAGEVOLUME_PROJECT    the project folder (where components/ is)
#   IMAGEVOLUME_SOURCE     the folder
#   IMAGEVOLUME_TARGET     HOST[:PORT]/REPOSITORY to push to
#   IMAGEVOLUME_DIGEST     the digest the pod references
set -eu

python=${IMAGEVOLUME_PYTHON:?}
project=${IMAGEVOLUME_PROJECT:?}
source=${IMAGEVOLUME_SOURCE:?}
target=${IMAGEVOLUME_TARGET:?}
digest=${IMAGEVOLUME_DIGEST:?}

fail() {
  printf 'imagevolume: %s\n' "$*" >&2
  exit 1
}

pushed=$(PYTHONPATH=$project "$python" -m components.content push "$source" "$target") ||
  fail "could not push $source to $target (the error is above)"
if [ "$pushed" != "$target@$digest" ]; then
  fail "$source changed after this deployment read it: it was pushed as ${pushed#*@}, but the pod references $digest; run pulumi up again to mount what the folder holds now"
fi
printf '%s\n' "$pushed"
