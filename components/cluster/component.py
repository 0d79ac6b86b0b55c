"""KindCluster: a kind cluster whose lifecycle is a pulumi_command local.Command."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_command import local

from components.cluster.identity import cluster_identity
from components.cluster.owner import OWNER_FILE, new_owner_record
from components.settings.grammar import KubernetesVersion
from components.settings.model import KindClusterSettings
from components.settings.rules import kind_release_image
from components.shell import beside
from components.versions import KIND, KIND_DEFAULT_NODE_IMAGE, KIND_FOR_KUBERNETES_1_36

CREATE = beside(__file__, "create.sh")
PREFLIGHT = beside(__file__, "preflight.sh")
DELETE = beside(__file__, "delete.sh")
PRESENT = beside(__file__, "present.sh")


def cluster_environment(
    settings: KindClusterSettings, kubernetes_version: KubernetesVersion | None = None
) -> dict[str, str]:
    """The values create.sh, preflight.sh and delete.sh read (besides their own text)."""
    identity = cluster_identity(settings)
    return {
        **identity.engine.environment(),
        **preflight_environment(settings, kubernetes_version),
        "IMAGEVOLUME_CLUSTER_NAME": settings.name,
        "IMAGEVOLUME_NODE_IMAGE": settings.node_image,
        "IMAGEVOLUME_FINGERPRINT": identity.fingerprint,
        "IMAGEVOLUME_READY_TIMEOUT": str(settings.ready_timeout_seconds),
    }


def preflight_environment(
    settings: KindClusterSettings, kubernetes_version: KubernetesVersion | None
) -> dict[str, str]:
    """What preflight.sh checks the kind on PATH and the Docker host against."""
    release = kind_release_image(settings.node_image)
    needs_1_36 = kubernetes_version is not None and kubernetes_version.at_least(1, 36)
    return {
        "IMAGEVOLUME_KIND_FOR_IMAGE": release.kind if release else "",
        "IMAGEVOLUME_KIND_AT_LEAST": KIND_FOR_KUBERNETES_1_36 if needs_1_36 else "",
        "IMAGEVOLUME_WORKERS": str(settings.workers),
        "IMAGEVOLUME_PINNED_KIND": KIND.version,
        "IMAGEVOLUME_PINNED_IMAGE": KIND_DEFAULT_NODE_IMAGE,
    }


@dataclass(frozen=True)
class KindClusterArgs:
    settings: KindClusterSettings
    kubernetes_version: KubernetesVersion | None = None
    # A setting that defines the cluster was set with --secret: the kind
    # config, the triggers and the environment stay secret.
    secret: bool = False


class KindCluster(pulumi.ComponentResource):
    """Creates the cluster on `pulumi up`, deletes it on `pulumi destroy`.

    Outputs the cluster's kubeconfig (a secret) and the identifier that the
    Kubernetes provider keys on (it changes exactly when the cluster is recreated).
    """

    kubeconfig: pulumi.Output[str]
    cluster_name: str
    cluster_identifier: str
    presence: pulumi.Output[str]  # present, absent or unknown (present.sh)
    command_urn: pulumi.Output[str]
    command: local.Command
    # New exactly when the cluster is created anew: pulumi-command mints a
    # Command's id at create only (provider/pkg/provider/local/commandController.go).
    created: pulumi.Output[str]
    owner: pulumi.Output[str]  # this stack state's owner record

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagevolume:index:KindCluster", name, None, opts)
        settings = args.settings
        identity = cluster_identity(settings)

        def kept_secret(value: Any) -> Any:
            return pulumi.Output.secret(value) if args.secret else value

        owner = pulumi.Stash(
            f"{name}-owner",
            input=new_owner_record(pulumi.get_project(), pulumi.get_stack()),
            # The first record is the owner for good; a new one each run would
            # only show as a change.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["input"]),
        )
        command = local.Command(
            f"{name}-kind",
            create=CREATE.command,
            delete=DELETE.command,
            environment=kept_secret(
                {
                    **CREATE.environment(),
                    **PREFLIGHT.environment(),
                    **DELETE.environment(),
                    **cluster_environment(settings, args.kubernetes_version),
                    "IMAGEVOLUME_OWNER": owner.output.apply(str),
                    "IMAGEVOLUME_OWNER_FILE": OWNER_FILE,
                }
            ),
            stdin=kept_secret(identity.config),
            # Only a trigger change replaces a Command; any other input change
            # (a time-out, a script edit) re-runs create, which adopts the
            # cluster it made.
            triggers=kept_secret(identity.defining()),
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
        # local.Command has no read: nothing tells the engine that the cluster
        # was deleted behind its back. This probe, an invoke, runs at every
        # preview and up after the command, changes no resource, and only informs.
        self.presence = local.run_output(
            command=PRESENT.command,
            environment={
                **PRESENT.environment(),
                **identity.engine.environment(),
                "IMAGEVOLUME_CLUSTER_NAME": settings.name,
            },
            # Its answer is for the program: logged, it is a bare line in the
            # console (local.run logs both streams by default).
            logging=local.Logging.NONE,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[command]),
        ).stdout
        self.command_urn = command.urn
        self.command = command
        self.created = command.id
        self.owner = owner.output.apply(str)
        self.cluster_name = settings.name
        self.cluster_identifier = identity.cluster_identifier
        self.kubeconfig = pulumi.Output.secret(command.stdout)
        self.register_outputs({"clusterName": self.cluster_name, "kubeconfig": self.kubeconfig})
