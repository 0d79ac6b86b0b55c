"""KindCluster: a kind cluster whose lifecycle is a pulumi_command local.Command."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.cluster.kind_config import cluster_fingerprint, render_kind_config
from components.settings.model import KindClusterSettings
from components.scripts import kind_create_script, kind_delete_script


@dataclass(frozen=True)
class KindClusterArgs:
    settings: KindClusterSettings


class KindCluster(pulumi.ComponentResource):
    """Creates the cluster on `pulumi up`, deletes it on `pulumi destroy`.

    Outputs the cluster's kubeconfig, a secret.
    """

    kubeconfig: pulumi.Output[str]
    cluster_name: str

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:KindCluster", name, None, opts)
        settings = args.settings
        config_yaml = render_kind_config(settings)
        command = local.Command(
            f"{name}-kind",
            create=kind_create_script(settings, cluster_fingerprint(settings)),
            delete=kind_delete_script(settings.name),
            stdin=config_yaml,
            # Only a trigger change replaces a Command; any other input change
            # re-runs create, which adopts the cluster it made before.
            triggers=[settings.name, settings.node_image, config_yaml],
            # stdout is the kubeconfig: keep it out of the console and the
            # delete step's environment.
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
        self.kubeconfig = pulumi.Output.secret(command.stdout)
        self.register_outputs({"clusterName": self.cluster_name, "kubeconfig": self.kubeconfig})
