"""Write the folder's entries as one reproducible, uncompressed tar stream, hashing as it goes.

The flavour is fixed: POSIX ustar headers (magic ``ustar\\0``, version ``00``), mtime 0,
uid/gid 0, empty uname/gname, devmajor/devminor 0, no prefix field. A PAX extended
header (type ``x``, named ``PaxHeader``) precedes an entry only when its name or symlink
target is not ASCII or longer than 100 bytes (``path``/``linkpath`` records) or a file is
8 GiB or more (``size`` record); it never holds time records. The stream ends with two
zero blocks. One pass over the files, two fixed-size buffers: memory grows with the
number of entries (their metadata, one ``FileSum`` per file), never with their bytes.
Each chunk read from a regular file (hard links included: they are stored as regular
files) goes, from the same buffer, into both the layer's hash and that file's own
sha256 (the latter on a helper thread, in parallel), so the per-file sums cost no
second read and little extra time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from components.content.errors import ContentError
from components.content.walk import Entry

BLOCK = 512
CHUNK = 1 << 20
PARALLEL_MIN = 64 << 10  # a chunk this big gets its file's sha256 on the helper thread
_ZEROS = bytes(BLOCK)
_TYPE = {"file": b"0", "symlink": b"2", "dir": b"5"}
_NAME_MAX = 100
_SIZE_MAX = 8**11 - 1


@dataclass(frozen=True)
class FileSum:
    """One regular file of the layer and the sha256 of its bytes."""

    path: str  # the file's name in the layer: NFC, '/'-separated, relative, no leading './'
    sha256: str  # 64 lowercase hex
    size: int


@dataclass(frozen=True)
class Layer:
    digest: str  # "sha256:<hex>" of the uncompressed tar (its diff_id too)
    size: int
    files: tuple[FileSum, ...]  # every regular file, in layer order; no folders, no symlinks


class _Sink:
    """Hashes (and optionally writes) everything; counts bytes."""

    def __init__(self, out: BinaryIO | None) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.out = out

    def write(self, data: bytes | memoryview) -> None:
        self.hash.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _field(data: bytes, width: int) -> bytes:
    return data.ljust(width, b"\0")


def _header(name: bytes, mode: int, size: int, kind: bytes, link: bytes) -> bytes:
    head = b"".join(
        (
            _field(name, 100),
            _octal(mode, 8),
            _octal(0, 8),  # uid
            _octal(0, 8),  # gid
            _octal(size, 12),
            _octal(0, 12),  # mtime
            b" " * 8,  # checksum, computed below
            kind,
            _field(link, 100),
            b"ustar\0",
            b"00",
            _field(b"", 32),  # uname
            _field(b"", 32),  # gname
            _octal(0, 8),  # devmajor
            _octal(0, 8),  # devminor
            _field(b"", 155),  # prefix
            _field(b"", 12),
        )
    )
    checksum = b"%06o\0 " % sum(head)
    return head[:148] + checksum + head[156:]


def _pad(size: int) -> bytes:
    return _ZEROS[: -size % BLOCK]


def _pax_record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode() + b"=" + value + b"\n"
    length = len(body) + 1
    while len(b"%d" % length) + len(body) != length:
        length += 1
    return b"%d" % length + body


def _needs_pax(value: bytes) -> bool:
    return len(value) > _NAME_MAX or not value.isascii()


def _entry_header(entry: Entry) -> bytes:
    name = entry.key + (b"/" if entry.kind == "dir" else b"")
    link = entry.target.encode("utf-8")
    records = b""
    if _needs_pax(name):
        records += _pax_record("path", name)
        name = b"PaxHeader.path"  # a placeholder; readers take the path record
    if _needs_pax(link):
        records += _pax_record("linkpath", link)
        link = b"PaxHeader.linkpath"
    size = entry.size
    if size > _SIZE_MAX:
        records += _pax_record("size", b"%d" % size)
        size = 0
    head = _header(name, entry.mode, size, _TYPE[entry.kind], link)
    if not records:
        return head
    pax = _header(b"PaxHeader", 0o644, len(records), b"x", b"")
    return pax + records + _pad(len(records)) + head


def _copy(
    entry: Entry, sink: _Sink, buffers: tuple[memoryview, memoryview], helper: ThreadPoolExecutor
) -> FileSum:
    """Stream one regular file into ``sink`` and return the sha256 of its bytes (same pass).

    Each chunk is read once, into one of two buffers in turn; the layer's hash (``sink``,
    this thread) and the file's own hash (``helper``'s one thread, for chunks of at least
    ``PARALLEL_MIN`` bytes) consume that same buffer at the same time: hashlib drops the
    GIL while it hashes a large buffer, so the two sha256 run on two cores. The file's
    hash of chunk k is awaited before chunk k+1 is hashed into it, so its updates stay in
    order and chunk k's buffer is free before chunk k+2 is read into it.
    """
    own = hashlib.sha256()
    pending: Future[None] | None = None
    remaining = entry.size
    turn = 0
    try:
        with open(entry.path, "rb", buffering=0) as source:
            before = os.fstat(source.fileno())
            if before.st_size != entry.size or before.st_ino != entry.inode:
                raise ContentError(f"{entry.path}: changed while the folder was read; run again")
            try:
                while remaining:
                    view = buffers[turn]
                    turn ^= 1
                    count = source.readinto(view[: min(CHUNK, remaining)])
                    if not count:
                        raise ContentError(f"{entry.path}: shrank while it was read; run again")
                    chunk = view[:count]
                    if pending is not None:
                        pending.result()
                        pending = None
                    if count >= PARALLEL_MIN:
                        pending = helper.submit(own.update, chunk)
                    else:
                        own.update(chunk)
                    sink.write(chunk)
                    remaining -= count
            finally:
                if pending is not None:
                    pending.result()
            if source.read(1):
                raise ContentError(f"{entry.path}: grew while it was read; run again")
    except OSError as error:
        raise ContentError(f"{entry.path}: cannot read it: {error.strerror}") from error
    sink.write(_pad(entry.size))
    return FileSum(path=entry.name, sha256=own.hexdigest(), size=entry.size)


def write_layer(entries: Iterable[Entry], out: BinaryIO | None = None) -> Layer:
    """Stream the tar of ``entries`` (sorted, from ``walk.scan``) into ``out`` (or only hash it).

    The returned ``Layer`` carries the tar's digest and size and the sha256 of every
    regular file, all from the one read of each file.
    """
    sink = _Sink(out)
    buffers = (memoryview(bytearray(CHUNK)), memoryview(bytearray(CHUNK)))
    files: list[FileSum] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-sha256") as helper:
        for entry in entries:
            sink.write(_entry_header(entry))
            if entry.kind == "file":
                files.append(_copy(entry, sink, buffers, helper))
    sink.write(_ZEROS * 2)
    return Layer(digest="sha256:" + sink.hash.hexdigest(), size=sink.size, files=tuple(files))
