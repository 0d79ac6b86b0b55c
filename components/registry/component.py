"""LocalRegistry: the stack's registry container for source volumes, and the
nodes' way to it (kind mode)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.settings.model import KindClusterSettings
from components.shell import beside

RUN = beside(__file__, "run.sh")
DELETE = beside(__file__, "delete.sh")
CONNECT = beside(__file__, "connect.sh")
# The container label that names the stack state that made the registry.
OWNER_LABEL = "io.imagevolume.owner"


def registry_name(cluster: KindClusterSettings) -> str:
    return f"{cluster.name}-registry"


def registry_environment(cluster: KindClusterSettings) -> dict[str, str]:
    """What run.sh, delete.sh and connect.sh read (besides their text and the owner)."""
    return {
        **cluster.engine.environment(),
        "IMAGEVOLUME_REGISTRY_NAME": registry_name(cluster),
        "IMAGEVOLUME_REGISTRY_PORT": str(cluster.registry_port),
        "IMAGEVOLUME_REGISTRY_IMAGE": cluster.registry_image,
        "IMAGEVOLUME_OWNER_LABEL": OWNER_LABEL,
    }


@dataclass(frozen=True)
class LocalRegistryArgs:
    cluster: KindClusterSettings
    # This stack state's owner record (cluster/owner.py), a label on the container.
    owner: pulumi.Input[str]
    # The cluster command's id: new exactly when the cluster is a new one,
    # whose nodes know nothing of the registry yet.
    cluster_created: pulumi.Input[str]
    # The cluster's command: the nodes exist after it.
    cluster_command: pulumi.Resource


class LocalRegistry(pulumi.ComponentResource):
    """A registry container published on 127.0.0.1:<registryPort>, removed with
    the stack; the nodes pull `localhost:<registryPort>/...` from it.

    `container_id` is new exactly when the store is new (empty): what is pushed
    there is pushed again. `reachable` is what a pod pulling from it waits for.
    """

    container: local.Command
    container_id: pulumi.Output[str]
    reachable: local.Command
    push_host: str  # where the host pushes: 127.0.0.1:<port>

    def __init__(
        self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("imagevolume:index:LocalRegistry", name, None, opts)
        cluster = args.cluster
        environment = registry_environment(cluster)
        container = local.Command(
            f"{name}-container",
            create=RUN.command,
            delete=DELETE.command,
            environment={
                **RUN.environment(),
                **DELETE.environment(),
                **environment,
                "IMAGEVOLUME_OWNER": args.owner,
            },
            # Another engine or image is another container: replaced, so the old
            # one is deleted where it ran (delete.sh runs with the recorded environment).
            triggers=[
                environment["IMAGEVOLUME_REGISTRY_NAME"],
                cluster.registry_port,
                cluster.registry_image,
                *(f"{key}={value}" for key, value in sorted(cluster.engine.environment().items())),
            ],
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            # The name and the port are fixed: the old container goes first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.container = container
        self.container_id = container.stdout
        self.reachable = local.Command(
            f"{name}-nodes",
            create=CONNECT.command,
            environment={
                **CONNECT.environment(),
                **environment,
                "IMAGEVOLUME_CLUSTER_NAME": cluster.name,
                "IMAGEVOLUME_RUNTIME": cluster.runtime,
            },
            # Again for a new cluster (new nodes) or a new container (not on
            # the kind network yet).
            triggers=[args.cluster_created, container.stdout],
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container, args.cluster_command]),
        )
        self.push_host = f"127.0.0.1:{cluster.registry_port}"
        self.register_outputs({"containerId": self.container_id})
