"""A kind cluster's identity: what defines it and where it runs (pure).

One shape, used in three places that must agree:
- the cluster Command's `triggers`: any change replaces the cluster;
- the fingerprint the create step records in the cluster: a later create
  adopts only a cluster recorded with the same fingerprint;
- the Kubernetes provider's `cluster_identifier`: pulumi-kubernetes replaces
  the provider, and so every object on it, only when the identifier changes
  (provider/pkg/provider/provider.go DiffConfig, CHANGELOG 4.16.0), so it must
  change exactly when the cluster is recreated, and not when only the
  kubeconfig text is unknown in a preview.
A future reason to recreate the cluster (ownership, healing) extends
`defining()`; the three follow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from components.cluster.kind_config import render_kind_config
from components.settings.model import Engine, KindClusterSettings


@dataclass(frozen=True)
class ClusterIdentity:
    name: str
    node_image: str
    config: str  # the rendered kind config
    engine: Engine

    def defining(self) -> list[str]:
        return [
            self.name,
            self.node_image,
            self.config,
            self.engine.provider,
            self.engine.docker_host or "",
            self.engine.docker_context or "",
        ]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.defining()).encode()).hexdigest()

    @property
    def cluster_identifier(self) -> str:
        return f"kind-{self.name}-{self.fingerprint[:16]}"


def cluster_identity(cluster: KindClusterSettings) -> ClusterIdentity:
    return ClusterIdentity(cluster.name, cluster.node_image, render_kind_config(cluster), cluster.engine)
