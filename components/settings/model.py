"""The typed shape of a stack's settings: frozen dataclasses, built once by
components/settings/parse.py and read everywhere else."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from components.content import Content
from components.settings.grammar import KubernetesVersion
from components.versions import REGISTRY_IMAGE

# The walkthrough's node image: kind with CRI-O, Kubernetes v1.31.0.
DEFAULT_NODE_IMAGE = "ghcr.io/carlory/kindnode-crio:v1.31.0"
# The walkthrough's artifact: /dir/file holds "1", /file holds "2". Its :v1
# has no rootfs.diff_ids in its config, which containerd cannot mount; :v2 has
# the same files and mounts on both runtimes (kubernetes/website#50581).
WALKTHROUGH_ARTIFACT = "quay.io/crio/artifact"


@dataclass(frozen=True)
class SourceFolder:
    """A volume's local folder, built into an image at evaluation (components/content)."""

    given: str  # as configured (relative to the project folder, or absolute)
    path: str  # absolute
    content: Content  # the index digest and every file's sha256
    repository: str  # where it is pushed: <registry>/<volume name>

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.content.digest}"


@dataclass(frozen=True)
class ImageVolume:
    name: str
    # For a source volume: its repository at the stack's registry, by digest.
    reference: str
    pull_policy: str
    mount_path: str
    sub_path: str | None = None
    source: SourceFolder | None = None

    def as_output(self) -> dict[str, str]:
        out = {
            "name": self.name,
            "reference": self.reference,
            "pullPolicy": self.pull_policy,
            "mountPath": self.mount_path,
        }
        if self.sub_path is not None:
            out["subPath"] = self.sub_path
        if self.source is not None:
            out["source"] = self.source.given
        return out


@dataclass(frozen=True)
class Check:
    """A command run in the pod's container, as an argv (no shell)."""

    argv: tuple[str, ...]

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)


# The values of KIND_EXPERIMENTAL_PROVIDER that select a node provider; kind
# ignores any other (kind pkg/internal/runtime/runtime.go GetDefault).
KIND_PROVIDERS = ("docker", "podman", "nerdctl", "finch", "nerdctl.lima")


@dataclass(frozen=True)
class Engine:
    """Where kind runs the nodes: read from the environment at evaluation.

    kind re-detects its provider on every call, so delete must run with what
    create ran with; these values travel in the cluster Command's environment.
    """

    provider: str  # one of KIND_PROVIDERS
    docker_host: str | None = None
    docker_context: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Engine:
        requested = environ.get("KIND_EXPERIMENTAL_PROVIDER", "")
        # An unknown value is ignored by kind, which then finds docker first
        # (kind pkg/cluster/provider.go DetectNodeProvider); pin that.
        provider = requested if requested in KIND_PROVIDERS else "docker"
        if provider != "docker":
            return cls(provider)
        # DOCKER_CONTEXT=default is the context docker uses when none is set
        # (docker/cli cli/command/cli.go resolveContextName).
        context = environ.get("DOCKER_CONTEXT") or None
        return cls(provider, environ.get("DOCKER_HOST") or None, None if context == "default" else context)

    def environment(self) -> dict[str, str]:
        values = {"KIND_EXPERIMENTAL_PROVIDER": self.provider}
        if self.docker_host is not None:
            values["DOCKER_HOST"] = self.docker_host
        if self.docker_context is not None:
            values["DOCKER_CONTEXT"] = self.docker_context
        return values


@dataclass(frozen=True)
class KindClusterSettings:
    name: str
    node_image: str
    runtime: str
    workers: int
    feature_gates: tuple[tuple[str, bool], ...]
    ready_timeout_seconds: int
    engine: Engine = Engine("docker")
    # Where the stack's registry container listens on the host (127.0.0.1):
    # started only when a volume has a source.
    registry_port: int = 5001
    # The image that container runs: the pinned registry:3, or a mirror's or a
    # locally built one (imagevolume:registryImage).
    registry_image: str = REGISTRY_IMAGE

    @property
    def registry_host(self) -> str:
        """How nodes and pods name the stack's registry: every node maps it to
        the registry container (components/registry/connect.sh)."""
        return f"localhost:{self.registry_port}"

    @property
    def feature_gate_map(self) -> dict[str, bool]:
        return dict(self.feature_gates)


@dataclass(frozen=True)
class ExistingClusterSettings:
    kubeconfig_path: str
    context: str
    # The chosen context alone, flattened (settings/kubeconfig.py): a secret.
    kubeconfig: str
    cluster_identifier: str
    # HOST[:PORT][/PATH] of a registry the cluster pulls from, where source
    # volumes are pushed (HTTPS); None: no source volumes allowed.
    registry: str | None = None


@dataclass(frozen=True)
class PodSettings:
    name: str
    namespace: str
    image: str
    volumes: tuple[ImageVolume, ...]
    ready_timeout_seconds: int


@dataclass(frozen=True)
class Settings:
    stack: str
    cluster: KindClusterSettings | ExistingClusterSettings
    kubernetes_version: KubernetesVersion | None  # None: existing cluster, version not given
    pod: PodSettings
    checks: tuple[Check, ...]
    # The keys set with `pulumi config set --secret`: whatever carries their
    # values is kept secret (Output.secret) wherever it goes.
    secret_keys: frozenset[str] = frozenset()

    @property
    def sources(self) -> tuple[ImageVolume, ...]:
        """The volumes built from a local folder."""
        return tuple(v for v in self.pod.volumes if v.source is not None)

    def any_secret(self, *keys: str) -> bool:
        return not self.secret_keys.isdisjoint(keys)
