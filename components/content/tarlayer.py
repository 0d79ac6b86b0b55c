"""Write the folder's entries as one reproducible, uncompressed tar stream, hashing as it goes.

The flavour is fixed: POSIX ustar headers (magic ``ustar\\0``, version ``00``), mtime 0,
uid/gid 0, empty uname/gname, devmajor/devminor 0, no prefix field. A PAX extended
header (type ``x``, named ``PaxHeader``) precedes an entry only when its name or symlink
target is not ASCII or longer than 100 bytes (``path``/``linkpath`` records) or a file is
8 GiB or more (``size`` record); it never holds time records. The stream ends with two
zero blocks. One pass over the files, a fixed-size buffer: memory does not grow with
the folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from components.content.errors import ContentError
from components.content.walk import Entry

BLOCK = 512
CHUNK = 1 << 20
_ZEROS = bytes(BLOCK)
_TYPE = {"file": b"0", "symlink": b"2", "dir": b"5"}
_NAME_MAX = 100
_SIZE_MAX = 8**11 - 1


@dataclass(frozen=True)
class Layer:
    digest: str  # "sha256:<hex>" of the uncompressed tar (its diff_id too)
    size: int


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


def _copy(entry: Entry, sink: _Sink, buffer: bytearray) -> None:
    view = memoryview(buffer)
    remaining = entry.size
    try:
        with open(entry.path, "rb", buffering=0) as source:
            before = os.fstat(source.fileno())
            if before.st_size != entry.size or before.st_ino != entry.inode:
                raise ContentError(f"{entry.path}: changed while the folder was read; run again")
            while remaining:
                count = source.readinto(view[: min(CHUNK, remaining)])
                if not count:
                    raise ContentError(f"{entry.path}: shrank while it was read; run again")
                sink.write(view[:count])
                remaining -= count
            if source.read(1):
                raise ContentError(f"{entry.path}: grew while it was read; run again")
    except OSError as error:
        raise ContentError(f"{entry.path}: cannot read it: {error.strerror}") from error
    sink.write(_pad(entry.size))


def write_layer(entries: Iterable[Entry], out: BinaryIO | None = None) -> Layer:
    """Stream the tar of ``entries`` (sorted, from ``walk.scan``) into ``out`` (or only hash it)."""
    sink = _Sink(out)
    buffer = bytearray(CHUNK)
    for entry in entries:
        sink.write(_entry_header(entry))
        if entry.kind == "file":
            _copy(entry, sink, buffer)
    sink.write(_ZEROS * 2)
    return Layer(digest="sha256:" + sink.hash.hexdigest(), size=sink.size)
