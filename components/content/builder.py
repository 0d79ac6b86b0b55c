"""Folder -> image: the digest (cached, no network) or the full image with its layer on disk."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from components.content import cache
from components.content.oci import Image, image
from components.content.tarlayer import write_layer
from components.content.walk import scan

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = PROJECT / ".pulumi" / "cache" / "content"


def build(root: Path, layer_out: BinaryIO | None = None) -> Image:
    """Scan ``root`` and stream its layer into ``layer_out`` (or only hash it): one pass."""
    return image(write_layer(scan(root), layer_out))


def digest(root: Path, cache_dir: Path | None = DEFAULT_CACHE) -> str:
    """The index digest of ``root``: from the cache when nothing changed, else built (and cached).

    ``cache_dir=None`` builds without reading or writing any cache.
    """
    entries = scan(root)
    if cache_dir is None:
        return image(write_layer(entries)).digest
    hit = cache.lookup(cache_dir, root, entries)
    if hit is not None:
        return hit
    writer = cache.Writer(cache_dir, root)
    try:
        result = image(write_layer(entries)).digest
        writer.commit(entries, result)
    finally:
        writer.discard()
    return result
