"""Which Kubernetes version, runtime and node image can serve image volumes.

One row per rule; each row reads validated Settings and returns the Problems
it finds. Source: docs/runtimes.md sections 1 and 2 (KEP-4639 feature
stages, CRI-O and containerd support, kind's node images).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from components.settings.grammar import KubernetesVersion, parse_image_reference
from components.settings.model import DEFAULT_NODE_IMAGE, WALKTHROUGH_ARTIFACT, KindClusterSettings, Settings
from components.settings.problems import Problem, rm_command, set_command
from components.versions import (
    KIND_DEFAULT_NODE_IMAGE,
    KIND_NODE_IMAGES,
    PROJECT_NODE_IMAGE,
    PROJECT_NODE_IMAGES,
    NodeImage,
)

GATE = "ImageVolume"
# kind's node images on Docker Hub, under each name a client resolves there.
KIND_NODE_NAMES = ("kindest/node", "docker.io/kindest/node", "index.docker.io/kindest/node")
CONTAINERD_IMAGE_VOLUMES = (2, 1, 0)
CONTAINERD_SUB_PATH = (2, 2, 0)
# containerd reads /etc/containerd/certs.d/<host>/hosts.toml by default from
# 2.2 (containerd plugins/cri/images/plugin.go; kind's node config sets no
# config_path): the way a node reaches the stack's registry.
CONTAINERD_HOSTS_DIR = (2, 2, 0)
# The pinned kind's own node image: containerd 2.3.1, the gate GA.
SUGGESTED_CONTAINERD_IMAGE = KIND_DEFAULT_NODE_IMAGE


@dataclass(frozen=True)
class RuleInput:
    settings: Settings
    raw: Mapping[str, str]  # which keys the user set, to name the right one

    @property
    def kind(self) -> KindClusterSettings | None:
        cluster = self.settings.cluster
        return cluster if isinstance(cluster, KindClusterSettings) else None

    @property
    def version(self) -> KubernetesVersion | None:
        return self.settings.kubernetes_version

    @property
    def version_key(self) -> str:
        return "kubernetesVersion" if "kubernetesVersion" in self.raw or self.kind is None else "nodeImage"

    @property
    def version_value(self) -> str:
        if self.version_key == "nodeImage" and self.kind is not None:
            return self.kind.node_image
        return self.raw.get("kubernetesVersion", "")


@dataclass(frozen=True)
class Rule:
    name: str
    find: Callable[[RuleInput], list[Problem]]


def _version_key_fix(rule: RuleInput) -> str:
    if rule.version_key == "nodeImage":
        return set_command("nodeImage", DEFAULT_NODE_IMAGE)
    return set_command("kubernetesVersion", "1.31.0")


def _image_volume_exists(rule: RuleInput) -> list[Problem]:
    if rule.version is None or rule.version.at_least(1, 31):
        return []
    return [
        Problem(
            rule.version_key,
            rule.version_value,
            f"Kubernetes {rule.version} has no image volume source: it exists from 1.31 (KEP-4639)",
            _version_key_fix(rule),
        )
    ]


def _gate_on_before_default(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.version is None:
        return []
    if not rule.version.at_least(1, 31) or rule.version.at_least(1, 35):
        return []
    if rule.kind.feature_gate_map.get(GATE) is True:
        return []
    stage = "alpha" if not rule.version.at_least(1, 33) else "beta"
    return [
        Problem(
            f"featureGates.{GATE}",
            rule.kind.feature_gate_map.get(GATE),
            f"must be true on Kubernetes {rule.version}: the {GATE} gate is {stage} and off by "
            "default before 1.35",
            set_command(f"featureGates.{GATE}", "true"),
        )
    ]


def _gate_locked_on(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.version is None or not rule.version.at_least(1, 36):
        return []
    if rule.kind.feature_gate_map.get(GATE) is not False:
        return []
    return [
        Problem(
            f"featureGates.{GATE}",
            False,
            f"cannot be false on Kubernetes {rule.version}: {GATE} is GA and locked on from 1.36",
            set_command(f"featureGates.{GATE}", "true"),
        )
    ]


def _sub_path_version(rule: RuleInput) -> list[Problem]:
    if rule.version is None or rule.version.at_least(1, 33):
        return []
    return [
        Problem(
            f"volumes[{index}].subPath",
            volume.sub_path,
            f"is not allowed for image volumes on Kubernetes {rule.version}: subPath is allowed from 1.33",
            rm_command(f"volumes[{index}].subPath"),
        )
        for index, volume in enumerate(rule.settings.pod.volumes)
        if volume.sub_path is not None
    ]


def kind_release_image(node_image: str) -> NodeImage | None:
    """The version table's entry for a node image of a kind release (by tag,
    and by digest when one is given: another build of a tag is no release's)."""
    reference = parse_image_reference(node_image)
    if reference is None or reference.name not in KIND_NODE_NAMES or reference.tag is None:
        return None
    known = KIND_NODE_IMAGES.get(reference.tag)
    if known is None or reference.digest not in (None, known.digest):
        return None
    return known


def containerd_version(node_image: str) -> tuple[int, int, int] | None:
    """The containerd a node image ships, when it is a known kind release's or
    this project's own (make node-image)."""
    known = kind_release_image(node_image)
    if known is not None:
        return known.containerd
    reference = parse_image_reference(node_image)
    if reference is None or reference.name != PROJECT_NODE_IMAGE or reference.tag is None:
        return None
    return PROJECT_NODE_IMAGES.get(reference.tag)


def _show(version: tuple[int, int, int] | None) -> str:
    return "unknown" if version is None else ".".join(map(str, version))


def _containerd_sub_path(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "containerd":
        return []
    shipped = containerd_version(rule.kind.node_image)
    if shipped is not None and shipped >= CONTAINERD_SUB_PATH:
        return []
    return [
        Problem(
            f"volumes[{index}].subPath",
            volume.sub_path,
            f"needs containerd >= 2.2 in the node image ({rule.kind.node_image} ships containerd "
            f"{_show(shipped)}); earlier containerd ignores subPath and mounts the image root",
            set_command("nodeImage", SUGGESTED_CONTAINERD_IMAGE),
        )
        for index, volume in enumerate(rule.settings.pod.volumes)
        if volume.sub_path is not None
    ]


def _containerd_image_volumes(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "containerd":
        return []
    shipped = containerd_version(rule.kind.node_image)
    if shipped is None or shipped >= CONTAINERD_IMAGE_VOLUMES:
        return []
    return [
        Problem(
            "nodeImage",
            rule.kind.node_image,
            f"ships containerd {_show(shipped)}; image volumes need containerd >= 2.1",
            set_command("nodeImage", SUGGESTED_CONTAINERD_IMAGE),
        )
    ]


def _containerd_registry_hosts(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "containerd":
        return []
    shipped = containerd_version(rule.kind.node_image)
    if shipped is None or shipped >= CONTAINERD_HOSTS_DIR:
        return []
    return [
        Problem(
            f"volumes[{index}].source",
            volume.source.given,
            f"needs containerd >= 2.2 in the node image ({rule.kind.node_image} ships containerd "
            f"{_show(shipped)}): the nodes reach the stack's registry through "
            "/etc/containerd/certs.d/localhost:<port>/hosts.toml, which earlier containerd does not read",
            set_command("nodeImage", SUGGESTED_CONTAINERD_IMAGE),
        )
        for index, volume in enumerate(rule.settings.pod.volumes)
        if volume.source is not None
    ]


def _crio_needs_crio_image(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "crio":
        return []
    reference = parse_image_reference(rule.kind.node_image)
    if reference is None or reference.name not in (*KIND_NODE_NAMES, PROJECT_NODE_IMAGE):
        return []
    return [
        Problem(
            "runtime",
            "crio",
            f"needs a node image with CRI-O, but {rule.kind.node_image} is a kind image that runs containerd",
            set_command("runtime", "containerd"),
        )
    ]


def _containerd_not_on_crio_image(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "containerd":
        return []
    reference = parse_image_reference(rule.kind.node_image)
    if reference is None or "crio" not in reference.name:
        return []
    return [
        Problem(
            "runtime",
            "containerd",
            f"does not match {rule.kind.node_image}, a CRI-O node image (its CRI socket is "
            "/var/run/crio/crio.sock); containerd runs in kind's own node images, such as the pinned kind's",
            set_command("nodeImage", SUGGESTED_CONTAINERD_IMAGE),
        )
    ]


def _containerd_cannot_mount_v1(rule: RuleInput) -> list[Problem]:
    if rule.kind is None or rule.kind.runtime != "containerd":
        return []
    problems = []
    for index, volume in enumerate(rule.settings.pod.volumes):
        reference = parse_image_reference(volume.reference)
        if reference is None or reference.name != WALKTHROUGH_ARTIFACT or reference.tag != "v1":
            continue
        problems.append(
            Problem(
                f"volumes[{index}].reference",
                volume.reference,
                "cannot be mounted by containerd: its image config has no rootfs.diff_ids "
                "(containerd: number of layers and diffIDs don't match); "
                f"{WALKTHROUGH_ARTIFACT}:v2 has the same files and mounts on both runtimes",
                set_command(f"volumes[{index}].reference", f"{WALKTHROUGH_ARTIFACT}:v2"),
            )
        )
    return problems


RULES: tuple[Rule, ...] = (
    Rule("image volumes exist from 1.31", _image_volume_exists),
    Rule("gate on below 1.35", _gate_on_before_default),
    Rule("gate locked on from 1.36", _gate_locked_on),
    Rule("subPath from 1.33", _sub_path_version),
    Rule("subPath with containerd >= 2.2", _containerd_sub_path),
    Rule("image volumes with containerd >= 2.1", _containerd_image_volumes),
    Rule("source volumes with containerd >= 2.2", _containerd_registry_hosts),
    Rule("crio needs a CRI-O node image", _crio_needs_crio_image),
    Rule("containerd not on a CRI-O node image", _containerd_not_on_crio_image),
    Rule("containerd cannot mount artifact:v1", _containerd_cannot_mount_v1),
)


def check_rules(settings: Settings, raw: Mapping[str, str]) -> list[Problem]:
    rule_input = RuleInput(settings, raw)
    return [problem for rule in RULES for problem in rule.find(rule_input)]
