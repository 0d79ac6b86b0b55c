"""Folders whose image digests are written down as literals (test_golden.py).

Each was verified once by outside tools and is again on every run where they
are installed (test_content_registry.py test_golden_folder_unpacks_to_its_bytes):
pushed to Debian's docker-registry (CNCF distribution 2.8.2), copied out with
skopeo (which checks every blob's digest) into an OCI layout, unpacked with
umoci, and compared byte for byte with the folder; the pushed index digest is
the literal. First verified on 2026-12-04 with skopeo 1.9.3 and umoci 0.4.7.

A golden digest changes only with the layer or document format: change it
together with `components.content.cache.VERSION` (GOLDEN_CACHE_VERSION below),
or every cached digest of the old format would be served as the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

GOLDEN_CACHE_VERSION = "components.content/2"
EXAMPLE_DIGEST = "sha256:b75611e3daa2d64f14cffbbd9e5d2faa087682b56255203e39eec9c6bf6fe2c5"


def mixed_case(root: Path) -> None:
    """Names that differ only in case: three files, not one."""
    (root / "README").write_bytes(b"upper\n")
    (root / "readme").write_bytes(b"lower\n")
    (root / "ReadMe.txt").write_bytes(b"mixed\n")


def name_of_100_bytes(root: Path) -> None:
    """The longest name a ustar header holds without a PAX record."""
    (root / ("n" * 100)).write_bytes(b"100\n")


def name_of_101_bytes(root: Path) -> None:
    """One byte past it: the name goes into a PAX header."""
    (root / ("n" * 101)).write_bytes(b"101\n")


def one_file(root: Path) -> None:
    (root / "only.txt").write_bytes(b"1\n")


def an_empty_folder(root: Path) -> None:
    (root / "empty").mkdir()


def a_symlink(root: Path) -> None:
    (root / "target.txt").write_bytes(b"pointed at\n")
    (root / "link").symlink_to("target.txt")


GOLDEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "mixed_case": (mixed_case, "sha256:7134ad508e92febbbd427044d68bb50a9ec86e61cfc28cb98d29d53ad361282c"),
    "name_of_100_bytes": (
        name_of_100_bytes,
        "sha256:2204659798104def3de3ddca0adedc75c7f9383d05c8dc1230380852472d0f93",
    ),
    "name_of_101_bytes": (
        name_of_101_bytes,
        "sha256:8b6dbcdb975c571bbcab2d51a2dd1b2563f17f3b1e97b3b0aed7389dfe337aa5",
    ),
    "one_file": (one_file, "sha256:ed6c6beb13912c35d778ce714ced167294c20034d12e53e2b01aa5a0814fbc45"),
    "an_empty_folder": (
        an_empty_folder,
        "sha256:55258a3c367d3a7f429c95a5a39b2b2aeee9ba4e9c6e7a98ab823c4212114a03",
    ),
    "a_symlink": (a_symlink, "sha256:777fcd7278a2ab93e841657bd06bd97aa67bd3fd971b5da85b98c424c956f9d4"),
}


def make(name: str, root: Path) -> Path:
    root.mkdir(parents=True)
    GOLDEN[name][0](root)
    return root
