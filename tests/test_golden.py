"""Golden values: digests and media types written as literals, never computed
by the code under test (how each digest was verified: golden.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden import EXAMPLE_DIGEST, GOLDEN, GOLDEN_CACHE_VERSION, make

from components.content import cache, digest, oci

PROJECT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_crafted_folders_digest_is_its_literal(name: str, tmp_path: Path) -> None:
    assert digest(make(name, tmp_path / name), None) == GOLDEN[name][1]


def test_the_examples_digest_is_its_literal() -> None:
    assert digest(PROJECT / "examples" / "content", None) == EXAMPLE_DIGEST


def test_a_golden_digest_changes_only_with_the_cache_version() -> None:
    assert cache.VERSION == GOLDEN_CACHE_VERSION, "bump golden.py's digests and GOLDEN_CACHE_VERSION together"


def test_media_types_are_the_oci_specs_strings() -> None:
    # opencontainers/image-spec media-types.md
    assert oci.INDEX_TYPE == "application/vnd.oci.image.index.v1+json"
    assert oci.MANIFEST_TYPE == "application/vnd.oci.image.manifest.v1+json"
    assert oci.CONFIG_TYPE == "application/vnd.oci.image.config.v1+json"
    assert oci.LAYER_TYPE == "application/vnd.oci.image.layer.v1.tar"
