"""ImageVolumePod: the pod that mounts OCI images as volumes, on a provider bound
to the cluster's kubeconfig."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import local

from components.kubectl import PodTarget, kubectl_command
from components.pod.pod_spec import CONTAINER_NAME, pod_manifest
from components.settings.model import PodSettings
from components.shell import beside

READY = beside(__file__, "ready.sh")
# Namespaces every cluster has; any other is created (kind mode only).
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def local_registry_hosting(host: str) -> str:
    """KEP-1755's LocalRegistryHostingV1, as kind's local-registry recipe writes it
    (kind site/static/examples/kind-with-registry.sh)."""
    return f'host: "{host}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n'


def ready_environment(settings: PodSettings, target: PodTarget, masked: bool = False) -> dict[str, str]:
    """The values ready.sh reads; `masked`: the images were set with --secret,
    and its messages name them only as [secret]."""
    references = " ".join(f"{v.name}={v.reference}" for v in settings.volumes)
    return {
        **target.environment(),
        "IMAGEVOLUME_READY_TIMEOUT": str(settings.ready_timeout_seconds),
        "IMAGEVOLUME_REFERENCES": "[secret]" if masked else references,
        "IMAGEVOLUME_POD_IMAGE": "[secret]" if masked else settings.image,
        "IMAGEVOLUME_SUBPATHS": "yes" if any(v.sub_path for v in settings.volumes) else "no",
        "IMAGEVOLUME_MASKED": "yes" if masked else "no",
    }


@dataclass(frozen=True)
class ImageVolumePodArgs:
    settings: PodSettings
    kubeconfig: pulumi.Input[str]
    # Changes exactly when the cluster is another one (see cluster/identity.py).
    cluster_identifier: str
    # For a disposable cluster: let destroy drop resources whose cluster is gone.
    delete_unreachable: bool = False
    create_namespace: bool = False
    # podImage or volumes set with --secret: the pod's spec stays secret.
    secret_spec: bool = False
    # ...or podReadyTimeout: the ready wait's environment too.
    secret_ready: bool = False
    # What must be done before the pod is made (its images pushed, the nodes
    # able to reach their registry).
    after: Sequence[pulumi.Resource] = ()
    # localhost:<port> of the stack's own registry: announced in the cluster
    # as KEP-1755 says (the local-registry-hosting ConfigMap in kube-public).
    local_registry_host: str | None = None


class ImageVolumePod(pulumi.ComponentResource):
    """The pod on a provider bound to the kubeconfig, and a wait for it to be
    Ready that explains a failure (`ready`: run what needs a Ready pod after it)."""

    uid: pulumi.Output[str]
    ready: local.Command
    cluster_object_urns: list[pulumi.Output[str]]
    pod_name: pulumi.Output[str]
    target: PodTarget

    def __init__(
        self, name: str, args: ImageVolumePodArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("imagevolume:index:ImageVolumePod", name, None, opts)
        settings = args.settings
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            cluster_identifier=args.cluster_identifier,
            # Unset unless true: an explicit false is stored and then overrides
            # the PULUMI_K8S_DELETE_UNREACHABLE escape hatch that the provider's
            # own error message recommends (pulumi-kubernetes provider.go).
            delete_unreachable=True if args.delete_unreachable else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        depends_on: list[pulumi.Resource] = []
        if args.create_namespace and settings.namespace not in BUILT_IN_NAMESPACES:
            depends_on.append(
                k8s.core.v1.Namespace(
                    f"{name}-namespace",
                    metadata={"name": settings.namespace},
                    opts=pulumi.ResourceOptions(parent=self, provider=provider),
                )
            )
        if args.local_registry_host is not None:
            depends_on.append(
                k8s.core.v1.ConfigMap(
                    f"{name}-local-registry-hosting",
                    metadata={"name": "local-registry-hosting", "namespace": "kube-public"},
                    data={"localRegistryHosting.v1": local_registry_hosting(args.local_registry_host)},
                    opts=pulumi.ResourceOptions(parent=self, provider=provider),
                )
            )
        manifest = pod_manifest(settings)
        pod = k8s.core.v1.Pod(
            f"{name}-pod",
            metadata=manifest["metadata"],
            spec=pulumi.Output.secret(manifest["spec"]) if args.secret_spec else manifest["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                depends_on=[*depends_on, *args.after],
                # The name is fixed: the old pod must be gone before the new one is
                # made. The provider asks for this on a diff, but not for a
                # `pulumi up --replace` (healing), where the engine would otherwise
                # create first and then delete the old pod by name through the
                # updated provider, in the new cluster (pulumi step_generator.go:
                # a targeted replace carries no DeleteBeforeReplace of its own).
                delete_before_replace=True,
            ),
        )
        self.target = PodTarget(settings.namespace, settings.name, CONTAINER_NAME)
        # The pod's uid changes exactly when the pod is new (replaced); it is
        # known in a preview whenever the pod stays, unlike the stdout of a
        # command whose stdin (the kubeconfig) is unknown then.
        self.uid = pod.metadata.apply(lambda metadata: metadata.uid or "")
        # Waited for again when the pod is new; prints the uid.
        self.ready = kubectl_command(
            f"{name}-ready",
            READY,
            environment=ready_environment(settings, self.target, masked=args.secret_spec),
            kubeconfig=args.kubeconfig,
            pod_uid=self.uid,
            parent=self,
            secret=args.secret_ready,
        )
        self.pod_name = pod.metadata.apply(lambda metadata: metadata.name or "")
        # What the engine believes is in the cluster: replaced with it when
        # it is recreated behind Pulumi's back (README: healing).
        self.cluster_object_urns = [pod.urn, *(made.urn for made in depends_on)]
        self.register_outputs({"uid": self.uid, "podName": self.pod_name})
