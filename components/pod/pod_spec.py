"""The image-volume pod, built from settings (pure)."""

from __future__ import annotations

from typing import Any

from components.settings.model import PodSettings

CONTAINER_NAME = "test"  # the walkthrough's container name
# The provider's await is met as soon as the pod exists, so the ready command
# (which can say which image volume failed) stays in charge of readiness. A
# custom waitFor replaces the built-in Pod await but, unlike skipAwait, keeps
# the wait on delete (pulumi-kubernetes provider/pkg/metadata/overrides.go,
# provider/pkg/await/await.go): a replaced pod of the same fixed name is gone
# before its successor is created, instead of failing AlreadyExists
# (pulumi-kubernetes#3154). condition=Ready would block up to 10 minutes and
# hide the diagnosis.
POD_ANNOTATIONS = {"pulumi.com/waitFor": "jsonpath={.metadata.uid}"}


def pod_manifest(pod: PodSettings) -> dict[str, Any]:
    """The Pod object, in the Kubernetes API's own (camelCase) shape."""
    mounts: list[dict[str, Any]] = []
    for volume in pod.volumes:
        mount: dict[str, Any] = {"name": volume.name, "mountPath": volume.mount_path}
        if volume.sub_path is not None:
            mount["subPath"] = volume.sub_path
        mounts.append(mount)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "annotations": dict(POD_ANNOTATIONS)},
        "spec": {
            "containers": [
                {"name": CONTAINER_NAME, "image": pod.image, "volumeMounts": mounts},
            ],
            "volumes": [
                {
                    "name": volume.name,
                    "image": {"reference": volume.reference, "pullPolicy": volume.pull_policy},
                }
                for volume in pod.volumes
            ],
        },
    }
