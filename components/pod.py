"""ImageVolumePod: the pod that mounts OCI images as volumes, on a provider bound
to the cluster's kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.model import PodSettings
from components.pod_spec import pod_manifest

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
    uid: pulumi.Output[str]
    pod_name: pulumi.Output[str]

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
        # The provider's await fails the pod after this time instead of its
        # 10-minute default, reporting image-pull reasons as it waits.
        ready_timeout = f"{settings.ready_timeout_seconds}s"
        pod = k8s.core.v1.Pod(
            f"{name}-pod",
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                depends_on=depends_on,
                custom_timeouts=pulumi.CustomTimeouts(create=ready_timeout, update=ready_timeout),
            ),
        )
        self.uid = pod.metadata.apply(lambda metadata: metadata.uid or "")
        self.pod_name = pod.metadata.apply(lambda metadata: metadata.name or "")
        self.register_outputs({"uid": self.uid, "podName": self.pod_name})
