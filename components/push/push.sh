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
#   IMAGEVOLUME_MASKED     yes: the volumes were set with --secret; messages name no
#                          folder, registry or digest
set -eu

python=${IMAGEVOLUME_PYTHON:?}
project=${IMAGEVOLUME_PROJECT:?}
source=${IMAGEVOLUME_SOURCE:?}
target=${IMAGEVOLUME_TARGET:?}
digest=${IMAGEVOLUME_DIGEST:?}

# shellcheck source=components/lib.sh
. "$(dirname -- "$0")/../lib.sh"

errors=/dev/stderr
if [ "${IMAGEVOLUME_MASKED:-no}" = yes ]; then errors=/dev/null; fi
if ! pushed=$(PYTHONPATH=$project "$python" -m components.content push "$source" "$target" 2>"$errors"); then
  [ "$errors" = /dev/stderr ] ||
    fail "could not push a volume's folder (the error is not shown: the volumes were set with --secret)"
  fail "could not push $source to $target (the error is above)"
fi
if [ "$pushed" != "$target@$digest" ]; then
  [ "$errors" = /dev/stderr ] ||
    fail "a volume's folder changed after this deployment read it (not named: the volumes were set with --secret); run pulumi up again to mount what it holds now"
  fail "$source changed after this deployment read it: it was pushed as ${pushed#*@}, but the pod references $digest; run pulumi up again to mount what the folder holds now"
fi
printf '%s\n' "$pushed"
