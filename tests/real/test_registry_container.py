"""The stack's registry container (components/registry/*.sh) on a real Docker Engine:
start, adopt, refuse, ports, a daemon restart, removal, the kind network."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests
from real.docker_engine import DockerEngine
from real.prerequisites import require, require_tool
from real.run_script import run_script

from components.registry.component import registry_environment
from components.settings import parse_settings
from components.settings.model import KindClusterSettings

pytestmark = pytest.mark.real_docker

LABEL = "io.imagevolume.owner"
RUN = "components/registry/run.sh"
DELETE = "components/registry/delete.sh"
CONNECT = "components/registry/connect.sh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(
    docker: DockerEngine, image: str, owner: str, port: int, what: str = "registry"
) -> dict[str, str]:
    return {
        "IMAGEVOLUME_REGISTRY_NAME": docker.name(what),
        "IMAGEVOLUME_REGISTRY_PORT": str(port),
        "IMAGEVOLUME_REGISTRY_IMAGE": image,
        "IMAGEVOLUME_OWNER": f"id={owner}\nstack=test\n",
        "IMAGEVOLUME_OWNER_LABEL": LABEL,
        "KIND_EXPERIMENTAL_PROVIDER": "docker",
    }


def wait_for_v2(port: int, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code
        except requests.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def inspect(docker: DockerEngine, ref: str) -> dict:  # type: ignore[type-arg]
    document = json.loads(docker.out("inspect", "--type", "container", ref))[0]
    assert isinstance(document, dict)
    return document


@pytest.fixture
def started(docker: DockerEngine, registry_image: str) -> Iterator[tuple[dict[str, str], str]]:
    """run.sh's registry for owner `ours`: (its environment, its id)."""
    env = environment(docker, registry_image, "ours", free_port())
    result = run_script(RUN, docker, env)
    assert result.returncode == 0, result.stderr
    container_id = docker.track("container", result.stdout.strip())
    yield env, container_id


def test_run_starts_the_registry_on_its_loopback_port(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    document = inspect(docker, container_id)
    assert document["Name"] == "/" + env["IMAGEVOLUME_REGISTRY_NAME"]
    assert document["State"]["Running"] is True
    assert document["Config"]["Labels"][LABEL] == "ours"
    assert document["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert document["HostConfig"]["PortBindings"] == {
        "5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": env["IMAGEVOLUME_REGISTRY_PORT"]}]
    }
    assert wait_for_v2(int(env["IMAGEVOLUME_REGISTRY_PORT"])) == 200


def test_a_second_run_adopts_the_same_container(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    again = run_script(RUN, docker, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == container_id


def test_a_stopped_registry_of_ours_is_started_again(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    docker.run("stop", "-t", "1", container_id)
    again = run_script(RUN, docker, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == container_id
    assert inspect(docker, container_id)["State"]["Running"] is True


def test_a_container_of_that_name_made_by_another_stack_is_refused_and_left(
    docker: DockerEngine, started: tuple[dict[str, str], str], registry_image: str
) -> None:
    env, container_id = started
    theirs = {**env, "IMAGEVOLUME_OWNER": "id=theirs\n", "IMAGEVOLUME_REGISTRY_PORT": str(free_port())}
    refused = run_script(RUN, docker, theirs)
    assert refused.returncode == 1
    assert (
        f"a container named {env['IMAGEVOLUME_REGISTRY_NAME']} exists and this stack did not make it"
        in refused.stderr
    )
    assert "its io.imagevolume.owner label is 'ours'" in refused.stderr
    assert inspect(docker, container_id)["State"]["Running"] is True


def assert_port_taken(
    docker: DockerEngine, result: subprocess.CompletedProcess[str], env: dict[str, str]
) -> None:
    assert result.returncode == 1
    stderr = result.stderr
    port = env["IMAGEVOLUME_REGISTRY_PORT"]
    assert f"imagevolume:registryPort {port} is taken on 127.0.0.1" in stderr
    assert "pulumi config set imagevolume:registryPort <port>" in stderr
    # docker run leaves the container it created when the start fails; run.sh removes it.
    assert not docker.exists("container", env["IMAGEVOLUME_REGISTRY_NAME"])


def test_a_port_published_by_another_container_is_named(
    docker: DockerEngine, busybox_image: str, registry_image: str
) -> None:
    port = free_port()
    docker.container("-p", f"127.0.0.1:{port}:80", "--init", busybox_image, "sleep", "600")
    env = environment(docker, registry_image, "ours", port)
    assert_port_taken(docker, run_script(RUN, docker, env), env)


def test_a_port_taken_by_a_plain_listener_is_named(docker: DockerEngine, registry_image: str) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = environment(docker, registry_image, "ours", port)
        assert_port_taken(docker, run_script(RUN, docker, env), env)


def test_the_daemon_restarted_brings_the_registry_back_with_its_data(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    require(docker.own is not None, "a dockerd the tier started (it never restarts the user's daemon)")
    assert docker.own is not None
    env, container_id = started
    port = int(env["IMAGEVOLUME_REGISTRY_PORT"])
    wait_for_v2(port)
    blob = b"kept across a daemon restart\n"
    location = upload_blob(port, blob)
    docker.own.restart()
    assert inspect(docker, container_id)["State"]["Running"] is True
    wait_for_v2(port)
    assert requests.get(f"http://127.0.0.1:{port}{location}", timeout=5).content == blob


def upload_blob(port: int, blob: bytes) -> str:
    """A monolithic blob upload (distribution spec: POST, then PUT ?digest=); the blob's path."""
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    started = requests.post(f"http://127.0.0.1:{port}/v2/kept/blobs/uploads/", timeout=5)
    assert started.status_code == 202, started.text
    upload = urljoin(f"http://127.0.0.1:{port}/", started.headers["Location"])
    put = requests.put(
        upload,
        params={"digest": digest},
        data=blob,
        headers={"Content-Type": "application/octet-stream"},
        timeout=5,
    )
    assert put.status_code == 201, put.text
    return f"/v2/kept/blobs/{digest}"


def test_delete_removes_the_container_and_its_store(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    volumes = [
        mount["Name"] for mount in inspect(docker, container_id)["Mounts"] if mount["Type"] == "volume"
    ]
    assert len(volumes) == 1, "the registry image declares VOLUME /var/lib/registry"
    result = run_script(DELETE, docker, env)
    assert result.returncode == 0, result.stderr
    assert not docker.exists("container", container_id)
    assert not docker.exists("volume", volumes[0])


def test_delete_when_the_container_is_already_gone(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    docker.run("rm", "-f", "-v", container_id)
    result = run_script(DELETE, docker, env)
    assert result.returncode == 0, result.stderr
    assert f"registry container {env['IMAGEVOLUME_REGISTRY_NAME']} is already gone" in result.stderr


def test_delete_leaves_another_stacks_registry(
    docker: DockerEngine, started: tuple[dict[str, str], str]
) -> None:
    env, container_id = started
    result = run_script(DELETE, docker, {**env, "IMAGEVOLUME_OWNER": "id=theirs\n"})
    assert result.returncode == 0, result.stderr
    assert "warning: left container" in result.stderr
    assert inspect(docker, container_id)["State"]["Running"] is True


def test_delete_with_the_daemon_unreachable_fails_and_says_so(
    docker: DockerEngine, registry_image: str, tmp_path: object
) -> None:
    env = {
        **environment(docker, registry_image, "ours", free_port()),
        "DOCKER_HOST": f"unix://{tmp_path}/none.sock",
    }
    result = run_script(DELETE, docker, env)
    assert result.returncode == 1
    assert "Cannot connect to the Docker daemon" in result.stderr
    assert "cannot reach docker (the error is above)" in result.stderr


@pytest.fixture
def kind_network(docker: DockerEngine) -> Iterator[str]:
    """The `kind` network: used as it is when it exists, else made (and removed) by the test."""
    if not docker.exists("network", "kind"):
        docker.track("network", docker.out("network", "create", "--label", docker.label, "kind"))
    yield "kind"


def test_connect_joins_the_kind_network_and_writes_every_nodes_hosts_toml(
    docker: DockerEngine, started: tuple[dict[str, str], str], busybox_image: str, kind_network: str
) -> None:
    require_tool("kind", "make real-tools builds it; put its folder on PATH")
    env, container_id = started
    cluster = docker.name("cluster")
    # A node is a container with kind's cluster label (kind pkg/cluster/internal/
    # providers/docker/provider.go ListNodes); two of them, as with a worker.
    nodes = []
    for role in ("control-plane", "worker"):
        nodes.append(
            docker.container(
                "--name",
                f"{cluster}-{role}",
                "--label",
                f"io.x-k8s.kind.cluster={cluster}",
                "--label",
                f"io.x-k8s.kind.role={role}",
                "--network",
                kind_network,
                "--init",
                busybox_image,
                "sleep",
                "600",
            )
        )
    result = run_script(
        CONNECT, docker, {**env, "IMAGEVOLUME_CLUSTER_NAME": cluster, "IMAGEVOLUME_RUNTIME": "containerd"}
    )
    assert result.returncode == 0, result.stderr
    assert kind_network in inspect(docker, container_id)["NetworkSettings"]["Networks"]
    port = env["IMAGEVOLUME_REGISTRY_PORT"]
    for node in nodes:
        written = docker.out("exec", node, "cat", f"/etc/containerd/certs.d/localhost:{port}/hosts.toml")
        assert written == f'[host."http://{env["IMAGEVOLUME_REGISTRY_NAME"]}:5000"]'
        # The name resolves from the node on the kind network (Docker's embedded DNS).
        answer = docker.run(
            "exec",
            node,
            "wget",
            "-q",
            "-O-",
            f"http://{env['IMAGEVOLUME_REGISTRY_NAME']}:5000/v2/",
            check=False,
        )
        assert answer.returncode == 0, answer.stderr
    again = run_script(
        CONNECT, docker, {**env, "IMAGEVOLUME_CLUSTER_NAME": cluster, "IMAGEVOLUME_RUNTIME": "containerd"}
    )
    assert again.returncode == 0, again.stderr


def test_the_registry_image_setting_reaches_the_container(docker: DockerEngine, registry_image: str) -> None:
    """imagevolume:registryImage, parsed as a stack setting, is what run.sh runs."""
    settings = parse_settings(
        {"registryImage": registry_image, "registryPort": str(free_port()), "clusterName": docker.name("c")},
        "dev",
        environ={"DOCKER_HOST": docker.host},
    )
    assert isinstance(settings.cluster, KindClusterSettings)
    env = {**registry_environment(settings.cluster), "IMAGEVOLUME_OWNER": "id=ours\n"}
    result = run_script(RUN, docker, env)
    assert result.returncode == 0, result.stderr
    container_id = docker.track("container", result.stdout.strip())
    assert inspect(docker, container_id)["Config"]["Image"] == registry_image
    assert wait_for_v2(settings.cluster.registry_port) == 200
