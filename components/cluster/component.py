"""KindCluster: a kind cluster whose lifecycle is a pulumi_command local.Command."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.cluster.identity import cluster_identity
from components.settings.model import KindClusterSettings
from components.shell import beside

CREATE = beside(__file__, "create.sh")
DELETE = beside(__file__, "delete.sh")


def cluster_environment(settings: KindClusterSettings) -> dict[str, str]:
    """The values create.sh and delete.sh read (besides their own text)."""
    identity = cluster_identity(settings)
    return {
        **identity.engine.environment(),
        "IMAGEVOLUME_CLUSTER_NAME": settings.name,
        "IMAGEVOLUME_NODE_IMAGE": settings.node_image,
        "IMAGEVOLUME_FINGERPRINT": identity.fingerprint,
        "IMAGEVOLUME_READY_TIMEOUT": str(settings.ready_timeout_seconds),
    }


@dataclass(frozen=True)
class KindClusterArgs:
    settings: KindClusterSettings


class KindCluster(pulumi.ComponentResource):
    """Creates the cluster on `pulumi up`, deletes it on `pulumi destroy`.

    Outputs the cluster's kubeconfig (a secret) and the identifier that the
    Kubernetes provider keys on (it changes exactly when the cluster is recreated).
    """

    kubeconfig: pulumi.Output[str]
    cluster_name: str
    cluster_identifier: str

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:KindCluster", name, None, opts)
        settings = args.settings
        identity = cluster_identity(settings)
        command = local.Command(
            f"{name}-kind",
            create=CREATE.command,
            delete=DELETE.command,
            environment={**CREATE.environment(), **DELETE.environment(), **cluster_environment(settings)},
            stdin=identity.config,
            # Only a trigger change replaces a Command; any other input change
            # (a time-out, a script edit) re-runs create, which adopts the
            # cluster it made.
            triggers=identity.defining(),
            # stdout is the kubeconfig: keep it out of the console and out of
            # the delete step's environment.
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The cluster name is fixed, so the default create-before-delete
                # would have the old cluster's delete remove the new cluster.
                delete_before_replace=True,
                additional_secret_outputs=["stdout"],
            ),
        )
        self.cluster_name = settings.name
        self.cluster_identifier = identity.cluster_identifier
        self.kubeconfig = pulumi.Output.secret(command.stdout)
        self.register_outputs({"clusterName": self.cluster_name, "kubeconfig": self.kubeconfig})
