"""components.content against real parts: Debian's docker-registry (CNCF distribution),
skopeo (containers/image, what CRI-O pulls with) and umoci (unpacks like a runtime).

Skipped with a reason when a tool is missing, except under CI=true, where that fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import unicodedata
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from golden import EXAMPLE_DIGEST, GOLDEN, make

from components.content import ContentError, digest
from components.content.oci import CONFIG_TYPE, INDEX_TYPE, LAYER_TYPE, MANIFEST_TYPE
from components.content.push import push

PROJECT = Path(__file__).resolve().parent.parent
TOOLS = ("docker-registry", "skopeo", "umoci")


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    why = f"{', '.join(missing)} not installed (apt-get install docker-registry skopeo umoci)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A docker-registry on a free loopback port, storing under a tmp dir; yields HOST:PORT."""
    _require_tools()
    base = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = base / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {base / 'store'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (base / "registry.log").open("wb")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"docker-registry did not start: {(base / 'registry.log').read_text()}"
                    ) from error
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def make_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (root / "bin/tool").chmod(0o750)
    (root / "data/deep").mkdir(parents=True)
    (root / "data/deep/weights.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # several chunks
    (root / "data/caf\u00e9 file.txt").write_text("unicode and a space\n")
    (root / "data/latest").symlink_to("deep/weights.bin")
    (root / "empty").mkdir()
    (root / "zero").write_bytes(b"")
    os.link(root / "zero", root / "zero-hardlink")
    return root


def tree_of(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """name -> (kind, permission bits, content or link target)."""
    found: dict[str, tuple[str, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("symlink", 0, os.readlink(path).encode())
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", stat.S_IMODE(info.st_mode), b"")
        else:
            found[name] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return found


def run(*command: str) -> bytes:
    result = subprocess.run(command, capture_output=True, check=False, timeout=120)
    assert result.returncode == 0, f"{command}: {result.stderr.decode(errors='replace')}"
    return result.stdout


def test_push_read_back_and_unpack(registry: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "folder")
    reference = push(root, f"{registry}/team/content", chunk_size=1 << 20)
    expected = digest(root, None)
    assert reference == f"{registry}/team/content@{expected}"

    raw = run("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reference}")
    assert raw.decode().startswith("{")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == expected, "registry holds our bytes"
    index = json.loads(raw)
    assert index["mediaType"] == INDEX_TYPE
    assert "artifactType" not in index
    assert [entry["platform"] for entry in index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    layers = set()
    for entry, architecture in zip(index["manifests"], ("amd64", "arm64"), strict=True):
        assert entry["mediaType"] == MANIFEST_TYPE
        manifest = json.loads(
            run(
                "skopeo",
                "inspect",
                "--raw",
                "--tls-verify=false",
                f"docker://{registry}/team/content@{entry['digest']}",
            )
        )
        assert "artifactType" not in manifest and "annotations" not in manifest
        assert manifest["config"]["mediaType"] == CONFIG_TYPE
        assert [layer["mediaType"] for layer in manifest["layers"]] == [LAYER_TYPE]
        layers.add(manifest["layers"][0]["digest"])
        config = json.loads(
            run(
                "skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                "--override-arch", architecture, f"docker://{reference}",
            )
        )  # fmt: skip
        assert config == {
            "architecture": architecture,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [manifest["layers"][0]["digest"]]},
        }
    assert len(layers) == 1, "both manifests share the one layer"

    want = tree_of(root)
    want["bin/tool"] = ("file", 0o755, want["bin/tool"][2])
    for name, (kind, _mode, _content) in want.items():
        if kind == "file" and name != "bin/tool":
            want[name] = ("file", 0o644, want[name][2])
        elif kind == "dir":
            want[name] = ("dir", 0o755, b"")
    for architecture in ("amd64", "arm64"):
        layout = tmp_path / f"oci-{architecture}"
        run(
            "skopeo", "copy", "--src-tls-verify=false", "--override-arch", architecture,
            f"docker://{reference}", f"oci:{layout}:{architecture}",
        )  # fmt: skip
        bundle = tmp_path / f"bundle-{architecture}"
        run("umoci", "raw", "unpack", "--rootless", "--image", f"{layout}:{architecture}", str(bundle))
        assert tree_of(bundle) == want


def test_push_twice_is_idempotent_and_digest_matches_cli(registry: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "folder")
    first = push(root, f"{registry}/again")
    assert push(root, f"{registry}/again") == first
    printed = subprocess.run(
        [sys.executable, "-m", "components.content", "digest", str(root), "--no-cache"],
        capture_output=True, text=True, check=True, cwd=PROJECT,
    ).stdout.strip()  # fmt: skip
    pushed = subprocess.run(
        [sys.executable, "-m", "components.content", "push", str(root), f"{registry}/cli"],
        capture_output=True, text=True, check=True, cwd=PROJECT,
    ).stdout.strip()  # fmt: skip
    assert first == f"{registry}/again@{printed}"
    assert pushed == f"{registry}/cli@{printed}"
    with urllib.request.urlopen(
        urllib.request.Request(
            f"http://{registry}/v2/cli/manifests/{printed}", method="HEAD",
            headers={"Accept": INDEX_TYPE},
        )
    ) as response:  # fmt: skip
        assert response.headers["Docker-Content-Digest"] == printed


def test_refused_folder_pushes_nothing(registry: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContentError, match="empty"):
        push(tmp_path / "empty", f"{registry}/nothing")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_folder_unpacks_to_its_bytes(registry: str, tmp_path: Path, name: str) -> None:
    """golden.py's verification: pushed, copied out by skopeo (digests checked),
    unpacked by umoci, compared byte for byte; the pushed digest is the literal."""
    root = make(name, tmp_path / "folder")
    reference = push(root, f"{registry}/golden/{name.replace('_', '-')}")
    assert reference.rpartition("@")[2] == GOLDEN[name][1]
    layout = tmp_path / "oci"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{reference}", f"oci:{layout}:g")
    bundle = tmp_path / "bundle"
    run("umoci", "raw", "unpack", "--rootless", "--image", f"{layout}:g", str(bundle))
    unpacked = {name: (kind, content) for name, (kind, _mode, content) in tree_of(bundle).items()}
    assert unpacked == {name: (kind, content) for name, (kind, _mode, content) in tree_of(root).items()}


def test_the_example_unpacks_to_its_bytes(registry: str, tmp_path: Path) -> None:
    example = PROJECT / "examples" / "content"
    reference = push(example, f"{registry}/golden/example")
    assert reference.rpartition("@")[2] == EXAMPLE_DIGEST
    layout = tmp_path / "oci"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{reference}", f"oci:{layout}:g")
    bundle = tmp_path / "bundle"
    run("umoci", "raw", "unpack", "--rootless", "--image", f"{layout}:g", str(bundle))
    unpacked = {name: (kind, content) for name, (kind, _mode, content) in tree_of(bundle).items()}
    want = {name: (kind, content) for name, (kind, _mode, content) in tree_of(example).items()}
    assert unpacked == {unicodedata.normalize("NFC", name): value for name, value in want.items()}
