"""The shell scripts the local.Commands run, built from settings (pure).

Every configured value reaches the shell through shlex.quote, as one word, and
the kubeconfig only ever through stdin into a private temporary file: it is
never an argument, never in the environment, never in ~/.kube/config.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from components.settings.model import ImageVolume, KindClusterSettings
from components.settings.problems import NAMESPACE

# A ConfigMap the create script writes into each cluster it makes, holding the
# settings' fingerprint, so a later create can recognise its own cluster.
FINGERPRINT_CONFIGMAP = "imagevolume-cluster"
# After kind's own --wait (which only warns on time-out), how long readiness
# may still take before the cluster is declared not Ready.
READY_GRACE_SECONDS = 30
WRITE_PROBE_NAME = ".imagevolume-write-probe"

_FAIL = """fail() { printf 'imagevolume: %s\\n' "$*" >&2; exit 1; }"""
_PRIVATE_WORKDIR = """work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT"""

KIND_INSTALL = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
KUBECTL_INSTALL = "https://kubernetes.io/docs/tasks/tools/"


def _assign(name: str, value: str) -> str:
    return f"{name}={shlex.quote(value)}"


def _require(program: str, why: str, install: str) -> str:
    return (
        f"command -v {program} >/dev/null 2>&1 || "
        f'fail "{program} is not on PATH ({why}): install it, see {install}"'
    )


def kind_create_script(cluster: KindClusterSettings, fingerprint: str) -> str:
    """Create (or adopt, when made from the same settings) the kind cluster.

    The kind config arrives on stdin (`--config -`, kind >= v0.6.0). stdout is
    the kubeconfig and nothing else, printed last, only on success.
    """
    return "\n".join(
        [
            "set -eu",
            _assign("name", cluster.name),
            _assign("image", cluster.node_image),
            _assign("fingerprint", fingerprint),
            f"wait_seconds={int(cluster.ready_timeout_seconds)}",
            _FAIL,
            _require("kind", "it creates the cluster", KIND_INSTALL),
            _require("kubectl", "it checks the nodes", KUBECTL_INSTALL),
            # kind runs nodes as Docker containers unless told otherwise.
            'engine="${KIND_EXPERIMENTAL_PROVIDER:-docker}"',
            'command -v "$engine" >/dev/null 2>&1 || fail "$engine is not on PATH: kind runs its '
            'nodes as $engine containers; install $engine"',
            '"$engine" info >/dev/null 2>&1 || fail "cannot reach the $engine daemon ($engine info '
            "fails): kind runs its nodes as $engine containers; start it (e.g. sudo systemctl start "
            '$engine) and run again"',
            _PRIVATE_WORKDIR,
            'kubeconfig="$work/kubeconfig"',
            "created=no",
            'if kind get clusters 2>/dev/null | grep -Fqx -- "$name"; then',
            '  kind get kubeconfig --name "$name" >"$kubeconfig" || fail "kind cluster $name exists '
            'but its kubeconfig cannot be read"',
            f'  found=$(kubectl --kubeconfig "$kubeconfig" get configmap {FINGERPRINT_CONFIGMAP} '
            "--namespace kube-system --output 'jsonpath={.data.fingerprint}' 2>/dev/null || true)",
            '  [ "$found" = "$fingerprint" ] || fail "a kind cluster named $name already exists and was '
            "not created from this stack's settings; it was left untouched. Pick another name "
            "(pulumi config set imagevolume:clusterName NAME) or delete it (kind delete cluster "
            '--name $name) and run again"',
            '  echo "imagevolume: kind cluster $name exists and was made from these settings; using it" >&2',
            "else",
            # Without --retain, kind deletes the nodes of a failed create.
            '  kind create cluster --name "$name" --image "$image" --config - --wait "${wait_seconds}s" '
            '--kubeconfig "$kubeconfig" >&2 || fail "kind create cluster failed (its output is above); '
            'kind removed the nodes it had made"',
            "  created=yes",
            "fi",
            "discard() {",
            '  if [ "$created" = yes ]; then',
            '    kind delete cluster --name "$name" --kubeconfig "$kubeconfig" >&2 || true',
            '    echo "imagevolume: deleted the half-made kind cluster $name" >&2',
            "  fi",
            '  fail "$@"',
            "}",
            # kind's --wait exits 0 on time-out with only a warning (REFERENCE.md section 3).
            f'if ! kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready nodes --all '
            f"--timeout={READY_GRACE_SECONDS}s >&2; then",
            '  kubectl --kubeconfig "$kubeconfig" get nodes --output wide >&2 || true',
            '  discard "the nodes of kind cluster $name were not Ready within ${wait_seconds}s; CRI-O '
            "nodes start slowly: raise the limit (pulumi config set imagevolume:clusterReadyTimeout "
            '10m) and run again"',
            "fi",
            'if [ "$created" = yes ]; then',
            f'  kubectl --kubeconfig "$kubeconfig" create configmap {FINGERPRINT_CONFIGMAP} '
            '--namespace kube-system --from-literal=fingerprint="$fingerprint" >&2 || discard "could '
            'not record the settings fingerprint in the new cluster"',
            "fi",
            'kind get kubeconfig --name "$name"',
        ]
    )


def kind_delete_script(cluster_name: str) -> str:
    """Delete the kind cluster; kind's delete is idempotent (a missing cluster exits 0)."""
    return "\n".join(
        [
            "set -eu",
            _assign("name", cluster_name),
            _FAIL,
            'command -v kind >/dev/null 2>&1 || fail "kind is not on PATH, so kind cluster $name '
            f'cannot be deleted: install it (see {KIND_INSTALL}) and run pulumi destroy again"',
            _PRIVATE_WORKDIR,
            # --kubeconfig: kind removes the cluster's context from that file, so
            # it must not be the user's own.
            'kind delete cluster --name "$name" --kubeconfig "$work/kubeconfig"',
        ]
    )


@dataclass(frozen=True)
class PodTarget:
    namespace: str
    pod: str
    container: str
    context: str | None = None


def _kubectl(target: PodTarget) -> str:
    """`kubectl` for the target's namespace, with the kubeconfig read from stdin."""
    words = ["kubectl", '--kubeconfig "$work/kubeconfig"']
    if target.context is not None:
        words.append(f"--context {shlex.quote(target.context)}")
    words.append(f"--namespace {shlex.quote(target.namespace)}")
    return " ".join(words)


def _exec_prefix(target: PodTarget) -> str:
    """`kubectl exec` into the target's container; argv follows."""
    return f"{_kubectl(target)} exec {shlex.quote(target.pod)} --container {shlex.quote(target.container)} --"


def _kubeconfig_from_stdin() -> list[str]:
    return [
        _PRIVATE_WORKDIR,  # mktemp -d makes a 0700 directory
        'cat >"$work/kubeconfig"',
        _require("kubectl", "it reaches the pod", KUBECTL_INSTALL),
    ]


def pod_ready_script(
    target: PodTarget, timeout_seconds: int, volumes: Sequence[ImageVolume], pod_image: str
) -> str:
    """Wait for the pod to be Ready; print its uid. On time-out, show `kubectl
    describe pod` and say which failure it is (REFERENCE.md section 2, "How a
    failure shows") and what to check."""
    where = f"{target.namespace}/{target.pod}"
    references = ", ".join(f"{v.name}={v.reference}" for v in volumes)
    hints = [
        (
            "*'mount.HostPath is empty'*",
            "the node's container runtime does not support image volumes: use CRI-O 1.31+ or "
            "containerd 2.1+ (see the version and runtime rules in README.md)",
        ),
        (
            "*ErrImagePull*|*ImagePullBackOff*",
            f"an image could not be pulled (reason above). Image volumes: {references}; container "
            f"image: {pod_image}. Check each reference and that the nodes can reach its registry",
        ),
        (
            "*CreateContainerError*",
            "the container could not be created (reason above); with image volumes, a subPath "
            "that is not in the image does this",
        ),
        ("*", "its description is above"),
    ]
    timed_out = f"pod {where} was not Ready within {timeout_seconds}s ({NAMESPACE}:podReadyTimeout)"
    return "\n".join(
        [
            "set -eu",
            _FAIL,
            *_kubeconfig_from_stdin(),
            f"pod={shlex.quote(target.pod)}",
            f'in_namespace() {{ {_kubectl(target)} "$@"; }}',
            f"timeout={int(timeout_seconds)}s",
            'if ! in_namespace wait --for=condition=Ready "pod/$pod" --timeout="$timeout" >&2; then',
            '  described=$(in_namespace describe pod "$pod" 2>&1 || true)',
            "  printf '%s\\n' \"$described\" >&2",
            '  case "$described" in',
            *(f"    {pattern}) hint={shlex.quote(hint)} ;;" for pattern, hint in hints),
            "  esac",
            f'  fail {shlex.quote(timed_out)}": $hint"',
            "fi",
            "in_namespace get pod \"$pod\" --output 'jsonpath={.metadata.uid}'",
        ]
    )


def kubectl_exec_script(target: PodTarget, argv: Sequence[str]) -> str:
    """Run one check in the pod's container; its stdout is the check's stdout."""
    where = f"{target.namespace}/{target.pod}"
    failed = f"check {shlex.join(argv)} failed in pod {where}; what it printed is above"
    return "\n".join(
        [
            "set -eu",
            _FAIL,
            *_kubeconfig_from_stdin(),
            "status=0",
            f"{_exec_prefix(target)} {shlex.join(argv)} || status=$?",
            f'[ "$status" -eq 0 ] || fail {shlex.quote(failed)} "(exit $status)"',
        ]
    )


def proc_mounts_path(path: str) -> str:
    """A path as /proc/mounts writes it: normalised, with space, tab, newline and
    backslash as octal escapes (the kernel's mangle() in fs/proc_namespace.c)."""
    normal = posixpath.normpath(path)
    return "".join({" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}.get(c, c) for c in normal)


def read_only_probe_script(target: PodTarget, mount_path: str) -> str:
    """Prove the image volume is read-only: a write fails with EROFS and the
    mount carries `ro`. Prints the refusal and the mount options."""
    probe = posixpath.join(posixpath.normpath(mount_path), WRITE_PROBE_NAME)
    return "\n".join(
        [
            "set -eu",
            _FAIL,
            *_kubeconfig_from_stdin(),
            _assign("mount_path", mount_path),
            _assign("probe", probe),
            f'in_pod() {{ {_exec_prefix(target)} "$@"; }}',
            'if written=$(in_pod touch "$probe" 2>&1); then',
            '  fail "writing $probe succeeded: the volume at $mount_path is not read-only"',
            "fi",
            "refusal=$(printf '%s\\n' \"$written\" | grep -F 'Read-only file system' | head -n 1 || true)",
            '[ -n "$refusal" ] || fail "writing $probe failed, but not because the volume is '
            'read-only: $written"',
            'mounts=$(in_pod cat /proc/mounts) || fail "cannot read /proc/mounts in the container"',
            "options=$(printf '%s\\n' \"$mounts\" | "
            f"MOUNT={shlex.quote(proc_mounts_path(mount_path))} "
            "awk '$2 == ENVIRON[\"MOUNT\"] { print $4 }' | tail -n 1)",
            '[ -n "$options" ] || fail "no mount at $mount_path in the container\'s /proc/mounts"',
            'case ",$options," in',
            "  *,ro,*) ;;",
            '  *) fail "$mount_path is mounted without ro: $options" ;;',
            "esac",
            'printf \'write refused: %s\\nmount options: %s\\n\' "$refusal" "$options"',
        ]
    )
