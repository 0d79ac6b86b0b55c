"""The image-volume pod, built from settings (pure)."""

from __future__ import annotations

from typing import Any

from components.settings.model import PodSettings

CONTAINER_NAME = "test"  # the walkthrough's container name


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
        "metadata": {"name": pod.name, "namespace": pod.namespace},
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
