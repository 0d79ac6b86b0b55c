"""The kind cluster's settings (clusterName, nodeImage, runtime, workers, ...) and kubernetesVersion."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from components.settings.grammar import (
    KubernetesVersion,
    is_dns1123_label,
    known_gate_typo,
    parse_image_reference,
    parse_kubernetes_version,
    utf8_size,
)
from components.settings.keys import CLUSTER_COMMAND_KEYS
from components.settings.model import DEFAULT_NODE_IMAGE, Engine, ExistingClusterSettings, KindClusterSettings
from components.settings.problems import rm_command, set_command
from components.settings.reader import (
    COMMAND_MAX_BYTES,
    INVALID,
    Reader,
    explain_reference,
    is_image_reference,
    one_of,
    read_timeout,
)
from components.settings.registry import read_registry_image, read_registry_port

RUNTIMES = ("crio", "containerd")
WORKERS_MAX = 10
# kind names the first node container "<cluster>-control-plane" and uses it as
# the node's hostname and Kubernetes node name, a DNS-1123 label of <= 63 chars.
CLUSTER_NAME_MAX = 63 - len("-control-plane")


def default_cluster_name(stack: str) -> str:
    """imagevolume-<stack>, or, when that is no DNS-1123 label kind accepts,
    its folded form and a short hash of the exact stack name: stack names
    that differ only in case, punctuation or past the length limit (dev, Dev,
    dev_) never fold into one cluster name."""
    plain = f"imagevolume-{stack}"
    if is_dns1123_label(plain) and len(plain) <= CLUSTER_NAME_MAX:
        return plain
    digest = hashlib.sha256(stack.encode()).hexdigest()[:6]
    folded = re.sub(r"[^a-z0-9-]+", "-", plain.lower()).strip("-")
    return f"{folded[: CLUSTER_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def _feature_gates(reader: Reader) -> tuple[tuple[str, bool], ...]:
    default = (("ImageVolume", True),)
    example = '{"ImageVolume": true}'
    if "featureGates" not in reader.raw:
        return default
    value = reader.json_value("featureGates", "a map of gate names to true/false", example)
    if not isinstance(value, dict):
        if value is not INVALID:
            reader.problem(
                "featureGates",
                reader.raw["featureGates"],
                "must be a map of feature gate names to true/false",
                set_command("featureGates", example),
            )
        return default
    gates: list[tuple[str, bool]] = []
    for name, enabled in value.items():
        path = f"featureGates.{name}"
        typo = known_gate_typo(name)
        if typo is not None:
            # kind passes gates to kubeadm, which refuses an unknown one only
            # after delete-before-replace has removed the working cluster.
            fix = rm_command(path)
            if typo not in value:
                given = str(enabled).lower() if isinstance(enabled, bool) else str(enabled)
                on = given if given in ("true", "false") else "true"
                fix += f" && {set_command(f'featureGates.{typo}', on)}"
            reader.problem(
                path,
                enabled,
                f"is not a feature gate this project knows; did you mean {typo}? (kubeadm refuses an "
                "unknown gate only after the working cluster was deleted to be replaced)",
                fix,
            )
        elif not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            reader.problem(
                path,
                name,
                "gate names are CamelCase letters and digits, as in the Kubernetes feature-gate list",
                rm_command(path),
            )
        elif isinstance(enabled, bool):
            gates.append((name, enabled))
        elif enabled in ("true", "false"):  # `pulumi config set --path` stores strings
            gates.append((name, enabled == "true"))
        else:
            reader.problem(path, enabled, "must be true or false", set_command(path, "true"))
    return tuple(sorted(gates))


def _is_worker_count(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 <= int(value) <= WORKERS_MAX


def read_kind_cluster(reader: Reader, stack: str, environ: Mapping[str, str]) -> KindClusterSettings:
    name = reader.string(
        "clusterName",
        default_cluster_name(stack),
        lambda v: is_dns1123_label(v) and len(v) <= CLUSTER_NAME_MAX,
        "must be a DNS-1123 label (lowercase letters, digits, '-'; starts and ends with a letter "
        f"or digit) of at most {CLUSTER_NAME_MAX} characters, since kind names a node "
        "<name>-control-plane",
        default_cluster_name(stack),
    )
    node_image_allowed = (
        f"must be an OCI image reference such as {DEFAULT_NODE_IMAGE} or "
        "kindest/node:v1.35.0@sha256:<64 lowercase hex digits>"
    )
    node_image = reader.string(
        "nodeImage",
        DEFAULT_NODE_IMAGE,
        is_image_reference,
        node_image_allowed,
        DEFAULT_NODE_IMAGE,
        explain=explain_reference(node_image_allowed),
    )
    runtime = reader.string(
        "runtime",
        "crio",
        one_of(RUNTIMES),
        f"must be one of {', '.join(RUNTIMES)} (the container runtime in the node image)",
        "crio",
    )
    workers = reader.string(
        "workers",
        "1",
        _is_worker_count,
        f"must be a whole number from 0 to {WORKERS_MAX} (0: control plane only; each node is a "
        "container with its own kubelet and runtime)",
        "1",
    )
    _cluster_command_size(reader)
    return KindClusterSettings(
        name=name,
        node_image=node_image,
        runtime=runtime,
        workers=int(workers),
        feature_gates=_feature_gates(reader),
        ready_timeout_seconds=read_timeout(reader, "clusterReadyTimeout"),
        engine=Engine.from_environment(environ),
        registry_port=read_registry_port(reader, stack),
        registry_image=read_registry_image(reader),
    )


def _cluster_command_size(reader: Reader) -> None:
    """All that reaches the kind create command, at most COMMAND_MAX_BYTES."""
    sizes = {key: utf8_size(reader.raw[key]) for key in CLUSTER_COMMAND_KEYS if key in reader.raw}
    total = sum(sizes.values())
    if total <= COMMAND_MAX_BYTES:
        return
    key = max(sizes, key=lambda k: sizes[k])
    reader.problem(
        key,
        reader.raw[key],
        f"is {sizes[key]} bytes and brings the settings that reach the kind create command "
        f"({', '.join(CLUSTER_COMMAND_KEYS)}) to {total} bytes; together they are at most "
        f"{COMMAND_MAX_BYTES} bytes",
        rm_command(key),
    )


def read_kubernetes_version(
    reader: Reader, cluster: KindClusterSettings | ExistingClusterSettings
) -> KubernetesVersion | None:
    given = reader.raw.get("kubernetesVersion")
    if given is not None:
        version = parse_kubernetes_version(given)
        if version is None:
            reader.problem(
                "kubernetesVersion",
                given,
                "must be a Kubernetes version such as 1.31.0 or v1.35.0",
                set_command("kubernetesVersion", "1.31.0"),
            )
        return version
    if isinstance(cluster, ExistingClusterSettings):
        return None
    reference = parse_image_reference(cluster.node_image)
    tag = reference.tag if reference else None
    version = parse_kubernetes_version(tag) if tag else None
    if version is None and reference is not None:
        reader.problem(
            "kubernetesVersion",
            None,
            f"cannot be read from the node image tag ({tag or 'no tag'} in {cluster.node_image}); "
            "set the Kubernetes version the image runs",
            set_command("kubernetesVersion", "1.31.0"),
        )
    return version
