#!/usr/bin/env bash
# make up | preview | destroy | outputs: the Pulumi workflow for one stack
# ($STACK, default dev) on a local state backend in .pulumi/, with no Pulumi
# Cloud login.
set -euo pipefail
action=${1:?usage: scripts/pulumi-stack.sh up|preview|destroy|outputs}
stack=${STACK:-dev}
cd "$(dirname "$0")/.."

die() { echo "make $action: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

need pulumi "install the Pulumi CLI, see https://www.pulumi.com/docs/install/"
mode=$(sed -n 's/^[[:space:]]*imagevolume:clusterMode:[[:space:]]*//p' "Pulumi.$stack.yaml" 2>/dev/null | tr -d "\"'" || true)
# preview and outputs run no command; up and destroy drive kubectl, and kind
# unless the stack uses an existing cluster.
if [ "$action" = up ] || [ "$action" = destroy ]; then
  need kubectl "install it, see https://kubernetes.io/docs/tasks/tools/"
  if [ "${mode:-kind}" = kind ]; then
    need kind "install it, see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
    engine=${KIND_EXPERIMENTAL_PROVIDER:-docker}
    need "$engine" "kind runs its nodes as $engine containers; install $engine"
    "$engine" info >/dev/null 2>&1 \
      || die "the $engine daemon is not reachable ($engine info fails): start it, e.g. sudo systemctl start $engine"
  fi
fi

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi}"
mkdir -p .pulumi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # One passphrase per checkout, generated once, readable by its owner only.
  passphrase_file=.pulumi/passphrase
  if [ ! -s "$passphrase_file" ]; then
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$passphrase_file")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/$passphrase_file"
fi

pulumi stack select --create "$stack" --non-interactive >/dev/null
case "$action" in
  up) pulumi up --stack "$stack" --yes ${PULUMI_ARGS:-} ;;
  preview) pulumi preview --stack "$stack" ${PULUMI_ARGS:-} ;;
  destroy) pulumi destroy --stack "$stack" --yes ${PULUMI_ARGS:-} ;;
  outputs) pulumi stack output --stack "$stack" --json ${PULUMI_ARGS:-} ;;
  *) die "unknown action $action (up, preview, destroy, outputs)" ;;
esac
