"""ImageVolumePod: the pod that mounts OCI images as volumes, on a provider bound
to the cluster's kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubectl import kubectl_command
from components.settings.model import PodSettings
from components.pod.pod_spec import CONTAINER_NAME, pod_manifest
from components.scripts import PodTarget, pod_ready_script

# Namespaces every cluster has; any other is created (kind mode only).
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class ImageVolumePodArgs:
    settings: PodSettings
    kubeconfig: pulumi.Input[str]
    context: str | None = None
    # For a disposable cluster: let destroy drop resources whose cluster is gone.
    delete_unreachable: bool = False
    create_namespace: bool = False


class ImageVolumePod(pulumi.ComponentResource):
    """The pod on a provider bound to the kubeconfig, and a wait for it to be
    Ready that explains a failure. `uid` resolves once the pod is Ready."""

    uid: pulumi.Output[str]
    pod_name: pulumi.Output[str]
    target: PodTarget  # where `kubectl exec` finds the container

    def __init__(
        self, name: str, args: ImageVolumePodArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("imagevolume:index:ImageVolumePod", name, None, opts)
        settings = args.settings
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            context=args.context,
            delete_unreachable=args.delete_unreachable,
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
        manifest = pod_manifest(settings)
        # The provider's own await is skipped: the ready command below waits
        # for podReadyTimeout and, on failure, says which image could not be
        # pulled or mounted, instead of a generic time-out after 10 minutes.
        manifest["metadata"]["annotations"] = {"pulumi.com/skipAwait": "true"}
        pod = k8s.core.v1.Pod(
            f"{name}-pod",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on),
        )
        self.target = PodTarget(settings.namespace, settings.name, CONTAINER_NAME, args.context)
        # Waited for again when the pod is new (replaced); its stdout is the uid.
        self.uid = kubectl_command(
            f"{name}-ready",
            pod_ready_script(self.target, settings.ready_timeout_seconds, settings.volumes, settings.image),
            args.kubeconfig,
            pod.metadata.apply(lambda metadata: metadata.uid or ""),
            self,
        )
        self.pod_name = pod.metadata.apply(lambda metadata: metadata.name or "")
        self.register_outputs({"uid": self.uid, "podName": self.pod_name})
