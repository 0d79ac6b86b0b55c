"""What create.sh and preflight.sh ask the real Docker Engine before kind create:
the daemon reachable and permitted, the node image present or pulled, its
platform against `docker info`'s, and the inotify limits read in a throwaway
container."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from real.docker_engine import DockerEngine
from real.prerequisites import require, require_tool
from real.run_script import run_script
from real.test_registry_container import free_port

pytestmark = pytest.mark.real_docker

PREFLIGHT = "components/cluster/preflight.sh"
CREATE = "components/cluster/create.sh"
KIND_VERSION = "0.32.0"


def preflight_environment(image: str, workers: int = 0) -> dict[str, str]:
    return {
        "IMAGEVOLUME_NODE_IMAGE": image,
        "IMAGEVOLUME_KIND_FOR_IMAGE": "",
        "IMAGEVOLUME_KIND_AT_LEAST": "",
        "IMAGEVOLUME_WORKERS": str(workers),
        "IMAGEVOLUME_PINNED_KIND": KIND_VERSION,
        "IMAGEVOLUME_PINNED_IMAGE": "kindest/node:v1.36.1",
        "KIND_EXPERIMENTAL_PROVIDER": "docker",
    }


@pytest.fixture
def kind() -> str:
    return require_tool("kind", "make real-tools builds it; put its folder on PATH")


def test_docker_info_reports_the_machine_name_the_preflight_maps(docker: DockerEngine) -> None:
    # moby daemon/info.go: the kernel's machine name (uname -m), not Go's arch.
    assert docker.out("info", "--format", "{{.Architecture}}") == platform.machine()


def test_a_locally_built_node_image_is_not_pulled(
    docker: DockerEngine, busybox_image: str, kind: str
) -> None:
    result = run_script(PREFLIGHT, docker, preflight_environment(busybox_image))
    assert result.returncode == 0, result.stderr
    assert f"notice: node image {busybox_image} comes from no kind release" in result.stderr
    assert "cannot pull" not in result.stderr


def test_a_missing_node_image_is_pulled_and_its_failure_named(docker: DockerEngine, kind: str) -> None:
    # From a loopback port where nothing listens: the pull fails without leaving the machine.
    absent = f"127.0.0.1:{free_port()}/{docker.name('absent')}:1"
    result = run_script(PREFLIGHT, docker, preflight_environment(absent))
    assert result.returncode == 1
    # The daemon's own error (no registry answers here, or the repository does not exist), then ours.
    assert "Error response from daemon" in result.stderr
    assert f"imagevolume: cannot pull node image {absent} (the error is above)" in result.stderr


OTHER_CPU = {"x86_64": "arm64", "aarch64": "amd64"}


def docker_archive(tag: str, architecture: str) -> bytes:
    """A one-layer image for `architecture` in `docker save`'s format (moby
    image/tarexport: manifest.json, the config, the layer), for `docker load`."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"ID=imagevolume-test\n"
        info = tarfile.TarInfo("etc/os-release")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive.getvalue()


# docker info's machine name, and another CPU's name as images carry it (Go's).
OTHER_CPU = {"x86_64": "arm64", "aarch64": "amd64"}
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def test_a_node_image_for_another_cpu_is_refused(docker: DockerEngine, kind: str) -> None:
    host = docker.out("info", "--format", "{{.Architecture}}")
    require(host in OTHER_CPU, f"a Docker host that is x86_64 or aarch64 (this one is {host})")
    other = OTHER_CPU[host]
    tag = docker.name("other-cpu") + ":1"
    docker.run_bytes_in("load", data=docker_archive(tag, other))
    docker.track("image", tag)
    assert docker.out("image", "inspect", "--format", "{{.Architecture}}", tag) == other
    result = run_script(PREFLIGHT, docker, preflight_environment(tag))
    assert result.returncode == 1
    expected = f"node image {tag} is built for {other} only, but the docker host is {GO_ARCH[host]}"
    assert expected in result.stderr


def test_inotify_limits_are_read_in_a_throwaway_container(
    docker: DockerEngine, busybox_image: str, kind: str
) -> None:
    before = docker.out("ps", "-a", "-q", "--filter", f"ancestor={busybox_image}").split()
    result = run_script(PREFLIGHT, docker, preflight_environment(busybox_image, workers=1))
    assert result.returncode == 0, result.stderr
    for key, want in (("max_user_watches", 524288), ("max_user_instances", 512)):
        # The engine's host is this machine: the container reads this kernel's value.
        have = int(Path(f"/proc/sys/fs/inotify/{key}").read_text())
        warning = (
            f"warning: fs.inotify.{key} is {have} on the docker host; kind's multi-node clusters need {want}"
        )
        assert (warning in result.stderr) == (have < want), result.stderr
    assert docker.out("ps", "-a", "-q", "--filter", f"ancestor={busybox_image}").split() == before


def create_environment(docker: DockerEngine) -> dict[str, str]:
    return {
        "IMAGEVOLUME_CLUSTER_NAME": docker.name("cluster"),
        "IMAGEVOLUME_NODE_IMAGE": "kindest/node:v1.36.1",
        "IMAGEVOLUME_FINGERPRINT": "f",
        "IMAGEVOLUME_OWNER": "id=ours\n",
        "IMAGEVOLUME_OWNER_FILE": "/kind/imagevolume-owner",
        "IMAGEVOLUME_READY_TIMEOUT": "5",
        "KIND_EXPERIMENTAL_PROVIDER": "docker",
        "IMAGEVOLUME_PREFLIGHT_SH": "exit 99",
    }


def test_create_names_a_daemon_that_is_down(docker: DockerEngine, kind: str, tmp_path: Path) -> None:
    require_tool("kubectl", "pip install -r requirements.txt puts it in the venv")
    environment = {**create_environment(docker), "DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    result = run_script(CREATE, docker, environment)
    assert result.returncode == 1
    assert "Cannot connect to the Docker daemon" in result.stderr
    assert "imagevolume: cannot reach the docker daemon (docker info fails)" in result.stderr


@pytest.fixture
def shared_bin() -> Iterator[Path]:
    """kind and kubectl copied where any user may run them (not under /root)."""
    folder = Path(tempfile.mkdtemp(prefix="imagevolume-bin-"))
    try:
        folder.chmod(0o755)
        for tool in ("kind", "kubectl", "docker"):
            found = require_tool(tool, "make real-tools; pip install -r requirements.txt")
            shutil.copy2(found, folder / tool)
            (folder / tool).chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder)


def test_create_names_a_socket_the_user_may_not_use(docker: DockerEngine, shared_bin: Path) -> None:
    require(os.geteuid() == 0, "root, to run the check as the user nobody")
    require_tool("setpriv", "apt-get install util-linux")
    socket_path = docker.host.removeprefix("unix://")
    require(docker.host.startswith("unix://"), "a Docker daemon on a unix socket")
    mode = os.stat(socket_path).st_mode & 0o777
    assert mode & 0o006 == 0, f"the socket {socket_path} is open to every user ({oct(mode)})"
    environment = {**create_environment(docker), "PATH": f"{shared_bin}:/usr/bin:/bin", "HOME": "/tmp"}
    result = run_script(
        CREATE,
        docker,
        environment,
        prefix=["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
    )
    assert result.returncode == 1
    assert "permission denied while trying to connect to the Docker daemon socket" in result.stderr
    assert "imagevolume: no permission to use the docker daemon (docker info fails)" in result.stderr
    assert "sudo usermod -aG docker $USER" in result.stderr
