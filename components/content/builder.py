"""Folder -> image: the digest and file sums (cached, no network), or the full image with its layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from components.content import cache
from components.content.oci import Image, image
from components.content.tarlayer import FileSum, write_layer
from components.content.walk import scan

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = PROJECT / ".pulumi" / "cache" / "content"


@dataclass(frozen=True)
class Content:
    """What a folder is as an image: its index digest, and the sha256 of every regular file."""

    digest: str  # "sha256:<hex>" of the index, as digest() returns
    files: tuple[FileSum, ...]  # every regular file (hard links too), in layer order


def build(root: Path, layer_out: BinaryIO | None = None) -> Image:
    """Scan ``root`` and stream its layer into ``layer_out`` (or only hash it): one pass.

    ``Image.layer.files`` holds every regular file's sha256 from that same pass.
    """
    return image(write_layer(scan(root), layer_out))


def describe(root: Path, cache_dir: Path | None = DEFAULT_CACHE) -> Content:
    """The index digest of ``root`` and every regular file's sha256, in one read of each file.

    From the cache (no file contents read) when nothing changed, else built and cached;
    ``cache_dir=None`` builds without reading or writing any cache.
    """
    entries = scan(root)
    if cache_dir is None:
        return _content(image(write_layer(entries)))
    hit = cache.lookup(cache_dir, root, entries)
    if hit is not None:
        return Content(digest=hit[0], files=hit[1])
    writer = cache.Writer(cache_dir, root)
    try:
        result = _content(image(write_layer(entries)))
        writer.commit(entries, result.digest, result.files)
    finally:
        writer.discard()
    return result


def digest(root: Path, cache_dir: Path | None = DEFAULT_CACHE) -> str:
    """The index digest of ``root``: ``describe(root, cache_dir).digest`` (same cache)."""
    return describe(root, cache_dir).digest


def _content(built: Image) -> Content:
    return Content(digest=built.digest, files=built.layer.files)
