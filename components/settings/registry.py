"""The registries: the kind stack's own (registryPort, registryImage), an existing cluster's (registry)."""

from __future__ import annotations

import hashlib

from components.content import ContentError, parse_target
from components.settings.grammar import parse_image_reference
from components.settings.reader import Reader, explain_reference, is_image_reference
from components.versions import REGISTRY_IMAGE

# The stack's registry container publishes a port on 127.0.0.1 (kind mode).
REGISTRY_PORT_MIN = 1024
REGISTRY_PORT_MAX = 65535
REGISTRY_EXAMPLE = "registry.example.com/imagevolume"


def default_registry_port(stack: str) -> int:
    """5001 (kind's local-registry recipe) and up, by the stack's name: two
    stacks on one machine rarely want the same port; `up` says when it is taken."""
    return 5001 + int(hashlib.sha256(stack.encode()).hexdigest()[:8], 16) % 1000


def _is_registry_port(value: str) -> bool:
    return value.isascii() and value.isdigit() and REGISTRY_PORT_MIN <= int(value) <= REGISTRY_PORT_MAX


def read_registry_port(reader: Reader, stack: str) -> int:
    default = default_registry_port(stack)
    return int(
        reader.string(
            "registryPort",
            str(default),
            _is_registry_port,
            f"must be a TCP port from {REGISTRY_PORT_MIN} to {REGISTRY_PORT_MAX}: the stack's registry "
            "listens on 127.0.0.1:<port> when a volume has a source",
            str(default),
        )
    )


def read_registry_image(reader: Reader) -> str:
    allowed = (
        f"must be an OCI image reference such as {REGISTRY_IMAGE} or "
        "127.0.0.1:5000/registry@sha256:<64 lowercase hex digits>: the stack's registry container "
        "runs it when a volume has a source"
    )
    return reader.string(
        "registryImage",
        REGISTRY_IMAGE,
        is_image_reference,
        allowed,
        REGISTRY_IMAGE,
        explain=explain_reference(allowed),
    )


def _is_registry(value: str) -> bool:
    """HOST[:PORT][/PATH]: a registry host (with a dot or a port, or localhost)
    and an optional repository path, no tag or digest."""
    value = value.rstrip("/")
    host = value.split("/", 1)[0]
    if not ("." in host or ":" in host or host == "localhost"):
        return False
    parsed = parse_image_reference(f"{value}/volume")
    if parsed is None or parsed.tag is not None or parsed.digest is not None:
        return False
    try:
        parse_target(f"{value}/volume")  # what the push will take: a port from 1 to 65535
    except ContentError:
        return False
    return True


def read_registry(reader: Reader) -> str | None:
    if "registry" not in reader.raw:
        return None
    value = reader.string(
        "registry",
        "",
        _is_registry,
        "must be HOST[:PORT][/PATH] of a registry the cluster pulls from, such as "
        f"{REGISTRY_EXAMPLE} (HTTPS; credentials from your docker config, as `docker login` writes them)",
        REGISTRY_EXAMPLE,
    )
    return value.rstrip("/") or None
