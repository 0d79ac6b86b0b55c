"""Scan a folder into the sorted, validated list of entries its layer holds.

Only metadata is collected here (one ``lstat`` per entry); contents are read later,
one file at a time, by ``tarlayer``. Every refusal names the offending path.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from components.content.errors import ContentError

Kind = Literal["dir", "file", "symlink"]


@dataclass(frozen=True)
class Entry:
    """One entry of the folder: ``name`` is relative, NFC, '/'-separated, without a trailing '/'."""

    name: str
    kind: Kind
    path: Path  # where it is on disk (the name as the file system spells it)
    mode: int  # normalised permission bits: 0o755, 0o644, or 0o777 for symlinks
    size: int  # bytes of a regular file; 0 otherwise
    target: str  # a symlink's target (NFC); "" otherwise
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @property
    def key(self) -> bytes:
        """Sort key: the NFC UTF-8 name, bytewise."""
        return self.name.encode("utf-8")


def _check_name(part: str, where: Path) -> str:
    try:
        part.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ContentError(
            f"{str(where)!r}: the name is not valid UTF-8; only UTF-8 names can be stored"
        ) from error
    bad = [c for c in part if unicodedata.category(c) == "Cc"]
    if bad:
        raise ContentError(f"{str(where)!r}: the name contains the control character {bad[0]!r}; rename it")
    return unicodedata.normalize("NFC", part)


def _normal_mode(st_mode: int) -> int:
    if stat.S_ISDIR(st_mode):
        return 0o755
    return 0o755 if st_mode & 0o111 else 0o644


def _check_symlink(root_real: str, link: Path, name: str, target: str) -> None:
    if os.path.isabs(target):
        raise ContentError(f"{link}: symlink to the absolute path {target!r} points outside the folder")
    lexical = os.path.normpath(os.path.join(os.path.dirname(name), target))
    if lexical == ".." or lexical.startswith("../"):
        raise ContentError(f"{link}: symlink to {target!r} points outside the folder")
    resolved = os.path.realpath(link)
    if os.path.commonpath([root_real, resolved]) != root_real:
        raise ContentError(f"{link}: symlink to {target!r} resolves outside the folder, to {resolved}")


def scan(root: Path) -> list[Entry]:
    """The folder's entries, sorted bytewise on their NFC UTF-8 names, or ContentError."""
    if not root.is_dir():
        raise ContentError(f"{root}: not a directory")
    root_real = os.path.realpath(root)
    entries: list[Entry] = []
    pending: list[tuple[Path, str]] = [(Path(root_real), "")]
    while pending:
        directory, prefix = pending.pop()
        seen: dict[str, str] = {}
        try:
            with os.scandir(directory) as listing:
                children = list(listing)
        except OSError as error:
            raise ContentError(f"{directory}: cannot list the folder: {error.strerror}") from error
        for child in children:
            path = Path(child.path)
            part = _check_name(child.name, path)
            if part in seen:
                raise ContentError(
                    f"{path}: its name and {seen[part]!r} are the same in Unicode NFC; keep only one"
                )
            seen[part] = child.name
            name = prefix + part
            st = child.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                kind: Kind = "dir"
                pending.append((path, name + "/"))
            elif stat.S_ISREG(st.st_mode):
                kind = "file"
            elif stat.S_ISLNK(st.st_mode):
                kind = "symlink"
            else:
                what = (
                    "a fifo" if stat.S_ISFIFO(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a special file"
                )  # fmt: skip
                raise ContentError(f"{path}: is {what}; only files, folders and symlinks can be stored")
            target = ""
            if kind == "symlink":
                raw = os.readlink(path)
                target = _check_name(raw, path) if raw else raw
                if not target:
                    raise ContentError(f"{path}: symlink with an empty target")
                _check_symlink(root_real, path, name, target)
            entries.append(
                Entry(
                    name=name,
                    kind=kind,
                    path=path,
                    mode=0o777 if kind == "symlink" else _normal_mode(st.st_mode),
                    size=st.st_size if kind == "file" else 0,
                    target=target,
                    mtime_ns=st.st_mtime_ns,
                    ctime_ns=st.st_ctime_ns,
                    inode=st.st_ino,
                    device=st.st_dev,
                )
            )
    if not entries:
        raise ContentError(f"{root}: the folder is empty; an image needs at least one entry")
    entries.sort(key=lambda entry: entry.key)
    return entries
