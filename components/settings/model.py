"""The typed shape of a stack's settings: frozen dataclasses, built once by
components/settings.py and read everywhere else."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from components.settings.grammar import KubernetesVersion

# The walkthrough's node image: kind with CRI-O, Kubernetes v1.31.0.
DEFAULT_NODE_IMAGE = "ghcr.io/carlory/kindnode-crio:v1.31.0"


@dataclass(frozen=True)
class ImageVolume:
    name: str
    reference: str
    pull_policy: str
    mount_path: str
    sub_path: str | None = None

    def as_output(self) -> dict[str, str]:
        out = {
            "name": self.name,
            "reference": self.reference,
            "pullPolicy": self.pull_policy,
            "mountPath": self.mount_path,
        }
        if self.sub_path is not None:
            out["subPath"] = self.sub_path
        return out


@dataclass(frozen=True)
class Check:
    """A command run in the pod's container, as an argv (no shell)."""

    argv: tuple[str, ...]

    @property
    def command_line(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class KindClusterSettings:
    name: str
    node_image: str
    runtime: str
    workers: int
    feature_gates: tuple[tuple[str, bool], ...]
    ready_timeout_seconds: int

    @property
    def feature_gate_map(self) -> dict[str, bool]:
        return dict(self.feature_gates)


@dataclass(frozen=True)
class ExistingClusterSettings:
    kubeconfig_path: str
    context: str | None


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
