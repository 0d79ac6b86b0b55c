"""The kind cluster config, rendered from settings (pure)."""

from __future__ import annotations

from typing import Any

import yaml

from components.settings.model import KindClusterSettings

# CRI-O's socket in the CRI-O kind node images; kubeadm must be told to use it
# on init (control plane) and join (every node), as the walkthrough does.
CRIO_SOCKET = "unix:///var/run/crio/crio.sock"


def _cri_socket_patch(kubeadm_kind: str) -> str:
    return f"kind: {kubeadm_kind}\nnodeRegistration:\n  criSocket: {CRIO_SOCKET}\n"


def kind_config(cluster: KindClusterSettings) -> dict[str, Any]:
    """The kind Cluster object: one control plane, `workers` workers, the gates."""
    crio = cluster.runtime == "crio"
    control_plane: dict[str, Any] = {"role": "control-plane"}
    worker: dict[str, Any] = {"role": "worker"}
    if crio:
        control_plane["kubeadmConfigPatches"] = [
            _cri_socket_patch("InitConfiguration"),
            _cri_socket_patch("JoinConfiguration"),
        ]
        worker["kubeadmConfigPatches"] = [_cri_socket_patch("JoinConfiguration")]
    config: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [control_plane] + [dict(worker) for _ in range(cluster.workers)],
    }
    if cluster.feature_gates:
        config["featureGates"] = cluster.feature_gate_map
    return config


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings (the kubeadm patches) as literal blocks."""


def _literal_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal_str)


def render_kind_config(cluster: KindClusterSettings) -> str:
    return yaml.dump(kind_config(cluster), Dumper=_LiteralDumper, sort_keys=False)
