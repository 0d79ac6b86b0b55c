"""The fake kind/kubectl/docker behave as the upstream tools do (docs/fidelity.md
sections 3-5): each test pins one upstream behaviour the fakes imitate."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import fakecli
from fakes.cli import ApiUnreachableError, FakeCli
from fakes.world import ApiError

PROJECT = Path(__file__).resolve().parent.parent
REGISTRY_IMAGE = "registry:3@sha256:852b3e4d378c426dda6b318fe9d9bfe8e92a0eccb9926671ec3d3ea17a196696"


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[FakeCli]:
    """conftest's FakeCli, whose registry processes end with the test."""
    fake = FakeCli(tmp_path)
    yield fake
    fake.stop_processes()


CRIO_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: InitConfiguration
    nodeRegistration:
      criSocket: unix:///var/run/crio/crio.sock
- role: worker
  kubeadmConfigPatches:
  - |
    kind: JoinConfiguration
    nodeRegistration:
      criSocket: unix:///var/run/crio/crio.sock
"""
CONTAINERD_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n"
REFUSED = "was refused - did you specify the right host or port?"


def create(cli: FakeCli, name: str = "c", config: str = CRIO_CONFIG, extra: str = "") -> Any:
    return cli.run(
        f"kind create cluster --name {name} --config - --kubeconfig {name}.kc {extra}", stdin=config
    )


def made(cli: FakeCli, name: str = "c", config: str = CRIO_CONFIG) -> str:
    result = create(cli, name, config)
    assert result.returncode == 0, result.stderr
    return cli.kubeconfig(name)


def pod(
    reference: str = "quay.io/crio/artifact:v1", mount_path: str = "/volume", **mount: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod", "namespace": "default"},
        "spec": {
            "containers": [
                {
                    "name": "test",
                    "image": "registry.k8s.io/e2e-test-images/echoserver:2.3",
                    "volumeMounts": [{"name": "volume", "mountPath": mount_path, **mount}],
                }
            ],
            "volumes": [{"name": "volume", "image": {"reference": reference, "pullPolicy": "IfNotPresent"}}],
        },
    }


def kubectl(cli: FakeCli, args: str, name: str = "c") -> Any:
    return cli.run(f"kubectl --kubeconfig {name}.kc {args}")


# --- 1. provider and endpoint --------------------------------------------------


def test_unknown_provider_is_ignored_with_kinds_warning(cli: FakeCli) -> None:
    cli.extra_env["KIND_EXPERIMENTAL_PROVIDER"] = "lxc"
    result = create(cli)
    assert result.returncode == 0
    assert 'ignoring unknown value "lxc" for KIND_EXPERIMENTAL_PROVIDER' in result.stderr
    assert cli.clusters(provider="docker") == ["c"]


def test_provider_is_detected_on_every_call_docker_then_podman(cli: FakeCli) -> None:
    cli.install("podman")
    assert create(cli).returncode == 0
    cli.remove("docker")  # now only podman answers `-v`
    listed = cli.run("kind get clusters")
    assert listed.stdout == "" and "No kind clusters found." in listed.stderr
    cli.extra_env["KIND_EXPERIMENTAL_PROVIDER"] = "podman"
    assert "using podman due to KIND_EXPERIMENTAL_PROVIDER" in create(cli, "p").stderr
    assert cli.clusters(provider="podman") == ["p"] and cli.clusters(provider="docker") == ["c"]


def test_delete_against_another_docker_endpoint_finds_nothing_and_the_cluster_stays(cli: FakeCli) -> None:
    cli.extra_env["DOCKER_HOST"] = "tcp://build-host:2375"
    assert create(cli).returncode == 0
    assert cli.clusters(endpoint="host-tcp___build-host_2375") == ["c"]
    del cli.extra_env["DOCKER_HOST"]
    deleted = cli.run("kind delete cluster --name c")
    assert deleted.returncode == 0 and 'Deleting cluster "c" ...' in deleted.stderr
    assert "Deleted nodes" not in deleted.stderr
    assert cli.clusters() == ["c"]
    assert cli.run("docker ps -a").stdout == ""
    other = cli.run(
        "docker ps -a --format '{{.Names}}'",
        env={"DOCKER_CONTEXT": "x", "DOCKER_HOST": "tcp://build-host:2375"},
    )
    assert other.stdout.split() == ["c-control-plane", "c-worker"]  # DOCKER_HOST wins over DOCKER_CONTEXT


# --- 2. create and readiness -----------------------------------------------------


def test_wait_covers_control_plane_only_and_times_out_with_a_warning(cli: FakeCli) -> None:
    cli.extra_env |= {"FAKE_CONTROL_PLANE_READY_SECONDS": "100", "FAKE_WORKER_READY_SECONDS": "400"}
    result = create(cli, extra="--wait 60s")
    assert result.returncode == 0
    assert " • WARNING: Timed out waiting for Ready ⚠️" in result.stderr
    nodes = kubectl(cli, "get nodes")
    assert nodes.stdout.splitlines()[1].split()[:2] == ["c-control-plane", "NotReady"]
    waited = kubectl(cli, "wait --for=condition=Ready nodes --all --timeout=30s")
    assert waited.returncode == 1
    assert waited.stderr == "error: timed out waiting for the condition on nodes/c-control-plane\n"


def test_kubectl_wait_succeeds_when_every_node_is_ready_within_the_timeout(cli: FakeCli) -> None:
    cli.extra_env["FAKE_WORKER_READY_SECONDS"] = "100"
    result = create(cli, extra="--wait 5m")
    assert " • Ready after 0s 💚" in result.stderr  # the control plane was Ready at once
    short = kubectl(cli, "wait --for=condition=Ready nodes --all --timeout=30s")
    assert short.returncode == 1 and short.stdout == "node/c-control-plane condition met\n"
    assert short.stderr == "error: timed out waiting for the condition on nodes/c-worker\n"
    long = kubectl(cli, "wait --for=condition=Ready nodes --all --timeout=300s")
    assert long.returncode == 0
    assert long.stdout == "node/c-control-plane condition met\nnode/c-worker condition met\n"
    assert "Ready" in kubectl(cli, "get nodes").stdout.splitlines()[2].split()


def test_never_ready_and_failed_creates(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_NOT_READY"] = "1"
    assert "WARNING: Timed out waiting for Ready" in create(cli, extra="--wait 1s").stderr
    cli.extra_env = {"FAKE_KIND_CREATE_ERROR": "failed to init node with kubeadm"}
    failed = create(cli, "f")
    assert (
        failed.returncode == 1
        and "ERROR: failed to create cluster: failed to init node with kubeadm" in failed.stderr
    )
    assert "f" not in cli.clusters()  # kind removed the nodes
    cli.extra_env = {"FAKE_KIND_EXPORT_ERROR": "1"}
    kept = create(cli, "k")
    assert kept.returncode == 1
    assert kept.stderr.endswith(
        "ERROR: failed to create cluster: failed to lock config file: open k.kc.lock: file exists\n"
    )
    assert "k" in cli.clusters()  # a failed kubeconfig export leaves the nodes


# --- 3. kind get -----------------------------------------------------------------


def test_kind_get_and_existing_names(cli: FakeCli) -> None:
    none = cli.run("kind get clusters")
    assert (none.returncode, none.stdout, none.stderr) == (0, "", "No kind clusters found.\n")
    missing = cli.run("kind get kubeconfig --name c")
    assert missing.returncode == 1
    assert missing.stderr == (
        "ERROR: could not locate any control plane nodes for cluster named 'c'. "
        "Use the --name option to select a different cluster\n"
    )
    kubeconfig = made(cli)
    assert cli.run("kind get kubeconfig --name c").stdout == kubeconfig + "\n"  # Fprintln
    again = create(cli)
    assert again.returncode == 1
    assert again.stderr.endswith(
        'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "c"\n'
    )
    cli.stop_cluster("c")
    assert cli.run("kind get clusters").stdout == "c\n"  # docker ps -a: stopped clusters too
    stopped = cli.run("kind get kubeconfig --name c")
    assert stopped.returncode == 1
    node_id = cli.cluster("c").nodes[0]["id"]
    assert stopped.stderr == (
        "ERROR: failed to get cluster internal kubeconfig: command "
        '"docker exec --privileged c-control-plane cat /etc/kubernetes/admin.conf" '
        "failed with error: exit status 1\n"
        f"\nCommand Output: Error response from daemon: Container {node_id} is not running\n"
    )


# --- 4. stop, restart, delete; docker ----------------------------------------------


def test_stop_and_restart_with_the_api_server_slow_to_come_back(cli: FakeCli) -> None:
    made(cli)
    cli.stop_cluster("c")
    port = cli.cluster("c").data["port"]
    refused = kubectl(cli, "get nodes")
    assert refused.returncode == 1
    assert refused.stderr == f"The connection to the server 127.0.0.1:{port} {REFUSED}\n"
    assert cli.run("docker exec c-control-plane true").stderr.startswith(
        "Error response from daemon: Container "
    )
    copied = cli.run("docker cp c-control-plane:/etc/kubernetes/admin.conf admin.conf")
    assert copied.returncode == 0 and (cli.root / "admin.conf").exists()  # cp works on a stopped container
    inspected = cli.run(
        "docker inspect --format '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' c-worker"
    )
    assert inspected.stdout == "exited on-failure\n"
    cli.start_cluster("c", api_down_calls=2)
    assert [kubectl(cli, "get nodes").returncode for _ in range(3)] == [1, 1, 0]
    cli.delete_cluster("c")
    assert cli.run("kind get clusters").stderr == "No kind clusters found.\n"
    assert cli.run("docker inspect c-worker").stderr == "Error: No such object: c-worker\n"


def test_docker_info_daemon_down_and_permission_denied(cli: FakeCli) -> None:
    up = cli.run("docker info")
    assert up.returncode == 0 and "Server Version" in up.stdout
    down = cli.run("docker info", env={"FAKE_DOCKER_DOWN": "1"})
    # docker/cli v28.1.0+: a connection failure is the command's error, exit 1
    assert down.returncode == 1 and down.stdout.endswith("Server:\n")
    assert down.stderr == (
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
    )
    denied = cli.run("docker info", env={"FAKE_DOCKER_DENIED": "1"})
    assert denied.returncode == 1
    assert denied.stderr == (
        "permission denied while trying to connect to the Docker daemon socket at "
        'unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/info": '
        "dial unix /var/run/docker.sock: connect: permission denied\n"
    )
    listed = cli.run("kind get clusters", env={"FAKE_DOCKER_DOWN": "1"})
    assert listed.returncode == 1 and listed.stderr.startswith("ERROR: failed to list clusters: command ")


def test_docker_info_architecture_and_os_type(cli: FakeCli) -> None:
    arch = cli.run("docker info --format '{{.Architecture}}'")
    assert (arch.returncode, arch.stdout, arch.stderr) == (0, "x86_64\n", "")
    both = cli.run("docker info -f '{{.OSType}}/{{.Architecture}}'", env={"FAKE_DOCKER_ARCH": "aarch64"})
    assert both.stdout == "linux/aarch64\n"
    assert "Architecture: aarch64" in cli.run("docker info", env={"FAKE_DOCKER_ARCH": "aarch64"}).stdout
    for knob, text in (("FAKE_DOCKER_DOWN", "Cannot connect"), ("FAKE_DOCKER_DENIED", "permission denied")):
        failed = cli.run("docker info --format '{{.Architecture}}'", env={knob: "1"})
        # the template renders on an empty info, then the error: exit 1
        assert (failed.returncode, failed.stdout) == (1, "\n")
        assert failed.stderr.startswith(text)


def test_kind_version(cli: FakeCli) -> None:
    assert cli.run("kind version").stdout == "kind v0.32.0 go1.26.3 linux/amd64\n"
    assert cli.run("kind version -q").stdout == "0.32.0\n"
    older = cli.run("kind version", env={"FAKE_KIND_VERSION": "v0.30.0", "FAKE_DOCKER_ARCH": "aarch64"})
    assert older.stdout == "kind v0.30.0 go1.24.6 linux/arm64\n"
    assert cli.run("kind version", env={"FAKE_KIND_VERSION": "v9.9.9"}).returncode == 2


def test_docker_pull_prints_the_reference(cli: FakeCli) -> None:
    first = cli.run("docker pull busybox")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == "Using default tag: latest\ndocker.io/library/busybox:latest\n"
    other = cli.run("docker pull quay.io/crio/artifact:v2").stdout
    assert other == "quay.io/crio/artifact:v2\n"
    assert cli.calls("docker")[:2] == [["pull", "busybox"], ["pull", "quay.io/crio/artifact:v2"]]


def test_docker_pull_of_a_missing_image_and_without_a_daemon(cli: FakeCli) -> None:
    missing = cli.run("docker pull example.com/gone:1", env={"FAKE_MISSING_IMAGES": "example.com/gone:1"})
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        "Error response from daemon: manifest for example.com/gone:1 not found: "
        "manifest unknown: manifest unknown\n"
    )
    down = cli.run("docker pull busybox", env={"FAKE_DOCKER_DOWN": "1"})
    assert down.returncode == 1 and down.stderr.startswith("Cannot connect to the Docker daemon at ")
    denied = cli.run("docker pull busybox:1", env={"FAKE_DOCKER_DENIED": "1"})
    assert denied.returncode == 1
    assert 'Post "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/images/create?fromImage=' in denied.stderr
    assert cli.run("docker image inspect busybox").returncode == 1  # nothing was pulled


@pytest.mark.parametrize(
    ("host", "arches", "want"),
    [
        ("x86_64", "", "amd64"),  # an index: the host's platform
        ("aarch64", "", "arm64"),
        ("aarch64", "example.com/one:1=amd64", "amd64"),  # single-arch: pulled as it is
        ("x86_64", "example.com/one:1=arm64", "arm64"),
    ],
)
def test_pulled_image_platform(cli: FakeCli, host: str, arches: str, want: str) -> None:
    env = {"FAKE_DOCKER_ARCH": host, "FAKE_IMAGE_ARCHES": arches}
    pulled = cli.run("docker pull example.com/one:1", env=env)
    assert pulled.returncode == 0 and pulled.stderr == "" and "WARNING" not in pulled.stdout
    inspected = cli.run(
        "docker image inspect --format '{{.Os}}/{{.Architecture}}' example.com/one:1", env=env
    )
    assert (inspected.returncode, inspected.stdout) == (0, f"linux/{want}\n")


def test_image_inspect_of_an_image_not_pulled(cli: FakeCli) -> None:
    templated = cli.run("docker image inspect --format '{{.Architecture}}' busybox")
    assert (templated.returncode, templated.stdout) == (1, "\n")
    assert templated.stderr == "Error response from daemon: No such image: busybox:latest\n"
    plain = cli.run("docker image inspect registry.k8s.io/pause:3.10")
    assert (plain.returncode, plain.stdout) == (1, "[]\n")
    assert plain.stderr == "Error response from daemon: No such image: registry.k8s.io/pause:3.10\n"
    assert cli.run("docker pull busybox").returncode == 0
    mixed = cli.run("docker image inspect -f '{{.Architecture}}' busybox alpine")
    assert (mixed.returncode, mixed.stdout) == (1, "amd64\n")
    assert mixed.stderr == "Error response from daemon: No such image: alpine:latest\n"


def test_docker_run_cat_reads_the_hosts_inotify_limits(cli: FakeCli) -> None:
    cat = "docker run --rm --entrypoint cat busybox /proc/sys/fs/inotify/"
    first = cli.run(cat + "max_user_watches")
    assert (first.returncode, first.stdout) == (0, "524288\n")
    # not pulled yet: docker run pulls it (container/create.go), saying so on stderr
    assert first.stderr == "Unable to find image 'busybox:latest' locally\n"
    second = cli.run(cat + "max_user_instances")
    assert (second.returncode, second.stdout, second.stderr) == (0, "512\n", "")
    knobs = {"FAKE_INOTIFY_MAX_USER_WATCHES": "8192", "FAKE_INOTIFY_MAX_USER_INSTANCES": "128"}
    assert cli.run(cat + "max_user_watches", env=knobs).stdout == "8192\n"
    equals = "docker run --rm --entrypoint=cat busybox /proc/sys/fs/inotify/max_user_instances"
    assert cli.run(equals, env=knobs).stdout == "128\n"
    assert cli.run("docker run --rm busybox cat /proc/sys/fs/inotify/max_user_watches").returncode == 2
    assert cli.run("docker run --rm --entrypoint cat busybox /etc/hostname").returncode == 2
    assert [
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        "busybox",
        "/proc/sys/fs/inotify/max_user_watches",
    ] in cli.calls("docker")


def test_docker_run_failures_and_a_foreign_arch_image(cli: FakeCli) -> None:
    cat = "--entrypoint cat {} /proc/sys/fs/inotify/max_user_watches"
    missing = cli.run(
        "docker run --rm " + cat.format("example.com/gone:1"),
        env={"FAKE_MISSING_IMAGES": "example.com/gone:1"},
    )
    assert (missing.returncode, missing.stdout) == (125, "")
    assert missing.stderr == (
        "Unable to find image 'example.com/gone:1' locally\n"
        "docker: Error response from daemon: manifest for example.com/gone:1 not found: "
        "manifest unknown: manifest unknown\n\nRun 'docker run --help' for more information\n"
    )
    down = cli.run("docker run --rm " + cat.format("busybox"), env={"FAKE_DOCKER_DOWN": "1"})
    assert down.returncode == 125 and down.stderr.startswith("docker: Cannot connect to the Docker daemon")
    arm = {"FAKE_IMAGE_ARCHES": "example.com/arm:1=arm64"}
    assert cli.run("docker pull example.com/arm:1", env=arm).returncode == 0
    foreign = cli.run("docker run --rm " + cat.format("example.com/arm:1"), env=arm)
    assert (foreign.returncode, foreign.stdout) == (0, "524288\n")
    assert foreign.stderr == (
        "WARNING: The requested image's platform (linux/arm64) does not match the detected host "
        "platform (linux/amd64) and no specific platform was requested\n"
    )


# --- 5. kubectl --------------------------------------------------------------------


def test_kubectl_flags_exec_argv_and_exit_code(cli: FakeCli) -> None:
    made(cli)
    cli.add_pod(pod())
    argv = ["echo", "a  b", "$HOME", "; touch x", ""]
    quoted = " ".join(f"'{a}'" for a in argv)
    result = cli.run(f"kubectl --kubeconfig c.kc -n default exec pod -c test -- {quoted}")
    assert result.returncode == 0 and result.stdout == "a  b $HOME ; touch x \n"
    failed = cli.run("kubectl exec --kubeconfig=c.kc pod --container=test -- cat /volume/missing")
    assert failed.returncode == 1
    assert failed.stderr == (
        "cat: can't open '/volume/missing': No such file or directory\ncommand terminated with exit code 1\n"
    )


def test_kubectl_unauthorized_and_no_kubeconfig(cli: FakeCli) -> None:
    made(cli)
    cli.extra_env["FAKE_KUBECTL_UNAUTHORIZED"] = "1"
    result = kubectl(cli, "get nodes")
    assert (result.returncode, result.stderr) == (
        1,
        "error: You must be logged in to the server "
        "(the server has asked for the client to provide credentials)\n",
    )
    bare = cli.run("kubectl get nodes")  # no kubeconfig at all: client-go's localhost:8080
    assert bare.stderr == f"The connection to the server localhost:8080 {REFUSED}\n"


def test_kubectl_writes_its_cache_unless_told_where(cli: FakeCli) -> None:
    made(cli)
    cache = cli.home / ".kube" / "cache"
    assert kubectl(cli, "get nodes --cache-dir elsewhere").returncode == 0
    assert not cache.exists() and (cli.root / "elsewhere" / "http").is_dir()
    cli.run("kubectl --kubeconfig c.kc get nodes", env={"KUBECACHEDIR": str(cli.root / "env-cache")})
    assert not cache.exists() and (cli.root / "env-cache" / "http").is_dir()
    assert kubectl(cli, "get nodes").returncode == 0
    port = cli.cluster("c").data["port"]
    assert (cache / "http").is_dir() and (cache / "discovery" / f"127.0.0.1_{port}").is_dir()


def test_kubectl_get_create_and_raw(cli: FakeCli) -> None:
    made(cli)
    absent = kubectl(cli, "get configmap x -n kube-system --ignore-not-found")
    assert (absent.returncode, absent.stdout) == (0, "")
    missing = kubectl(cli, "get configmap x -n kube-system")
    assert missing.stderr == 'Error from server (NotFound): configmaps "x" not found\n'
    created = kubectl(cli, "create configmap x -n kube-system --from-literal=fingerprint=abc")
    assert created.stdout == "configmap/x created\n"
    again = kubectl(cli, "create configmap x -n kube-system --from-literal=fingerprint=abc")
    assert again.stderr == 'Error from server (AlreadyExists): configmaps "x" already exists\n'
    value = kubectl(cli, "get configmap x -n kube-system -o 'jsonpath={.data.fingerprint}'")
    assert value.stdout == "abc"
    assert kubectl(cli, "get --raw /readyz").stdout == "ok\n"
    stored = cli.api(cli.kubeconfig("c")).create({**pod(), "metadata": {"name": "u", "namespace": "default"}})
    uid = kubectl(cli, "get pod u -o 'jsonpath={.metadata.uid}'")
    assert uid.stdout == stored["metadata"]["uid"]


# --- 6. pods per cluster; the API side ----------------------------------------------


def test_pods_live_per_cluster(cli: FakeCli) -> None:
    made(cli, "a")
    made(cli, "b")
    cli.add_pod(pod(), cluster="a")
    assert kubectl(cli, "exec pod -- cat /volume/dir/file", "a").stdout == "1\n"
    other = kubectl(cli, "exec pod -- cat /volume/dir/file", "b")
    assert other.stderr == 'Error from server (NotFound): pods "pod" not found\n'
    cli.add_pod(pod("quay.io/crio/artifact:v2"))  # no name: every cluster, replacing
    assert kubectl(cli, "exec pod -- cat /volume/file", "b").stdout == "2\n"


def test_api_create_delete_terminating_and_settle(cli: FakeCli) -> None:
    api = cli.api(made(cli))
    api.create(pod())
    with pytest.raises(ApiError, match='pods "pod" already exists'):
        api.create(pod())
    api.delete("Pod", "default", "pod", wait=False)
    assert "deletionTimestamp" in api.get("Pod", "default", "pod")["metadata"]  # Terminating
    with pytest.raises(ApiError, match='pods "pod" already exists'):
        api.create(pod())  # pulumi-kubernetes#3154
    cli.settle()
    api.create(pod())
    api.create({"kind": "Namespace", "metadata": {"name": "ns"}})
    with pytest.raises(ApiError, match='namespaces "ns" already exists'):
        api.create({"kind": "Namespace", "metadata": {"name": "ns"}})
    api.delete("Pod", "default", "pod", wait=True)
    with pytest.raises(ApiError, match='pods "pod" not found'):
        api.get("Pod", "default", "pod")


def test_api_refuses_a_stale_or_stopped_cluster(cli: FakeCli) -> None:
    old = made(cli)
    cli.stop_cluster("c")
    with pytest.raises(ApiUnreachableError, match="connect: connection refused"):
        cli.api(old)
    cli.delete_cluster("c")
    made(cli)  # recreated: new port and credentials
    with pytest.raises(ApiUnreachableError, match="connection refused"):
        cli.api(old)
    assert cli.api(cli.kubeconfig("c")).cluster_name == "c"


# --- 7. what the BusyBox container prints ----------------------------------------------


def test_busybox_ls_touch_sha256sum_and_proc_mounts(cli: FakeCli) -> None:
    made(cli)
    cli.add_pod(pod(mount_path="//data dir/"))
    listing = kubectl(cli, "exec pod -- ls -l '/data dir'")
    assert listing.stdout == (
        "total 8\n"
        "drwxr-xr-x    2 1000     users         4096 Jun  3 12:00 dir\n"
        "-rw-r--r--    1 1000     users            2 Jun  3 12:00 file\n"
    )
    touched = kubectl(cli, "exec pod -- touch '/data dir/x'")
    assert (
        touched.stderr == "touch: /data dir/x: Read-only file system\ncommand terminated with exit code 1\n"
    )
    mounts = kubectl(cli, "exec pod -- cat /proc/mounts").stdout.splitlines()
    [line] = [m for m in mounts if m.split()[1] == "/data\\040dir"]
    options = line.split()[3].split(",")
    assert options[:2] == ["ro", "relatime"] and "noexec" not in options
    summed = kubectl(cli, "exec pod -- sha256sum '/data dir/file'")
    digest = hashlib.sha256(b"2\n").hexdigest()
    assert summed.stdout == f"{digest}  /data dir/file\n"
    missing = kubectl(cli, "exec pod -- ls -l /nope")
    assert missing.stderr == "ls: /nope: No such file or directory\ncommand terminated with exit code 1\n"


def test_exec_of_a_missing_program_per_runtime(cli: FakeCli) -> None:
    made(cli, "crio")
    cli.add_pod(pod(), cluster="crio")
    crio = kubectl(cli, "exec pod -- bash", "crio")
    assert crio.returncode == 255
    assert 'exec: "bash": executable file not found in $PATH' in crio.stderr
    assert crio.stderr.endswith("command terminated with exit code 255\n")
    made(cli, "ctrd", CONTAINERD_CONFIG)
    cli.add_pod(pod("quay.io/crio/artifact:v2"), cluster="ctrd")
    ctrd = kubectl(cli, "exec pod -- bash", "ctrd")
    assert ctrd.returncode == 1 and ctrd.stderr.startswith(
        "error: Internal error occurred: error executing command"
    )
    assert "command terminated" not in ctrd.stderr


# --- 8. runtimes and image volumes ------------------------------------------------------


def test_containerd_cannot_pull_v1_but_mounts_v2(cli: FakeCli) -> None:
    made(cli, "c", CONTAINERD_CONFIG)
    cli.add_pod(pod("quay.io/crio/artifact:v1"))
    waited = kubectl(cli, "wait --for=condition=Ready pod/pod --timeout=30s")
    assert waited.stderr == "error: timed out waiting for the condition on pods/pod\n"
    described = kubectl(cli, "describe pod pod").stdout
    assert re.search(r"\n      Reason:\s+ImagePullBackOff\n", described)
    assert "number of layers and diffIDs don't match: 1 != 0" in described
    assert 'Back-off pulling image "quay.io/crio/artifact:v1"' in described
    assert "Type     Reason" in described and "----     ------" in described
    cli.settle()
    api = cli.api(cli.kubeconfig("c"))
    api.delete("Pod", "default", "pod")
    api.create(pod("quay.io/crio/artifact:v2"))
    assert (
        kubectl(cli, "wait --for=condition=Ready pod/pod --timeout=30s").stdout == "pod/pod condition met\n"
    )
    assert kubectl(cli, "exec pod -- cat /volume/dir/file").stdout == "1\n"


def test_crio_mounts_an_oci_artifact_file_by_file(cli: FakeCli) -> None:
    cli.extra_env["FAKE_OCI_ARTIFACTS"] = "example.com/art:1"
    made(cli)
    cli.add_pod(pod("example.com/art:1"))
    listing = kubectl(cli, "exec pod -- ls -l /volume").stdout.splitlines()
    assert [line.split()[2] for line in listing[1:]] == ["root", "root"]
    mounts = [m.split()[1] for m in kubectl(cli, "exec pod -- cat /proc/mounts").stdout.splitlines()]
    assert "/volume" not in mounts and {"/volume/file", "/volume/dir/file"} <= set(mounts)
    assert (
        kubectl(cli, "exec pod -- touch /volume/new").returncode == 0
    )  # the mount path is a plain directory
    assert "Read-only file system" in kubectl(cli, "exec pod -- touch /volume/file").stderr
    made(cli, "d", CONTAINERD_CONFIG)
    cli.add_pod(pod("example.com/art:1"), cluster="d")
    assert "ErrImagePull" in kubectl(cli, "describe pod pod", "d").stdout


MOUNT_FAILURES = {
    "crio-subpath": (
        CRIO_CONFIG,
        "quay.io/crio/artifact:v1",
        "nope",
        "CreateContainerError",
        'Error: ImageVolumeMountFailed: sub path "nope" does not exist in image volume "quay.io/crio/',
    ),
    "containerd-subpath": (
        CONTAINERD_CONFIG,
        "quay.io/crio/artifact:v2",
        "nope",
        "CreateContainerError",
        'Error: ImageVolumeMountFailed: failed to ensure image subpath "nope" in ',
    ),
    "malformed": (CRIO_CONFIG, "Quay.io/UPPER:v1", "", "InvalidImageName", "invalid reference format"),
}


@pytest.mark.parametrize("case", MOUNT_FAILURES)
def test_mount_failures_arise_from_the_pod(cli: FakeCli, case: str) -> None:
    config, reference, sub_path, reason, text = MOUNT_FAILURES[case]
    made(cli, "c", config)
    cli.add_pod(pod(reference, **({"subPath": sub_path} if sub_path else {})))
    described = kubectl(cli, "describe pod pod").stdout
    assert re.search(rf"\n      Reason:\s+{reason}\n", described) and text in described


def test_subpath_that_exists_mounts_that_directory(cli: FakeCli) -> None:
    made(cli)
    cli.add_pod(pod(subPath="dir"))
    assert kubectl(cli, "exec pod -- cat /volume/file").stdout == "1\n"


@pytest.mark.parametrize(
    ("failure", "config", "text"),
    [
        ("hostpath", CRIO_CONFIG, "Error: mount.HostPath is empty"),
        ("hostpath", CONTAINERD_CONFIG, 'Error: failed to mkdir ""'),
        ("pull", CRIO_CONFIG, "reading manifest v2 in quay.io/crio/artifact: manifest unknown"),
        ("subpath", CRIO_CONFIG, 'sub path "missing" does not exist in image volume'),
    ],
)
def test_forced_pod_failures_keep_working(cli: FakeCli, failure: str, config: str, text: str) -> None:
    made(cli, "c", config)
    cli.add_pod(pod("quay.io/crio/artifact:v2"))
    cli.extra_env["FAKE_POD_FAILURE"] = failure
    assert kubectl(cli, "wait --for=condition=Ready pod/pod --timeout=10s").returncode == 1
    assert text in kubectl(cli, "describe pod pod").stdout


# --- 9. the private PATH ------------------------------------------------------------------


def test_env_is_a_private_path_with_the_fakes(cli: FakeCli) -> None:
    assert cli.env["PATH"] == str(cli.bin)
    for program in ("kind", "kubectl", "docker"):
        found = shutil.which(program, path=cli.env["PATH"])
        assert found is not None and Path(found).parent == cli.bin
        assert "from fakes.fakecli import main" in Path(found).read_text()
    assert json.loads(cli.run("echo '{}'").stdout) == {}


def test_sleep_and_date_run_on_the_virtual_clock(cli: FakeCli) -> None:
    cli.extra_env["FAKE_WORKER_READY_SECONDS"] = "120"
    made(cli)
    assert "NotReady" in kubectl(cli, "get nodes").stdout
    before = int(cli.run("date +%s").stdout)
    result = cli.run("sleep 90; sleep 1m; date +%s")
    assert int(result.stdout) == before + 150
    assert "NotReady" not in kubectl(cli, "get nodes").stdout  # the worker got Ready meanwhile
    assert cli.run("sleep soon").stderr == "sleep: invalid time interval 'soon'\n"


# --- 10. the stack's registry container ----------------------------------------------


def require_docker_registry() -> None:
    """The fake runs Debian's docker-registry for a registry container:
    skipped without it, except under CI=true, where that fails."""
    if shutil.which("docker-registry") or os.access("/usr/bin/docker-registry", os.X_OK):
        return
    why = "docker-registry not installed (apt-get install docker-registry)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_registry(cli: FakeCli, name: str, port: int, owner: str = "me") -> Any:
    return cli.run(
        f"docker run -d --restart=always --name {name} --label io.imagevolume.owner={owner} "
        f"-p 127.0.0.1:{port}:5000 {REGISTRY_IMAGE}"
    )


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def comes_up(port: int, seconds: float = 10) -> bool:
    """docker run -d and start return before the registry listens (as the real ones do)."""
    deadline = time.monotonic() + seconds
    while not answers(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_registry_run_inspect_start_and_rm(cli: FakeCli) -> None:
    require_docker_registry()
    port = free_port()
    started = run_registry(cli, "reg", port)
    assert started.returncode == 0, started.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", started.stdout)
    # not pulled yet: docker run pulls it first, its progress on stderr
    assert started.stderr.startswith(f"Unable to find image '{REGISTRY_IMAGE}' locally\n")
    assert comes_up(port)
    inspected = cli.run(
        "docker inspect --format "
        '\'{{index .Config.Labels "io.imagevolume.owner"}} {{.Id}} {{.State.Running}} '
        "{{json .NetworkSettings.Networks.kind}}' reg"
    )
    assert inspected.stdout == f"me {started.stdout.strip()} true null\n"
    again = run_registry(cli, "reg", free_port())
    assert (again.returncode, again.stdout) == (125, "")
    assert again.stderr == (
        'docker: Error response from daemon: Conflict. The container name "/reg" is already in use by '
        f'container "{started.stdout.strip()}". You have to remove (or rename) that container to be able '
        "to reuse that name.\n\nRun 'docker run --help' for more information\n"
    )
    assert cli.run("docker start reg").stdout == "reg\n"  # already running: a no-op
    cli.stop_container("reg")
    assert not answers(port)
    assert cli.run("docker inspect --format '{{.State.Running}}' reg").stdout == "false\n"
    assert cli.run("docker start reg").stdout == "reg\n" and comes_up(port)
    removed = cli.run("docker rm -f -v reg")
    assert (removed.returncode, removed.stdout, removed.stderr) == (0, "reg\n", "")
    assert not answers(port)
    gone = cli.run("docker inspect --format '{{.Id}}' reg")
    assert (gone.returncode, gone.stderr) == (1, "Error: No such object: reg\n")
    typed = cli.run("docker inspect --type container --format '{{.Id}}' reg")
    assert (typed.returncode, typed.stderr) == (1, "Error response from daemon: No such container: reg\n")
    # docker/cli rm.go: with --force a missing container is reported, not an error
    missing = cli.run("docker rm -f -v reg")
    assert (missing.returncode, missing.stdout) == (0, "")
    assert missing.stderr == "Error response from daemon: No such container: reg\n"
    start_missing = cli.run("docker start reg")
    assert start_missing.returncode == 1
    assert start_missing.stderr == (
        "Error response from daemon: No such container: reg\nError: failed to start containers: reg\n"
    )


def test_registry_port_held_by_another_container_leaves_it_created(cli: FakeCli) -> None:
    require_docker_registry()
    port = free_port()
    assert run_registry(cli, "first", port).returncode == 0
    second = run_registry(cli, "second", port)
    assert second.returncode == 125
    assert re.fullmatch(r"[0-9a-f]{64}\n", second.stdout)  # created, then the start failed
    assert re.fullmatch(
        r"docker: Error response from daemon: driver failed programming external connectivity on "
        rf"endpoint second \([0-9a-f]{{64}}\): Bind for 127\.0\.0\.1:{port} failed: port is already "
        r"allocated\n\nRun 'docker run --help' for more information\n",
        second.stderr,
    )
    assert cli.run("docker inspect --format '{{.State.Status}}' second").stdout == "created\n"
    cli.stop_container("first")  # its port is free again: a start of the second works
    assert cli.run("docker start second").stdout == "second\n" and comes_up(port)


def test_registry_port_held_by_a_listening_socket(cli: FakeCli) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = run_registry(cli, "reg", port)
    assert taken.returncode == 125
    assert re.search(
        rf"on endpoint reg \([0-9a-f]{{64}}\): failed to bind host port for "
        rf"127\.0\.0\.1:{port}:172\.17\.0\.\d+:5000/tcp: address already in use\n",
        taken.stderr,
    )
    assert cli.run("docker inspect --format '{{.State.Running}}' reg").stdout == "false\n"
    assert cli.run("docker rm -f -v reg").stdout == "reg\n"


def test_registry_needs_debians_docker_registry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(os, "access", lambda _path, _mode: False)
    with pytest.raises(SystemExit) as exited:
        fakecli.registry_binary()
    assert exited.value.code == 2
    assert "fake docker: docker-registry is not installed" in capsys.readouterr().err


def test_network_connect_needs_the_kind_network_and_connects_once(cli: FakeCli) -> None:
    require_docker_registry()
    assert run_registry(cli, "reg", free_port()).returncode == 0
    no_network = cli.run("docker network connect kind reg")
    assert (no_network.returncode, no_network.stderr) == (
        1,
        "Error response from daemon: network kind not found\n",
    )
    made(cli, "c", CONTAINERD_CONFIG)
    cli.delete_cluster("c")  # kind never removes its network
    assert cli.run("docker network connect kind reg").returncode == 0
    connected = cli.run("docker inspect --format '{{json .NetworkSettings.Networks.kind}}' reg").stdout
    assert json.loads(connected)["DNSNames"][0] == "reg"
    twice = cli.run("docker network connect kind reg")
    assert twice.returncode == 1
    assert (
        twice.stderr == "Error response from daemon: endpoint with name reg already exists in network kind\n"
    )
    nobody = cli.run("docker network connect kind nobody")
    assert nobody.stderr == "Error response from daemon: No such container: nobody\n"


def test_kind_get_nodes(cli: FakeCli) -> None:
    none = cli.run("kind get nodes --name c")
    assert (none.returncode, none.stdout, none.stderr) == (0, "", 'No kind nodes found for cluster "c".\n')
    made(cli)
    assert cli.run("kind get nodes --name c").stdout == "c-control-plane\nc-worker\n"
    cli.stop_cluster("c")
    assert cli.run("kind get nodes -n c").stdout == "c-control-plane\nc-worker\n"  # docker ps -a


def test_node_files_survive_a_restart_and_systemctl_reload_per_runtime(cli: FakeCli) -> None:
    made(cli, "ctrd", CONTAINERD_CONFIG)
    data = bytes(range(256))
    write = "docker exec -i ctrd-control-plane cp /dev/stdin /etc/x/blob"
    assert cli.run("docker exec ctrd-control-plane mkdir -p /etc/x").returncode == 0
    assert (
        subprocess.run(
            ["/bin/sh", "-c", write], input=data, env=cli.env, cwd=cli.root, check=False
        ).returncode
        == 0
    )
    cli.stop_cluster("ctrd")
    cli.start_cluster("ctrd")
    read = subprocess.run(
        ["/bin/sh", "-c", "docker exec ctrd-control-plane cat /etc/x/blob"],
        capture_output=True, env=cli.env, cwd=cli.root, check=False,
    )  # fmt: skip
    assert read.stdout == data
    reload = cli.run("docker exec ctrd-control-plane systemctl reload crio")
    # systemd: NoSuchUnit → EXIT_NOTINSTALLED (5), passed on by docker exec
    assert (reload.returncode, reload.stderr) == (
        5,
        "Failed to reload crio.service: Unit crio.service not found.\n",
    )
    made(cli, "crio")
    crio = cli.run("docker exec crio-worker systemctl reload crio")
    assert (crio.returncode, crio.stdout, crio.stderr) == (0, "", "")


def push(folder: Path, port: int, name: str) -> str:
    """components.content push: prints 127.0.0.1:<port>/<name>@<digest>."""
    pushed = subprocess.run(
        [sys.executable, "-m", "components.content", "push", str(folder), f"127.0.0.1:{port}/{name}"],
        capture_output=True, text=True, check=True, cwd=PROJECT, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert pushed.startswith(f"127.0.0.1:{port}/{name}@sha256:")
    return pushed.split("@")[1]


def sums_of(folder: Path, mount: str) -> str:
    return "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {mount}/{path.relative_to(folder).as_posix()}\n"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    )


@pytest.mark.parametrize("runtime", ["containerd", "crio"])
def test_pod_pulls_from_the_local_registry_only_once_the_node_knows_it(cli: FakeCli, runtime: str) -> None:
    require_docker_registry()
    made(cli, "c", CONTAINERD_CONFIG if runtime == "containerd" else CRIO_CONFIG)
    port = free_port()
    assert run_registry(cli, "c-registry", port).returncode == 0
    folder = cli.root / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "blob.bin").write_bytes(bytes(range(256)) * 3)
    (folder / "text").write_text("hello\n")
    (folder / "link").symlink_to("sub/blob.bin")
    digest = push(folder, port, "vol")
    reference = f"localhost:{port}/vol@{digest}"
    cli.add_pod(pod(reference))
    refused = kubectl(cli, "describe pod pod").stdout
    assert re.search(r"\n      Reason:\s+ErrImagePull\n", refused)
    if runtime == "containerd":
        assert (
            f'failed to resolve reference "{reference}": failed to do request: Head '
            f'"https://localhost:{port}/v2/vol/manifests/{digest}": dial tcp 127.0.0.1:{port}: '
            "connect: connection refused" in refused
        )
    else:
        assert (
            f"RegistryUnavailable: pinging container registry localhost:{port}: "
            f'Get "https://localhost:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: connection refused'
        ) in refused
    for node in cli.run("kind get nodes --name c").stdout.split():
        if runtime == "containerd":
            directory = f"/etc/containerd/certs.d/localhost:{port}"
            text, target = '[host."http://c-registry:5000"]\n', f"{directory}/hosts.toml"
        else:
            directory = "/etc/containers/registries.conf.d"
            text = (
                f'[[registry]]\nprefix = "localhost:{port}"\nlocation = "c-registry:5000"\ninsecure = true\n'
            )
            target = f"{directory}/50-registry.conf"
        assert cli.run(f"docker exec {node} mkdir -p '{directory}'").returncode == 0
        assert cli.run(f"docker exec -i {node} cp /dev/stdin '{target}'", stdin=text).returncode == 0
    if runtime == "crio":
        # written, not yet read: CRI-O reads registries.conf.d when it reloads
        assert "pinging container registry localhost:" in kubectl(cli, "describe pod pod").stdout
        for node in ("c-control-plane", "c-worker"):
            assert cli.run(f"docker exec {node} systemctl reload crio").returncode == 0
    unresolved = kubectl(cli, "describe pod pod").stdout
    assert "dial tcp: lookup c-registry on 172.18.0.1:53: no such host" in unresolved  # not on `kind` yet
    assert cli.run("docker network connect kind c-registry").returncode == 0
    waited = kubectl(cli, "wait --for=condition=Ready pod/pod --timeout=10s")
    assert waited.returncode == 0, kubectl(cli, "describe pod pod").stdout
    listing = kubectl(cli, "exec pod -- ls -l /volume").stdout
    assert "link -> sub/blob.bin" in listing and " text\n" in listing
    read = subprocess.run(
        ["/bin/sh", "-c", "kubectl --kubeconfig c.kc exec pod -- cat /volume/link"],
        capture_output=True, env=cli.env, cwd=cli.root, check=False,
    )  # fmt: skip
    assert read.stdout == bytes(range(256)) * 3
    checked = cli.run(
        "kubectl --kubeconfig c.kc exec -i pod -- sha256sum -c -", stdin=sums_of(folder, "/volume")
    )
    assert (checked.returncode, checked.stdout) == (0, "/volume/sub/blob.bin: OK\n/volume/text: OK\n")
    # a digest the registry does not hold
    other = f"localhost:{port}/vol@sha256:{'0' * 64}"
    cli.add_pod({**pod(other), "metadata": {"name": "other", "namespace": "default"}})
    missing = kubectl(cli, "describe pod other").stdout
    if runtime == "containerd":
        assert f'failed to resolve reference "{other}": {other}: not found' in missing
    else:
        assert f"reading manifest sha256:{'0' * 64} in c-registry:5000/vol: manifest unknown" in missing
    # pulled images stay on the node: the registry gone, the pod still runs
    assert cli.run("docker rm -f -v c-registry").returncode == 0
    assert kubectl(cli, "exec pod -- cat /volume/text").stdout == "hello\n"


def test_crio_rereads_registries_when_its_node_restarts(cli: FakeCli) -> None:
    made(cli)
    node = cli.cluster("c").nodes[1]
    assert node["name"] == "c-worker" and node["crio_registries"] == {}
    conf = "/etc/containers/registries.conf.d/50-r.conf"
    assert cli.run(f"docker exec -i c-worker cp /dev/stdin {conf}", stdin="[[registry]]\n").returncode == 0
    assert cli.cluster("c").nodes[1]["crio_registries"] == {}  # not read yet
    cli.stop_cluster("c")
    cli.start_cluster("c")
    assert cli.cluster("c").nodes[1]["crio_registries"] == {conf: "[[registry]]\n"}


def test_sha256sum_check_prints_busybox_lines_and_status(cli: FakeCli) -> None:
    made(cli)
    cli.add_pod(pod("quay.io/crio/artifact:v2"))
    one, two = hashlib.sha256(b"1\n").hexdigest(), hashlib.sha256(b"2\n").hexdigest()
    listing = (
        f"{one}  /volume/dir/file\n{one}  /volume/file\n{two}  /volume/gone\n{two} */volume/file\nnospace\n"
    )
    checked = kubectl(cli, "exec -i pod -- sha256sum -c -")
    assert (checked.returncode, checked.stderr) == (
        1,
        "sha256sum: -: no checksum lines found\ncommand terminated with exit code 1\n",
    )  # no -i: the container's stdin is empty
    checked = cli.run("kubectl --kubeconfig c.kc exec --stdin pod -- sha256sum -c -", stdin=listing)
    assert checked.returncode == 1
    assert checked.stdout == (
        "/volume/dir/file: OK\n/volume/file: FAILED\n/volume/gone: FAILED\n/volume/file: OK\n"
    )
    assert checked.stderr == (
        "sha256sum: can't open '/volume/gone': No such file or directory\n"
        "sha256sum: WARNING: 3 of 5 computed checksums did NOT match\n"
        "command terminated with exit code 1\n"
    )
    good = cli.run(
        "kubectl --kubeconfig c.kc exec -i pod -- sha256sum -c -", stdin=f"{one}  /volume/dir/file\n"
    )
    assert (good.returncode, good.stdout, good.stderr) == (0, "/volume/dir/file: OK\n", "")


def test_missing_pod_tools_knob(cli: FakeCli) -> None:
    made(cli)
    cli.add_pod(pod("quay.io/crio/artifact:v2"))
    cli.extra_env["FAKE_POD_MISSING_TOOLS"] = "sha256sum,cat"
    for program in ("sha256sum -c -", "cat /volume/file"):
        result = kubectl(cli, f"exec pod -- {program}")
        name = program.split()[0]
        assert result.returncode == 255
        assert f'exec: "{name}": executable file not found in $PATH' in result.stderr
    assert kubectl(cli, "exec pod -- ls -l /volume/file").returncode == 0
