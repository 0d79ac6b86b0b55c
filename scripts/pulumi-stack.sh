#!/usr/bin/env bash
# make up | preview | refresh | destroy | outputs | kubeconfig: plain `pulumi`
# commands for one stack ($STACK, default dev), on the backend and passphrase
# the user's own `pulumi` uses in the same shell. The stack's settings, salt
# and secure: values live where Pulumi keeps them, Pulumi.<stack>.yaml (why:
# docs/stack-config.md). up, refresh and destroy show the preview and ask on a
# terminal; without one they go ahead only with YES=1.
set -euo pipefail
action=${1:?usage: scripts/pulumi-stack.sh up|preview|refresh|destroy|outputs|kubeconfig}
stack=${STACK:-dev}
cd "$(dirname "$0")/.."

die() {
  echo "make $action: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }
hint() { if [ "$stack" = dev ]; then echo "make $1"; else echo "make $1 STACK=$stack"; fi; }

case "$action" in
  up | preview | refresh | destroy | outputs | kubeconfig) ;;
  *) die "unknown action $action (up, preview, refresh, destroy, outputs, kubeconfig)" ;;
esac

# Confirmation as Pulumi does it: without --yes it shows the preview and asks
# on a terminal, and refuses without one (pkg/cmd/pulumi/operations/up.go).
confirm=()
case "${YES:-}" in
  1) confirm=(--yes) ;;
  "") case "${PULUMI_SKIP_CONFIRMATIONS:-}" in 1 | true | TRUE | True) confirm=(--yes) ;; esac ;;
  *) die "YES=${YES}: set YES=1 to go ahead without being asked, or leave YES unset to confirm on the terminal" ;;
esac
if [ "$action" = up ] || [ "$action" = refresh ] || [ "$action" = destroy ]; then
  if [ ${#confirm[@]} -eq 0 ] && { [ ! -t 0 ] || [ ! -t 1 ]; }; then
    die "pulumi $action asks for confirmation and there is no terminal to ask on: run it in a terminal, or set YES=1 to go ahead without being asked ($(hint "$action") YES=1)"
  fi
fi

need pulumi "install the Pulumi CLI (make tools), see https://www.pulumi.com/docs/install/"
# Pulumi takes an exported PULUMI_CONFIG_PASSPHRASE as the passphrase even when
# it is empty, and then never reads PULUMI_CONFIG_PASSPHRASE_FILE (pulumi
# pkg/secrets/passphrase/manager.go readPassphrase: os.LookupEnv).
if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "$PULUMI_CONFIG_PASSPHRASE" ]; then
  die "PULUMI_CONFIG_PASSPHRASE is set but empty, and Pulumi would take the empty string as the passphrase: unset PULUMI_CONFIG_PASSPHRASE (Pulumi then reads PULUMI_CONFIG_PASSPHRASE_FILE, or asks on a terminal), or give it a value"
fi

# A fully qualified STACK (organization/imagevolume/dev) has the file of its
# last part (pulumi sdk/go/common/workspace/paths.go ProjectStackPath).
name=${stack##*/}
tracked=Pulumi.$name.yaml
# The clusterMode line's value, without a trailing comment or quotes.
mode=$(sed -n 's/^[[:space:]]*imagevolume:clusterMode:[[:space:]]*//p' "$tracked" 2>/dev/null |
  sed 's/[[:space:]]#.*$//; s/[[:space:]]*$//' | tr -d "\"'" || true)
# preview, refresh and outputs run no command; up and destroy drive kubectl, and kind
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

# The user's backend: whatever `pulumi login` (or PULUMI_BACKEND_URL) chose.
if ! whoami=$(pulumi whoami --verbose --non-interactive 2>&1); then
  printf '%s\n' "$whoami" >&2
  if [ -n "${PULUMI_BACKEND_URL:-}" ]; then
    die "pulumi cannot use PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL (pulumi whoami fails, its error is above): fix it (a file:// folder must exist), or unset it to use the backend of pulumi login"
  fi
  die "pulumi has no backend to keep the state in (pulumi whoami fails, its error is above): log in to one, e.g. pulumi login --local (state in ~/.pulumi), and run $(hint "$action") again"
fi
backend_url=$(printf '%s\n' "$whoami" | sed -n 's/^Backend URL: //p')

# State from before this change, in this checkout's .pulumi/ (a file backend
# keeps stacks in <url>/.pulumi/stacks/<project>/<stack>.json, .json.gz or
# .json.zst: pulumi pkg/backend/diy/store.go), is never silently abandoned: a stack
# there and not in the current backend stops here with the commands that move it.
old_backend="file://$PWD/.pulumi"
old_state=""
for candidate in ".pulumi/.pulumi/stacks/imagevolume/$name.json" ".pulumi/.pulumi/stacks/imagevolume/$name.json.gz" ".pulumi/.pulumi/stacks/imagevolume/$name.json.zst"; do
  [ -f "$candidate" ] && old_state=$candidate
done
# It has resources unless it is a plain file without one (a compressed one is
# taken to have some); the stack in the user's backend counts as missing
# while it has none (made by hand, or by a move stopped half-way).
if [ "$backend_url" != "$old_backend" ] && [ "$backend_url" != "$old_backend/" ] && [ -n "$old_state" ] &&
  { [ "${old_state%.json}" = "$old_state" ] || grep -q '"urn"' "$old_state"; } &&
  ! pulumi stack export --stack "$stack" --non-interactive 2>/dev/null | grep -q '"urn"'; then
  # The line that keeps using it: with the old passphrase file, when make
  # generated one (an exported PULUMI_CONFIG_PASSPHRASE would win over it).
  printf -v keep 'export PULUMI_BACKEND_URL=%q' "$old_backend"
  if [ -f .pulumi/passphrase ]; then
    printf -v keep '%s PULUMI_CONFIG_PASSPHRASE_FILE=%q; unset PULUMI_CONFIG_PASSPHRASE' "$keep" "$PWD/.pulumi/passphrase"
  fi
  printf -v stack_word '%q' "$stack"
  die "stack $stack has state in this checkout's .pulumi/ (the backend make used before) and none in your backend ($backend_url). Move it there:
  python3 scripts/move_state.py $stack_word
(pulumi stack export --show-secrets there, pulumi stack init and pulumi stack import here, with the new stack's secrets provider; the old file is kept, renamed *.moved), or keep using it there: $keep"
fi

# Does the stack exist? `pulumi stack output` fails with "no stack named 'S'
# found" when it does not (pulumi pkg/backend/backenderr); any other failure
# is shown as it is. Unlike `stack select`, it leaves the selected stack alone.
if probe_error=$(pulumi stack output --stack "$stack" --json --non-interactive 2>&1 >/dev/null); then
  exists=true
elif [[ $probe_error == *"no stack named"* ]]; then
  exists=false
else
  printf '%s\n' "$probe_error" >&2
  die "pulumi stack output --stack $stack failed (its error is above)"
fi

if [ "$action" = outputs ] || [ "$action" = kubeconfig ]; then
  if [ "$exists" = false ]; then
    die "there is no stack $stack yet: run $(hint up) first"
  fi
  if [ "$action" = kubeconfig ]; then
    # The stack's kubeconfig (a secret output) in a file only its owner can
    # read, for kubectl; stdout is the export line alone, so
    # eval "$(make -s kubeconfig)" works.
    target=$PWD/.pulumi/kubeconfig-$name
    mkdir -p .pulumi
    (
      umask 077
      pulumi stack output kubeconfig --stack "$stack" --show-secrets >"$target.tmp"
    ) || {
      rm -f "$target.tmp"
      die "could not read stack $stack's kubeconfig output (pulumi's error is above); a stack that has not been up yet has none: run $(hint up)"
    }
    mv "$target.tmp" "$target"
    echo "make kubeconfig: wrote $target (mode 0600); to use it:" >&2
    printf 'export KUBECONFIG=%q\n' "$target"
    exit 0
  fi
  read -r -d '' -a extra_args <<<"${PULUMI_ARGS:-}" || true
  exec pulumi stack output --stack "$stack" --json ${extra_args[@]+"${extra_args[@]}"}
fi
if { [ "$action" = destroy ] || [ "$action" = refresh ]; } && [ "$exists" = false ]; then
  echo "make $action: there is no stack $stack: nothing to $action" >&2
  exit 0
fi

# A new stack is created only on purpose: one whose Pulumi.<stack>.yaml is
# here (a shipped environment, or one the user wrote), as `pulumi stack init`
# would. A mistyped name gets the stacks there are instead of a new cluster
# with every default.
if [ "$exists" = false ]; then
  if [ ! -f "$tracked" ]; then
    files=""
    for file in Pulumi.*.yaml; do
      [ -f "$file" ] || continue
      file=${file#Pulumi.}
      files+="${file%.yaml} "
    done
    listed=$(pulumi stack ls --non-interactive 2>/dev/null | awk 'NR > 1 { sub(/\*$/, "", $1); printf "%s ", $1 }' || true)
    die "there is no stack $stack and no $tracked: stack files here: ${files:-none}; stacks in your backend: ${listed:-none}. Check STACK=$stack, or create the stack on purpose: pulumi stack init $stack (then pulumi config set --stack $stack ..., and $(hint "$action"))"
  fi
  # On a terminal Pulumi may ask for the passphrase of the new stack's salt.
  if [ -t 0 ]; then
    pulumi stack init "$stack" >/dev/null
  else
    pulumi stack init "$stack" --non-interactive >/dev/null
  fi
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
    prefix="urn:pulumi:$name::imagevolume::imagevolume:index"
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
    extra_args+=(--replace "urn:pulumi:$name::imagevolume::imagevolume:index:LocalRegistry\$command:local:Command::registry-container")
  fi
fi

case "$action" in
  preview) pulumi preview --stack "$stack" ${extra_args[@]+"${extra_args[@]}"} ;;
  *) pulumi "$action" --stack "$stack" ${confirm[@]+"${confirm[@]}"} ${extra_args[@]+"${extra_args[@]}"} ;;
esac
