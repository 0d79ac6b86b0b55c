#!/usr/bin/env bash
# make up | preview | destroy | outputs: the Pulumi workflow for one stack
# ($STACK, default dev) on a local state backend in .pulumi/, with no Pulumi
# Cloud login.
#
# Stack config: the tracked Pulumi.<stack>.yaml holds the settings (config:)
# and Pulumi never writes to it here. Creating a stack with the passphrase
# secrets provider writes `encryptionsalt:` into the stack's config file, and
# up/preview/destroy write one whenever that file has none (pulumi
# pkg/secrets/passphrase/manager.go NewPromptingPassphraseSecretsManager, saved
# by pkg/cmd/pulumi/stack/secrets.go and io.go SaveProjectStack). That salt
# belongs to this checkout's state and passphrase: committed, it breaks every
# other checkout (`incorrect passphrase`). So Pulumi works on a per-checkout
# copy in .pulumi/config/ (ignored by git): the salt line(s) kept from the last
# run plus the tracked file as it is now, rebuilt before every run and passed
# with --config-file (up, preview, destroy; SaveProjectStack writes to it too).
# `stack init` has no --config-file, so it runs with --cwd in .pulumi/config/,
# next to a copy of Pulumi.yaml, and writes the salt there. (Pulumi.yaml's
# stackConfigDir would move the tracked files too, and
# PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER still saves the salt back into the
# tracked file.)
set -euo pipefail
action=${1:?usage: scripts/pulumi-stack.sh up|preview|destroy|outputs|kubeconfig}
stack=${STACK:-dev}
cd "$(dirname "$0")/.."

die() {
  echo "make $action: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

case "$action" in
  up | preview | destroy | outputs | kubeconfig) ;;
  *) die "unknown action $action (up, preview, destroy, outputs, kubeconfig)" ;;
esac

need pulumi "install the Pulumi CLI, see https://www.pulumi.com/docs/install/"
# Pulumi takes an exported PULUMI_CONFIG_PASSPHRASE as the passphrase even when
# it is empty, and then never reads PULUMI_CONFIG_PASSPHRASE_FILE (pulumi
# pkg/secrets/passphrase/manager.go readPassphrase: os.LookupEnv).
if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "$PULUMI_CONFIG_PASSPHRASE" ]; then
  die "PULUMI_CONFIG_PASSPHRASE is set but empty, and Pulumi would take the empty string as the passphrase: unset PULUMI_CONFIG_PASSPHRASE (a passphrase is then generated into .pulumi/passphrase), or give it a value"
fi

tracked=Pulumi.$stack.yaml
mode=$(sed -n 's/^[[:space:]]*imagevolume:clusterMode:[[:space:]]*//p' "$tracked" 2>/dev/null | tr -d "\"'" || true)
# preview and outputs run no command; up and destroy drive kubectl, and kind
# unless the stack uses an existing cluster.
if [ "$action" = up ] || [ "$action" = destroy ]; then
  need kubectl "install it, see https://kubernetes.io/docs/tasks/tools/"
  if [ "${mode:-kind}" = kind ]; then
    need kind "install it, see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
    engine=${KIND_EXPERIMENTAL_PROVIDER:-docker}
    need "$engine" "kind runs its nodes as $engine containers; install $engine"
    # docker info exits 1 when the daemon is down and when the socket is not
    # permitted; only its stderr tells them apart (moby client/request.go).
    if ! engine_error=$("$engine" info 2>&1 >/dev/null); then
      case "$engine_error" in
        *"permission denied"*)
          die "no permission to use the $engine daemon ($engine info: permission denied): add your user to the $engine group (sudo usermod -aG $engine \$USER), log in again, and run make $action again" ;;
        *) die "the $engine daemon is not reachable ($engine info fails): start it, e.g. sudo systemctl start $engine" ;;
      esac
    fi
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

# Does the stack exist? `pulumi stack select S` fails with "no stack named 'S'
# found" when it does not (pulumi pkg/cmd/pulumi/stack/stack_select.go); any
# other failure is shown as it is.
if select_error=$(pulumi stack select "$stack" --non-interactive 2>&1 >/dev/null); then
  exists=true
elif [[ $select_error == *"no stack named"* ]]; then
  exists=false
else
  printf '%s\n' "$select_error" >&2
  die "pulumi stack select $stack failed (its error is above)"
fi

if [ "$action" = outputs ] || [ "$action" = kubeconfig ]; then
  if [ "$exists" = false ]; then
    hint="make"
    [ "$stack" = dev ] || hint="STACK=$stack make"
    die "there is no stack $stack yet: run $hint up first"
  fi
  if [ "$action" = kubeconfig ]; then
    # The stack's kubeconfig (a secret output) in a file only its owner can
    # read, for kubectl; stdout is the export line alone, so
    # eval "$(make -s kubeconfig)" works.
    target=$PWD/.pulumi/kubeconfig-$stack
    (
      umask 077
      pulumi stack output kubeconfig --stack "$stack" --show-secrets >"$target.tmp"
    ) || {
      rm -f "$target.tmp"
      die "stack $stack has no kubeconfig output (its error is above): run make up"
    }
    mv "$target.tmp" "$target"
    echo "make kubeconfig: wrote $target (mode 0600); to use it:" >&2
    printf 'export KUBECONFIG=%q\n' "$target"
    exit 0
  fi
  read -r -d '' -a extra_args <<<"${PULUMI_ARGS:-}" || true
  exec pulumi stack output --stack "$stack" --json ${extra_args[@]+"${extra_args[@]}"}
fi
if [ "$action" = destroy ] && [ "$exists" = false ]; then
  echo "make destroy: there is no stack $stack: nothing to destroy" >&2
  exit 0
fi

# The per-checkout stack config (see the top of this file).
config_dir=$PWD/.pulumi/config
config_file=$config_dir/Pulumi.$stack.yaml
secrets_keys='^(encryptionsalt|encryptedkey|secretsprovider):'
mkdir -p "$config_dir"
cat Pulumi.yaml >"$config_dir/Pulumi.yaml"
keys=""
if [ "$exists" = true ] && [ -f "$config_file" ]; then
  keys=$(grep -E "$secrets_keys" "$config_file" || true)
fi
if [ -f "$tracked" ] && grep -qE "$secrets_keys" "$tracked"; then
  # Left by an earlier run or a plain `pulumi` run. For an existing stack it
  # is this checkout's (and encrypted any secure: value in the file), so it
  # moves here; a new stack gets a new one.
  rest=$(mktemp .pulumi/stack-config.XXXXXX)
  grep -vE "$secrets_keys" "$tracked" >"$rest" || true
  if [ "$exists" = true ]; then
    keys=$(grep -E "$secrets_keys" "$tracked")
    where="moved it to $config_file"
  else
    where="dropped it: the new stack gets its own"
  fi
  cat "$rest" >"$tracked"
  rm -f "$rest"
  echo "make $action: $tracked had Pulumi's encryptionsalt, which is per checkout and must not be committed; $where" >&2
fi
{
  if [ -n "$keys" ]; then printf '%s\n' "$keys"; fi
  if [ -f "$tracked" ]; then cat "$tracked"; fi
} >"$config_file"

if [ "$exists" = false ]; then
  pulumi --cwd "$config_dir" stack init "$stack" --non-interactive >/dev/null
fi

# PULUMI_ARGS is split into words on whitespace, deliberately, and never
# glob-expanded.
read -r -d '' -a extra_args <<<"${PULUMI_ARGS:-}" || true

# Healing: a kind cluster deleted behind Pulumi's back (kind delete cluster, a
# Docker reset) is not noticed by the engine (local.Command has no read). When
# the stack's recorded cluster is missing from `kind get clusters` (which
# lists stopped clusters too: those are waited for, not recreated), this up
# replaces the cluster command and the objects the engine believes are in
# it: the pod (its ready wait and checks follow its new uid) and, when the
# stack made one, the namespace. The provider is not replaced: it keeps its
# cluster identifier, so the engine would keep the pod (pulumi
# step_generator.go providerChanged asks the new provider's DiffConfig); it is
# updated to the new kubeconfig.
if [ "$action" = up ] && [ "$exists" = true ] && [ "${mode:-kind}" = kind ]; then
  recorded=$(pulumi stack output clusterName --stack "$stack" 2>/dev/null || true)
  if [ -n "$recorded" ] && clusters=$(kind get clusters 2>/dev/null) &&
    ! printf '%s\n' "$clusters" | grep -Fqx -- "$recorded"; then
    echo "make up: kind cluster $recorded of stack $stack is gone (kind get clusters does not list it): recreating it, and the pod and checks on it" >&2
    prefix="urn:pulumi:$stack::imagevolume::imagevolume:index"
    extra_args+=(
      --replace "$prefix:KindCluster\$command:local:Command::cluster-kind"
      --replace "$prefix:ImageVolumePod\$kubernetes:core/v1:Pod::image-volume-pod"
    )
    # The namespace the stack created (components/pod: any but the built-in ones).
    namespace=$(pulumi stack output namespace --stack "$stack" 2>/dev/null || true)
    case "$namespace" in
      "" | default | kube-system | kube-public | kube-node-lease) ;;
      *) extra_args+=(--replace "$prefix:ImageVolumePod\$kubernetes:core/v1:Namespace::image-volume-namespace") ;;
    esac
    # With source volumes, the KEP-1755 ConfigMap (components/pod) is in it too.
    if [ -n "$(pulumi stack output contentDigests --stack "$stack" 2>/dev/null || true)" ]; then
      extra_args+=(--replace "$prefix:ImageVolumePod\$kubernetes:core/v1:ConfigMap::image-volume-local-registry-hosting")
    fi
  fi
  # The stack's registry container (source volumes), removed behind Pulumi's
  # back: a new one (an empty store) gets the pushes again and the nodes'
  # way to it (components/registry).
  if [ -n "$recorded" ] && [ -n "$(pulumi stack output contentDigests --stack "$stack" 2>/dev/null || true)" ] &&
    "$engine" info >/dev/null 2>&1 && ! "$engine" inspect --type container --format '{{.Id}}' "$recorded-registry" >/dev/null 2>&1; then
    echo "make up: the registry container $recorded-registry of stack $stack is gone: starting a new one and pushing again" >&2
    extra_args+=(--replace "urn:pulumi:$stack::imagevolume::imagevolume:index:LocalRegistry\$command:local:Command::registry-container")
  fi
fi

case "$action" in
  up) pulumi up --stack "$stack" --config-file "$config_file" --yes ${extra_args[@]+"${extra_args[@]}"} ;;
  preview) pulumi preview --stack "$stack" --config-file "$config_file" ${extra_args[@]+"${extra_args[@]}"} ;;
  destroy) pulumi destroy --stack "$stack" --config-file "$config_file" --yes ${extra_args[@]+"${extra_args[@]}"} ;;
esac
