"""A source volume's push into the stack's registry container on a real Docker
Engine, and the daemon's own pull of what was pushed."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import unicodedata
from pathlib import Path

import pytest
from real import images
from real.docker_engine import DockerEngine
from real.run_script import PROJECT, run_script
from real.test_registry_container import RUN, environment, free_port

from components.content import describe
from components.content.push import push

pytestmark = pytest.mark.real_docker

EXAMPLE = PROJECT / "examples" / "content"


def start_registry(docker: DockerEngine, image: str) -> int:
    port = free_port()
    result = run_script(RUN, docker, environment(docker, image, "ours", port))
    assert result.returncode == 0, result.stderr
    docker.track("container", result.stdout.strip())
    return port


def test_a_push_right_after_run_waits_for_a_registry_slow_to_listen(
    docker: DockerEngine, tmp_path: Path
) -> None:
    # docker run -d returns when the process starts; the published port accepts
    # connections (docker-proxy) and resets them until the registry listens.
    slow = images.build(docker, images.SLOW_REGISTRY)
    port = start_registry(docker, slow)
    reference = push(EXAMPLE, f"127.0.0.1:{port}/content")
    assert reference == f"127.0.0.1:{port}/content@{describe(EXAMPLE, tmp_path).digest}"


def regular_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def exported_files(docker: DockerEngine, image: str) -> dict[str, bytes]:
    """The regular files of `image`'s filesystem, as `docker export` of a created container gives them."""
    container = docker.track("container", docker.out("create", "--label", docker.label, image, "none"))
    archive = docker.run_bytes("export", container)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[member.name] = extracted.read()
    # What the daemon adds to every container's filesystem (moby daemon/initlayer).
    for added in (".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf"):
        assert files.pop(added, b"") == b""
    return files


def test_the_daemon_pulls_the_pushed_index_and_its_files_equal_the_folder(
    docker: DockerEngine, registry_image: str, tmp_path: Path
) -> None:
    content = describe(EXAMPLE, tmp_path)
    port = start_registry(docker, registry_image)
    reference = push(EXAMPLE, f"127.0.0.1:{port}/content")
    pulled = docker.run("pull", reference)
    assert pulled.returncode == 0, pulled.stderr
    docker.track("image", reference)
    inspected = json.loads(docker.out("image", "inspect", reference))[0]
    assert f"127.0.0.1:{port}/content@{content.digest}" in inspected["RepoDigests"]
    files = exported_files(docker, reference)
    expected = regular_files(EXAMPLE)
    assert files == expected
    # The per-file proof the pod checks (components/checks/content.sh) holds for these bytes.
    sums = {file.path: file.sha256 for file in content.files}
    assert sums == {
        unicodedata.normalize("NFC", name): hashlib.sha256(data).hexdigest() for name, data in files.items()
    }
