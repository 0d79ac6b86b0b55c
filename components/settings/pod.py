"""The pod's settings: podName, namespace, podImage, its volumes and podReadyTimeout."""

from __future__ import annotations

from components.settings.grammar import is_dns1123_label, is_dns1123_subdomain
from components.settings.model import PodSettings
from components.settings.reader import Reader, explain_reference, is_image_reference, read_timeout
from components.settings.volumes import Sources, read_volumes

DEFAULT_POD_IMAGE = "registry.k8s.io/e2e-test-images/echoserver:2.3"


def read_pod(reader: Reader, runtime: str | None, sources: Sources) -> PodSettings:
    """The pod, its volumes read with `runtime`'s default volume and `sources`."""
    pod_name = reader.string(
        "podName",
        "pod",
        is_dns1123_subdomain,
        "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253)",
        "pod",
    )
    namespace = reader.string(
        "namespace",
        "default",
        is_dns1123_label,
        "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
        "default",
    )
    pod_image_allowed = f"must be an OCI image reference such as {DEFAULT_POD_IMAGE}"
    pod_image = reader.string(
        "podImage",
        DEFAULT_POD_IMAGE,
        is_image_reference,
        pod_image_allowed,
        DEFAULT_POD_IMAGE,
        explain=explain_reference(pod_image_allowed),
    )
    volumes = read_volumes(reader, runtime, sources)
    return PodSettings(
        name=pod_name,
        namespace=namespace,
        image=pod_image,
        volumes=volumes,
        ready_timeout_seconds=read_timeout(reader, "podReadyTimeout"),
    )
