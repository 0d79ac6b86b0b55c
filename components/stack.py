"""Wires the components for one stack and names its outputs."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import Any

import pulumi

from components.checks.component import VolumeCheck, VolumeCheckArgs
from components.cluster.component import KindCluster, KindClusterArgs
from components.pod.component import ImageVolumePod, ImageVolumePodArgs
from components.push.component import FolderPush, FolderPushArgs
from components.registry.component import LocalRegistry, LocalRegistryArgs
from components.settings.model import ImageVolume, KindClusterSettings, Settings, SourceFolder
from components.settings.parse import CLUSTER_COMMAND_KEYS

# The settings that reach the kind cluster's command (its config, triggers, environment).
DEFINING_KEYS = CLUSTER_COMMAND_KEYS


def kept_secret(value: Any, secret: bool) -> Any:
    """A stack output that carries a value set with --secret stays secret."""
    return pulumi.Output.secret(value) if secret and value is not None else value


def deploy(settings: Settings) -> dict[str, Any]:
    """Declare the cluster (kind mode), the pod and the checks; return the stack outputs."""
    cluster_settings = settings.cluster
    kind_mode = isinstance(cluster_settings, KindClusterSettings)
    if isinstance(cluster_settings, KindClusterSettings):
        cluster = KindCluster(
            "cluster",
            KindClusterArgs(
                cluster_settings, settings.kubernetes_version, secret=settings.any_secret(*DEFINING_KEYS)
            ),
        )
        kubeconfig: pulumi.Output[str] = cluster.kubeconfig
        cluster_identifier = cluster.cluster_identifier
        cluster_name: str | None = cluster.cluster_name
        node_image: str | None = cluster_settings.node_image
        pushed = push_to_local_registry(settings, cluster_settings, cluster)
    else:
        kubeconfig = pulumi.Output.secret(cluster_settings.kubeconfig)
        cluster_identifier = cluster_settings.cluster_identifier
        cluster_name = cluster_settings.context
        node_image = None
        pushed = push_to_registry(settings)
    pod = ImageVolumePod(
        "image-volume",
        ImageVolumePodArgs(
            settings=settings.pod,
            kubeconfig=kubeconfig,
            cluster_identifier=cluster_identifier,
            delete_unreachable=kind_mode,
            create_namespace=kind_mode,
            secret_spec=settings.any_secret("podImage", "volumes"),
            secret_ready=settings.any_secret("podImage", "volumes", "podReadyTimeout"),
            after=pushed,
            local_registry_host=(
                cluster_settings.registry_host
                if isinstance(cluster_settings, KindClusterSettings) and settings.sources
                else None
            ),
        ),
    )
    if isinstance(cluster_settings, KindClusterSettings):
        warn_when_the_cluster_is_gone(cluster, pod)
    checks = VolumeCheck(
        "verify",
        VolumeCheckArgs(
            target=pod.target,
            kubeconfig=kubeconfig,
            pod_uid=pod.uid,
            ready=pod.ready,
            checks=settings.checks,
            mount_paths=[volume.mount_path for volume in settings.pod.volumes],
            sources=settings.sources,
            pod_image="[secret]" if settings.any_secret("podImage") else settings.pod.image,
            # The default checks are made from the mount paths.
            secret_checks=settings.any_secret("checks", "volumes"),
            secret_mounts=settings.any_secret("volumes"),
        ),
    )
    return {
        "clusterName": kept_secret(cluster_name, settings.any_secret("context")),
        "kubeconfig": kubeconfig,
        "namespace": settings.pod.namespace,
        "podName": pod.pod_name,
        "nodeImage": kept_secret(node_image, settings.any_secret("nodeImage")),
        "volumes": kept_secret(
            [volume.as_output() for volume in settings.pod.volumes], settings.any_secret("volumes")
        ),
        "verification": checks.verification,
        "readOnly": checks.read_only,
        **content_outputs(settings, checks),
    }


def content_outputs(settings: Settings, checks: VolumeCheck) -> dict[str, Any]:
    """For source volumes: the content proof and the digest each mount holds."""
    if not settings.sources:
        return {}
    digests = {v.mount_path: v.source.content.digest for v in settings.sources if v.source is not None}
    return {
        "content": checks.content,
        "contentDigests": kept_secret(digests, settings.any_secret("volumes")),
    }


def push_to_local_registry(
    settings: Settings, cluster_settings: KindClusterSettings, cluster: KindCluster
) -> list[pulumi.Resource]:
    """The stack's registry, the nodes' way to it and a push per source volume
    (none of it without a source volume); the pod is made after them."""
    if not settings.sources:
        return []
    registry = LocalRegistry(
        "registry",
        LocalRegistryArgs(
            cluster_settings,
            owner=cluster.owner,
            cluster_created=cluster.created,
            cluster_command=cluster.command,
        ),
    )
    return [
        registry.reachable,
        *push_sources(
            settings,
            target=lambda volume, source: f"{registry.push_host}/{volume.name}",
            store=[registry.container_id],
            after=[registry.container],
        ),
    ]


def push_to_registry(settings: Settings) -> list[pulumi.Resource]:
    """A push per source volume to imagevolume:registry (existing mode)."""
    return push_sources(settings, target=lambda volume, source: source.repository)


def push_sources(
    settings: Settings,
    target: Callable[[ImageVolume, SourceFolder], str],
    store: Sequence[pulumi.Input[str]] = (),
    after: Sequence[pulumi.Resource] = (),
) -> list[pulumi.Resource]:
    """A push per source volume, to `target(volume, its source)` as the host reaches the
    registry; named by position, since a volume's name may be a secret."""
    pushes: list[pulumi.Resource] = []
    for index, volume in enumerate(settings.sources):
        assert volume.source is not None
        pushes.append(
            FolderPush(
                f"content-{index}",
                FolderPushArgs(
                    volume.source,
                    target=target(volume, volume.source),
                    store=store,
                    after=after,
                    secret=settings.any_secret("volumes"),
                ),
            )
        )
    return pushes


def warn_when_the_cluster_is_gone(cluster: KindCluster, pod: ImageVolumePod) -> None:
    """Say so, with the one command that repairs it, when the cluster this
    stack's state holds is gone: the engine cannot see it (no read), and a
    plain `pulumi up` would change nothing while the pod is gone too."""

    def warn(values: list[str]) -> None:
        presence, *urns = values
        if presence != "absent":
            return
        replace = " ".join(f"--replace {shlex.quote(urn)}" for urn in urns)
        pulumi.log.warn(
            f"kind cluster {cluster.cluster_name} is gone (kind get clusters does not list it), but this "
            "stack's state still holds it and its pod, and Pulumi cannot see that by itself. Recreate "
            f"them with `make up`, or: pulumi up {replace}"
        )

    pulumi.Output.all(cluster.presence, cluster.command_urn, *pod.cluster_object_urns).apply(warn)
