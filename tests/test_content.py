"""components.content without network: reproducibility, names, modes, symlinks, refusals, cache,
per-file sums."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tarfile
import threading
import time
import types
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from components.content import (
    Content,
    ContentError,
    FileSum,
    build,
    cache,
    describe,
    digest,
    parse_target,
    tarlayer,
)
from components.content.__main__ import main
from components.content.oci import CONFIG_TYPE, INDEX_TYPE, LAYER_TYPE, MANIFEST_TYPE, Image
from components.content.push import push
from components.content.walk import Entry, scan


def make_tree(root: Path, order: list[str] | None = None) -> Path:
    files = {
        "a.txt": b"alpha\n",
        "bin/run.sh": b"#!/bin/sh\necho run\n",
        "data/b.bin": bytes(range(256)),
        "data/nested/c": b"",
        "with space.txt": b"space\n",
    }
    root.mkdir(parents=True, exist_ok=True)
    for name in order or sorted(files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    (root / "bin/run.sh").chmod(0o700)
    (root / "empty").mkdir(exist_ok=True)
    (root / "data/link").symlink_to("b.bin")
    return root


def layer_of(root: Path) -> tuple[bytes, object]:
    out = io.BytesIO()
    image = build(root, out)
    return out.getvalue(), image


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_same_folder_other_mtimes_and_creation_order_same_digest(tmp_path: Path) -> None:
    first = make_tree(tmp_path / "one")
    second = make_tree(
        tmp_path / "two", order=["with space.txt", "data/nested/c", "a.txt", "data/b.bin", "bin/run.sh"]
    )
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
    (second / "a.txt").chmod(0o600)  # no exec bit: normalised to 0644 as well
    assert digest(first, None) == digest(second, None)
    assert digest(first, None).startswith("sha256:") and len(digest(first, None)) == 71


def test_one_changed_byte_gives_a_new_digest(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    before = digest(root, None)
    (root / "data/b.bin").write_bytes(bytes(range(255)) + b"\x00")
    assert digest(root, None) != before


def test_layer_is_a_fixed_tar(tmp_path: Path) -> None:
    data, _ = layer_of(make_tree(tmp_path / "t"))
    found = members(data)
    assert list(found) == sorted(found, key=lambda name: name.encode())
    assert set(found) == {
        "a.txt", "bin", "bin/run.sh", "data", "data/b.bin", "data/link", "data/nested",
        "data/nested/c", "empty", "with space.txt",
    }  # fmt: skip
    for member in found.values():
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
        assert member.pax_headers == {}
    assert found["bin/run.sh"].mode == 0o755
    assert found["a.txt"].mode == 0o644
    assert found["data"].isdir() and found["data"].mode == 0o755
    assert found["data/link"].issym() and found["data/link"].linkname == "b.bin"
    assert data[257:263] == b"ustar\0"
    assert data.endswith(bytes(1024)) and len(data) % 512 == 0


def test_image_documents(tmp_path: Path) -> None:
    data, image = layer_of(make_tree(tmp_path / "t"))
    assert isinstance(image, Image)
    assert image.layer.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    index = json.loads(image.index.data)
    assert image.index.data == json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    assert index["mediaType"] == INDEX_TYPE and index["schemaVersion"] == 2
    assert [m["platform"] for m in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    for entry, manifest_blob, config_blob, arch in zip(
        index["manifests"], image.manifests, image.configs, ("amd64", "arm64"), strict=True
    ):
        assert entry["digest"] == manifest_blob.digest and entry["size"] == len(manifest_blob.data)
        manifest = json.loads(manifest_blob.data)
        assert set(manifest) == {"schemaVersion", "mediaType", "config", "layers"}
        assert manifest["mediaType"] == MANIFEST_TYPE
        assert manifest["config"] == {
            "mediaType": CONFIG_TYPE,
            "digest": config_blob.digest,
            "size": len(config_blob.data),
        }
        assert manifest["layers"] == [
            {"mediaType": LAYER_TYPE, "digest": image.layer.digest, "size": len(data)}
        ]
        rootfs = {"type": "layers", "diff_ids": [image.layer.digest]}
        assert json.loads(config_blob.data) == {"architecture": arch, "os": "linux", "rootfs": rootfs}
    assert b"artifactType" not in image.index.data + b"".join(m.data for m in image.manifests)
    assert b"annotations" not in image.index.data + b"".join(m.data for m in image.manifests)


def test_nfd_and_nfc_names_give_the_same_image(tmp_path: Path) -> None:
    name = "caf\u00e9 \u00fcber.txt"
    nfc, nfd = tmp_path / "nfc", tmp_path / "nfd"
    nfc.mkdir()
    nfd.mkdir()
    (nfc / unicodedata.normalize("NFC", name)).write_text("x")
    (nfd / unicodedata.normalize("NFD", name)).write_text("x")
    assert digest(nfc, None) == digest(nfd, None)
    data, _ = layer_of(nfd)
    found = members(data)
    assert list(found) == [unicodedata.normalize("NFC", name)]
    assert found[name].pax_headers == {"path": name}  # PAX only because the name needs it


def test_long_name_uses_pax_path(tmp_path: Path) -> None:
    (tmp_path / ("d" * 90)).mkdir()
    (tmp_path / ("d" * 90) / ("f" * 30)).write_text("x")
    found = members(layer_of(tmp_path)[0])
    assert set(found) == {"d" * 90, "d" * 90 + "/" + "f" * 30}


def test_nfc_collision_refused(tmp_path: Path) -> None:
    (tmp_path / "\u00e9").write_text("1")
    (tmp_path / "e\u0301").write_text("2")
    with pytest.raises(ContentError, match="same in Unicode NFC"):
        digest(tmp_path, None)


def test_hard_links_are_regular_files(tmp_path: Path) -> None:
    (tmp_path / "one").write_text("same")
    os.link(tmp_path / "one", tmp_path / "two")
    found = members(layer_of(tmp_path)[0])
    assert found["two"].isfile() and found["two"].size == 4


def test_symlinks_inside_kept(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_text("f")
    (tmp_path / "to-dir").symlink_to("d")
    (tmp_path / "d/up").symlink_to("../d/f")
    (tmp_path / "dangling").symlink_to("not-there")
    found = members(layer_of(tmp_path)[0])
    assert found["to-dir"].linkname == "d"
    assert found["d/up"].linkname == "../d/f"
    assert found["dangling"].linkname == "not-there"


@pytest.mark.parametrize(
    ("target", "why"),
    [("/etc/passwd", "absolute path"), ("../outside", "points outside"), ("esc/../..", "outside")],
)
def test_symlinks_outside_refused(tmp_path: Path, target: str, why: str) -> None:
    root = tmp_path / "root"
    (root / "esc").mkdir(parents=True)
    (root / "link").symlink_to(target)
    with pytest.raises(ContentError, match=why) as caught:
        digest(root, None)
    assert str(root / "link") in str(caught.value)


def test_symlink_resolving_outside_through_another_link_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "a").symlink_to(tmp_path / "outside")  # refused itself: absolute
    with pytest.raises(ContentError, match="absolute"):
        digest(root, None)
    (root / "a").unlink()
    (root / "sub").mkdir()
    (root / "sub" / "b").symlink_to("../../outside")
    with pytest.raises(ContentError, match="outside the folder"):
        digest(root, None)


def test_fifo_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ContentError, match="fifo") as caught:
        digest(tmp_path, None)
    assert "pipe" in str(caught.value)


def test_socket_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    path = tmp_path / "s"
    try:
        server.bind(str(path))
        with pytest.raises(ContentError, match="socket"):
            digest(tmp_path, None)
    finally:
        server.close()


def test_device_refused(tmp_path: Path) -> None:
    if not hasattr(os, "mknod") or os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    os.mknod(tmp_path / "null", 0o600 | 0o020000, os.makedev(1, 3))
    with pytest.raises(ContentError, match="device"):
        digest(tmp_path, None)


@pytest.mark.parametrize("name", ["tab\there", "new\nline", "bell\x07", "del\x7f", "c1\x85"])
def test_control_characters_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x")
    with pytest.raises(ContentError, match="control character"):
        digest(tmp_path, None)


def test_invalid_utf8_refused(tmp_path: Path) -> None:
    (Path(os.fsencode(tmp_path)) if False else tmp_path)
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff"), "w") as out:
        out.write("x")
    with pytest.raises(ContentError, match="not valid UTF-8"):
        digest(tmp_path, None)


def test_empty_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="empty") as caught:
        digest(tmp_path, None)
    assert str(tmp_path) in str(caught.value)


def test_not_a_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="not a directory"):
        digest(tmp_path / "missing", None)


def test_cache_hit_and_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "t")
    cache_dir = tmp_path / "cache"
    past = time.time() - 100
    for path in root.rglob("*"):
        os.utime(path, (past, past), follow_symlinks=False)
    time.sleep(0.05)  # ctime (set by utime just now) must be older than the stamp
    reads: list[int] = []
    real = tarlayer.write_layer

    def counting(*args: object, **kwargs: object) -> object:
        reads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("components.content.builder.write_layer", counting)
    first = digest(root, cache_dir)
    assert len(reads) == 1 and len(list(cache_dir.glob("*.json"))) == 1
    assert digest(root, cache_dir) == first
    assert len(reads) == 1, "an unchanged folder is a hit"
    (root / "a.txt").write_bytes(b"alphA\n")  # same size; new mtime
    # As new as any stamp the next builds take: racy whatever the clock and the load.
    future = time.time_ns() + 10**12
    os.utime(root / "a.txt", ns=(future, future))
    changed = digest(root, cache_dir)
    assert changed != first and len(reads) == 2
    assert digest(root, cache_dir) == changed
    assert len(reads) == 3, "an entry as new as the cache stamp is hashed again (racy)"
    assert digest(root, None) == changed


def test_cache_racy_entry_is_a_miss(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    settle(root)
    files = describe(root, None).files
    writer = cache.Writer(tmp_path / "c", root)
    entries = scan(root)
    writer.commit(entries, "sha256:" + "0" * 64, files)
    assert cache.lookup(tmp_path / "c", root, entries) == ("sha256:" + "0" * 64, files)  # all older
    writer = cache.Writer(tmp_path / "c", root)
    os.utime(root / "a.txt", ns=(writer.stamp_ns, writer.stamp_ns))  # as new as the stamp
    entries = scan(root)
    writer.commit(entries, "sha256:" + "0" * 64, files)
    assert cache.lookup(tmp_path / "c", root, entries) is None  # racily clean: a miss
    (tmp_path / "c" / "junk").write_text("x")
    for record in (tmp_path / "c").glob("*.json"):
        record.write_text("{not json")
    assert cache.lookup(tmp_path / "c", root, entries) is None


def make_sum_tree(root: Path) -> dict[str, bytes]:
    """A folder with a hard link, names with a space and non-ASCII (NFD on disk), an empty
    file, a file over several read chunks, a symlink and an empty folder; returns every
    regular file's bytes by its name in the layer."""
    nfc = "sub/caf\u00e9 \u00fcber.txt"
    files = {
        "a.txt": b"alpha\n",
        "with space.txt": b"space\n",
        "empty": b"",
        "sub/big.bin": os.urandom(3 * tarlayer.CHUNK + 17),
        nfc: "unicode \u00fc\n".encode(),
    }
    for name, data in files.items():
        path = root / unicodedata.normalize("NFD", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.link(root / "a.txt", root / "sub/hard")
    files["sub/hard"] = files["a.txt"]
    (root / "link").symlink_to("a.txt")
    (root / "sub/to-big").symlink_to("big.bin")
    (root / "folder").mkdir()
    return files


def expected_sums(files: dict[str, bytes]) -> tuple[FileSum, ...]:
    return tuple(
        FileSum(path=name, sha256=hashlib.sha256(files[name]).hexdigest(), size=len(files[name]))
        for name in sorted(files, key=lambda name: name.encode())
    )


def settle(root: Path) -> None:
    """Entries older than any cache stamp taken from now on (not racily clean)."""
    past = time.time() - 100
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)
    time.sleep(0.05)


def test_describe_gives_each_regular_files_sha256(tmp_path: Path) -> None:
    root = tmp_path / "t"
    files = make_sum_tree(root)
    content = describe(root, None)
    assert isinstance(content, Content)
    assert content.files == expected_sums(files)  # no folder, no symlink; hard link included
    assert content.digest == digest(root, None)
    assert all(len(file.sha256) == 64 and file.sha256 == file.sha256.lower() for file in content.files)


def test_sums_name_the_layers_regular_files_in_layer_order(tmp_path: Path) -> None:
    root = tmp_path / "t"
    make_sum_tree(root)
    data, image = layer_of(root)
    assert isinstance(image, Image)
    assert image.layer.files == describe(root, None).files
    in_layer = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                body = extracted.read()
                in_layer.append(FileSum(member.name, hashlib.sha256(body).hexdigest(), len(body)))
    assert tuple(in_layer) == image.layer.files
    assert "sub/hard" in {file.path for file in in_layer}  # stored as a regular file


def test_sums_stay_right_when_the_file_hash_lags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file's hash runs on a helper thread while the next chunk is read: slow it down,
    so a buffer reused too early or updates out of order would give a wrong sum."""
    root = tmp_path / "t"
    files = make_sum_tree(root)
    # Last chunks of exactly PARALLEL_MIN (hashed on the helper) and one byte less (inline).
    for name, size in (("sub/big2.bin", tarlayer.PARALLEL_MIN), ("sub/big3.bin", tarlayer.PARALLEL_MIN - 1)):
        files[name] = os.urandom(tarlayer.CHUNK + size)
        (root / name).write_bytes(files[name])
    expected = expected_sums(files)
    caller = threading.get_ident()
    real = hashlib.sha256

    class Lagging:
        def __init__(self) -> None:
            self.inner = real()

        def update(self, data: bytes | memoryview) -> None:
            if threading.get_ident() != caller:
                time.sleep(0.02)
            self.inner.update(data)

        def hexdigest(self) -> str:
            return self.inner.hexdigest()

    monkeypatch.setattr(tarlayer, "hashlib", types.SimpleNamespace(sha256=Lagging))
    assert describe(root, None).files == expected


def test_cache_hit_returns_the_sums_without_reading_any_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "t"
    files = make_sum_tree(root)
    settle(root)
    cache_dir = tmp_path / "cache"
    first = describe(root, cache_dir)
    assert first.files == expected_sums(files)

    def no_read(entry: object, *args: object) -> object:
        raise AssertionError(f"read {entry} although the folder is unchanged")

    monkeypatch.setattr(tarlayer, "_copy", no_read)  # the only place file contents are read
    assert describe(root, cache_dir) == first
    assert digest(root, cache_dir) == first.digest
    # The sums come from the cache file itself: an edited (well-formed) sum is returned as is.
    (record_path,) = cache_dir.glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["files"] == [[f.path, f.sha256, f.size] for f in first.files]
    record["files"][0][1] = "f" * 64
    record_path.write_text(json.dumps(record))
    assert describe(root, cache_dir).files[0].sha256 == "f" * 64


def counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = tarlayer._copy

    def counting(entry: Entry, *rest: Any) -> FileSum:
        reads.append(entry.name)
        return real(entry, *rest)

    monkeypatch.setattr(tarlayer, "_copy", counting)
    return reads


@pytest.mark.parametrize("old", ["version 1 record", "current record, version 1"])
def test_old_version_cache_file_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    root = tmp_path / "t"
    files = make_sum_tree(root)
    settle(root)
    cache_dir = tmp_path / "cache"
    built = describe(root, cache_dir)
    (record_path,) = cache_dir.glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["version"] == cache.VERSION != "components.content/1"
    record["version"] = "components.content/1"
    if old == "version 1 record":
        del record["files"]  # exactly what version 1 wrote
    record_path.write_text(json.dumps(record))
    reads = counting_reads(monkeypatch)
    assert describe(root, cache_dir) == built
    assert sorted(reads) == sorted(files), "an old cache file is a miss: every file is read again"
    assert json.loads(record_path.read_text())["version"] == cache.VERSION  # rewritten
    reads.clear()
    assert describe(root, cache_dir) == built and reads == []


@pytest.mark.parametrize(
    "damage",
    [
        "upper-case hex",
        "short hex",
        "other size",
        "size as bool",
        "other path",
        "row missing",
        "row extra",
        "not a list",
    ],
)
def test_cache_with_bad_sums_is_a_miss(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    (root / "one").write_bytes(b"1")
    (root / "d" / "two").write_bytes(b"2")
    settle(root)
    entries = scan(root)
    content = describe(root, None)
    writer = cache.Writer(tmp_path / "c", root)
    writer.commit(entries, content.digest, content.files)
    assert cache.lookup(tmp_path / "c", root, entries) == (content.digest, content.files)
    (record_path,) = (tmp_path / "c").glob("*.json")
    record = json.loads(record_path.read_text())
    rows = record["files"]
    if damage == "upper-case hex":
        rows[0][1] = rows[0][1].upper()
    elif damage == "short hex":
        rows[0][1] = rows[0][1][:-1]
    elif damage == "other size":
        rows[0][2] += 1
    elif damage == "size as bool":
        rows[0][2] = True
    elif damage == "other path":
        rows[0][0] = "d/other"
    elif damage == "row missing":
        del rows[0]
    elif damage == "row extra":
        rows.append(list(rows[0]))
    else:
        record["files"] = {"d/two": rows[0][1]}
    record_path.write_text(json.dumps(record))
    assert cache.lookup(tmp_path / "c", root, entries) is None


def test_one_changed_byte_changes_that_files_sum_and_the_digest(tmp_path: Path) -> None:
    root = tmp_path / "t"
    files = make_sum_tree(root)
    settle(root)
    cache_dir = tmp_path / "cache"
    before = describe(root, cache_dir)
    big = bytearray(files["sub/big.bin"])
    big[tarlayer.CHUNK + 5] ^= 1  # in the second read chunk; same size
    (root / "sub/big.bin").write_bytes(big)
    files["sub/big.bin"] = bytes(big)
    after = describe(root, cache_dir)
    assert after.files == expected_sums(files)
    changed = [old.path for old, new in zip(before.files, after.files, strict=True) if old != new]
    assert changed == ["sub/big.bin"]
    assert after.digest != before.digest
    assert after == describe(root, None)


def test_cli_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_tree(tmp_path / "t")
    assert main(["digest", str(root), "--cache", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.strip() == digest(root, None)
    assert main(["digest", str(root), "--no-cache"]) == 0
    assert main(["digest", str(tmp_path / "nothing"), "--no-cache"]) == 1
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1:5000/r", "localhost/a/b", "127.8.9.10/x-y.z", "[::1]:5000/r", "[::1]/r", "LOCALHOST:1/r"],
)
def test_loopback_targets(target: str) -> None:
    assert str(parse_target(target)) == target


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("bad_host/r", "not HOST"),
        ("-x.example/r", "not HOST"),
        ("127.0.0.1:5000", "expected HOST"),
        ("127.0.0.1:5000/Upper", "not a repository name"),
        ("127.0.0.1:5000/r:tag", "not a repository name"),
        ("127.0.0.1:99999/r", "not HOST"),
        ("[::1/r", "not HOST"),
    ],
)
def test_refused_targets(target: str, why: str) -> None:
    with pytest.raises(ContentError, match=why):
        parse_target(target)


def test_cli_push_refuses_a_target_that_is_no_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "t")
    assert main(["push", str(root), "bad_host/r"]) == 1
    assert "is not HOST" in capsys.readouterr().err


def test_push_to_nothing_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A loopback registry is given STARTING_SECONDS to listen (a container just started).
    monkeypatch.setattr("components.content.push.STARTING_SECONDS", 0.5)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(
        ContentError,
        match=rf"no registry answers at 127\.0\.0\.1:{port}: connection refused \(tried for 0\.5 s\)",
    ):
        push(make_tree(tmp_path / "t"), f"127.0.0.1:{port}/r")
    assert time.monotonic() - started >= 0.5
