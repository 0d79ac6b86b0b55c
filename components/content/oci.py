"""The JSON documents of the image: two configs, two manifests and the index, as exact bytes.

Canonical JSON (sorted keys, no spaces, ASCII). The configs differ only in
``architecture``; both manifests name the one shared layer; no ``artifactType``, no
annotations anywhere (docs/runtimes.md section 4).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from components.content.tarlayer import Layer

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
ARCHITECTURES = ("amd64", "arm64")


def canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Image:
    """Everything but the layer's bytes: push order is configs, manifests, index."""

    layer: Layer
    configs: tuple[Blob, ...]
    manifests: tuple[Blob, ...]
    index: Blob

    @property
    def digest(self) -> str:
        return self.index.digest


def image(layer: Layer) -> Image:
    layer_descriptor = {"mediaType": LAYER_TYPE, "digest": layer.digest, "size": layer.size}
    configs: list[Blob] = []
    manifests: list[Blob] = []
    platforms: list[dict[str, object]] = []
    for architecture in ARCHITECTURES:
        config = Blob(
            CONFIG_TYPE,
            canonical(
                {
                    "architecture": architecture,
                    "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
                }
            ),
        )
        manifest = Blob(
            MANIFEST_TYPE,
            canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST_TYPE,
                    "config": config.descriptor(),
                    "layers": [layer_descriptor],
                }
            ),
        )
        configs.append(config)
        manifests.append(manifest)
        platforms.append({**manifest.descriptor(), "platform": {"architecture": architecture, "os": "linux"}})
    index = Blob(INDEX_TYPE, canonical({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": platforms}))
    return Image(layer=layer, configs=tuple(configs), manifests=tuple(manifests), index=index)
