"""Remember a folder's digest and file sums the way git's index remembers file hashes.

One JSON file per folder under ``<project>/.pulumi/cache/content/``, named by the
sha256 of the folder's real path. It holds the format ``VERSION``, the index digest,
the time stamp of the build's start, per entry: name, kind, normalised mode, size,
mtime_ns, ctime_ns, inode, device and symlink target, and per regular file (in layer
order): name, sha256 and size. A lookup re-scans the folder (``lstat`` only, the same
checks and refusals; no file's contents are read) and is a hit only when the version
is this one, every entry matches exactly, the file sums are well formed and name
exactly the folder's regular files, and no entry's mtime or ctime is at or after the
stamp (git's "racily clean" rule: such an entry may have changed within the clock's
granularity while it was read). Anything else - a new, gone or changed entry, a racy
one, an unreadable, foreign or older-version cache file - is a miss, and a miss
rebuilds the whole digest and every file's sum. The stamp is the mtime of the (temporary) cache file,
created before the folder is read, so it comes from the same file system clock as the
entries' times. Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from components.content.tarlayer import FileSum
from components.content.walk import Entry

VERSION = "components.content/2"  # bump when the layer or JSON format changes (2: file sums)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _row(entry: Entry) -> list[object]:
    return [
        entry.name,
        entry.kind,
        entry.mode,
        entry.size,
        entry.mtime_ns,
        entry.ctime_ns,
        entry.inode,
        entry.device,
        entry.target,
    ]


def _sums(record: object, entries: Sequence[Entry]) -> tuple[FileSum, ...] | None:
    """The recorded file sums when they name exactly the regular files of ``entries``."""
    files = [entry for entry in entries if entry.kind == "file"]
    if not isinstance(record, list) or len(record) != len(files):
        return None
    sums: list[FileSum] = []
    for row, entry in zip(record, files, strict=True):
        if not isinstance(row, list) or len(row) != 3:
            return None
        path, sha256, size = row
        if path != entry.name or type(size) is not int or size != entry.size:
            return None
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            return None
        sums.append(FileSum(path=entry.name, sha256=sha256, size=entry.size))
    return tuple(sums)


def _file(cache_dir: Path, root: Path) -> Path:
    return cache_dir / (hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest() + ".json")


def lookup(cache_dir: Path, root: Path, entries: Sequence[Entry]) -> tuple[str, tuple[FileSum, ...]] | None:
    """The cached digest and file sums when every entry is unchanged and none is racy; else None."""
    try:
        record = json.loads(_file(cache_dir, root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != VERSION:
        return None
    stamp = record.get("stamp_ns")
    digest = record.get("digest")
    if not isinstance(stamp, int) or not isinstance(digest, str):
        return None
    if record.get("entries") != [_row(entry) for entry in entries]:
        return None
    sums = _sums(record.get("files"), entries)
    if sums is None or any(max(entry.mtime_ns, entry.ctime_ns) >= stamp for entry in entries):
        return None
    return digest, sums


class Writer:
    """Opened before the folder is read (its file's mtime is the stamp), committed after."""

    def __init__(self, cache_dir: Path, root: Path) -> None:
        self.target = _file(cache_dir, root)
        self.root = os.path.realpath(root)
        cache_dir.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".json")
        self.temp = Path(name)
        self.stamp_ns = os.fstat(descriptor).st_mtime_ns
        os.close(descriptor)

    def commit(self, entries: Sequence[Entry], digest: str, files: Sequence[FileSum]) -> None:
        record = {
            "version": VERSION,
            "root": self.root,
            "stamp_ns": self.stamp_ns,
            "digest": digest,
            "entries": [_row(entry) for entry in entries],
            "files": [[file.path, file.sha256, file.size] for file in files],
        }
        with open(self.temp, "w", encoding="utf-8") as out:
            json.dump(record, out, separators=(",", ":"))
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)
