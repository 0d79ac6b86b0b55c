"""Push an image to a registry: blobs (the layer in chunks), both manifests, then the index.

The manifests and the index are PUT as the exact bytes that were hashed (``oras``'
``push()`` would rebuild them and add annotations), so the registry's digest is ours.
Blob uploads use ``oras``' registry client (``upload_blob``: HEAD to skip a blob the
registry has, then POST + PATCH chunks + PUT for the layer, POST + PUT for a config);
manifests go through its ``do_request``. Plain HTTP, and only to a loopback host.
"""

from __future__ import annotations

import ipaddress
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.container  # type: ignore[import-untyped]
import oras.provider  # type: ignore[import-untyped]

from components.content.builder import build
from components.content.errors import ContentError
from components.content.oci import LAYER_TYPE, Blob

CHUNK_SIZE = 16 << 20
_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_LOOPBACK = "plain HTTP is used only for loopback hosts (127.0.0.0/8, localhost, ::1)"


@dataclass(frozen=True)
class Target:
    hostport: str  # as in a URL: "127.0.0.1:5000", "[::1]:5000", "localhost"
    repository: str

    def __str__(self) -> str:
        return f"{self.hostport}/{self.repository}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(text: str) -> Target:
    """``HOST[:PORT]/REPOSITORY`` with a loopback HOST, or ContentError saying why not."""
    hostport, slash, repository = text.partition("/")
    if not slash or not hostport or not repository:
        raise ContentError(f"{text!r}: expected HOST[:PORT]/REPOSITORY, e.g. 127.0.0.1:5000/content")
    if not _REPOSITORY.fullmatch(repository):
        raise ContentError(
            f"{text!r}: {repository!r} is not a repository name (lowercase letters, digits, "
            "separators '.', '_', '__', '-' and '/'; no tag or digest: the digest is printed)"
        )
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        valid = bool(bracket) and (rest == "" or port is not None)
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        valid = ":" not in port_text
    if not valid or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ContentError(f"{text!r}: {hostport!r} is not HOST[:PORT]")
    if not _is_loopback(host):
        raise ContentError(f"{text!r}: {host} is not a loopback host; {_LOOPBACK} (HTTPS is not implemented)")
    return Target(hostport=hostport, repository=repository)


def _ping(target: Target) -> None:
    url = f"http://{target.hostport}/v2/"
    try:
        with urllib.request.urlopen(url, timeout=10):
            return
    except urllib.error.HTTPError as error:
        raise ContentError(f"{url}: the registry answered {error.code} {error.reason}") from error
    except OSError as error:
        raise ContentError(f"{url}: no registry answers there ({error})") from error


def _check(response: Any, what: str, expected: tuple[int, ...]) -> None:
    status = int(response.status_code)
    if status not in expected:
        raise ContentError(f"{what}: the registry answered {status}: {str(response.text)[:500]}")


def _put_manifest(registry: Any, container: Any, blob: Blob, what: str) -> None:
    url = f"http://{container.manifest_url(blob.digest)}"
    response = registry.do_request(url, "PUT", data=blob.data, headers={"Content-Type": blob.media_type})
    _check(response, f"PUT {url} ({what})", (201,))
    echoed = response.headers.get("Docker-Content-Digest")
    if echoed is not None and echoed != blob.digest:
        raise ContentError(f"PUT {url} ({what}): the registry stored {echoed}, not {blob.digest}")


def push(root: Path, target_text: str, chunk_size: int = CHUNK_SIZE) -> str:
    """Build ``root`` and push it; returns ``HOST[:PORT]/REPOSITORY@sha256:...``."""
    target = parse_target(target_text)
    _ping(target)
    with tempfile.TemporaryDirectory(prefix="content-push-") as scratch:
        layer_path = Path(scratch) / "layer.tar"
        with open(layer_path, "wb") as layer_out:
            image = build(root, layer_out)
        registry = oras.provider.Registry(hostname=target.hostport, insecure=True)
        container = oras.container.Container("placeholder", registry=target.hostport)
        namespace, _, repository = target.repository.rpartition("/")
        container.namespace, container.repository = namespace or None, repository
        try:
            response = registry.upload_blob(
                str(layer_path),
                container,
                {"mediaType": LAYER_TYPE, "digest": image.layer.digest, "size": image.layer.size},
                do_chunked=True,
                chunk_size=chunk_size,
            )
            _check(response, f"upload of the layer {image.layer.digest}", (200, 201))
            for number, config in enumerate(image.configs):
                config_path = Path(scratch) / f"config-{number}.json"
                config_path.write_bytes(config.data)
                response = registry.upload_blob(str(config_path), container, config.descriptor())
                _check(response, f"upload of the config {config.digest}", (200, 201))
            for manifest in image.manifests:
                _put_manifest(registry, container, manifest, "image manifest")
            _put_manifest(registry, container, image.index, "image index")
        except (OSError, ValueError) as error:
            raise ContentError(f"push to {target}: {error}") from error
    return f"{target}@{image.digest}"
