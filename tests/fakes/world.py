"""The fakes' shared world: engines, kind clusters, nodes, pods, a virtual clock.

Both the fake executables (fakecli.py) and the Python-side helper (cli.py)
read and write it. Layout under $FAKE_STATE (see cli.py for the whole list):

    clock                                   virtual seconds since the world began
    ports/<port>                            which cluster serves 127.0.0.1:<port>
    engines/<provider>/<endpoint>/clusters/<name>/
        cluster.json                        nodes, runtime, credentials, configmaps, namespaces
        config.yaml                         the kind config kind was given
        kubeconfig                          kind's external kubeconfig (JSON, which is YAML)
        pods/<namespace>/<name>.json        Pod objects as the API server holds them
        node-images/<node>/<key>.json|.layer  images a node's runtime pulled from a local registry
    engines/docker/<endpoint>/containers/<name>.json   other containers (the registry): id, name,
                                            image, labels, ports, networks, state, pid
    engines/docker/<endpoint>/containers/<name>.registry/   its docker-registry config, store, log
    engines/docker/<endpoint>/networks/kind the `kind` network exists (made by kind's first cluster)

Time never sleeps: a node is Ready `ready_after` virtual seconds after its
creation, and whoever "waits" (kind --wait, kubectl wait) moves the clock.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# kind: pkg/cluster/internal/providers/docker/constants.go (clusterLabelKey) and
# pkg/cluster/internal/providers/docker/provision.go (--label, --restart=on-failure:1).
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
RESTART_POLICY = "on-failure:1"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# The namespaces a fresh kind cluster has (kubeadm's three, the API server's
# default, and the local-path-storage namespace of kind's default storage
# manifest: kind pkg/build/nodeimage/const_storage.go).
BUILTIN_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"]
# kind config with this criSocket: the nodes run CRI-O (docs/walkthrough.md section 2).
CRIO_SOCKET = "unix:///var/run/crio/crio.sock"


# The wall-clock second virtual time 0 stands for (2025-06-03 12:00 UTC, the
# time BusyBox ls shows for the image files).
EPOCH = 1748952000


def state_root() -> Path:
    return Path(os.environ["FAKE_STATE"])


# --- clock ------------------------------------------------------------------


def now(root: Path) -> float:
    path = root / "clock"
    return float(path.read_text()) if path.exists() else 0.0


def advance_to(root: Path, moment: float) -> None:
    if moment > now(root):
        root.mkdir(parents=True, exist_ok=True)
        (root / "clock").write_text(repr(moment))


# --- engines ----------------------------------------------------------------


def docker_endpoint(env: dict[str, str] | os._Environ[str]) -> tuple[str, str]:
    """(slug, host) of the Docker daemon the docker CLI talks to.

    docker/cli cli/command/cli.go resolveContextName: DOCKER_HOST wins (the
    "default" context built from it), then DOCKER_CONTEXT, then the default
    socket."""
    host = env.get("DOCKER_HOST", "")
    if host:
        return "host-" + slug(host), host
    context = env.get("DOCKER_CONTEXT", "")
    if context and context != "default":
        return "context-" + slug(context), DEFAULT_DOCKER_HOST
    return "default", DEFAULT_DOCKER_HOST


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def engine_dir(root: Path, provider: str, endpoint: str) -> Path:
    return root / "engines" / provider / endpoint


# uname machine -> Go's GOARCH, as containerd/platforms database.go
# normalizeArch maps them (ppc64le, s390x, riscv64: the same name).
GO_ARCHES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def docker_machine() -> str:
    """The Docker host's machine name (uname -m), FAKE_DOCKER_ARCH."""
    return os.environ.get("FAKE_DOCKER_ARCH") or "x86_64"


# --- the `kind` network and other containers ----------------------------------


def kind_network_exists(root: Path, provider: str, endpoint: str) -> bool:
    """kind pkg/cluster/internal/providers/docker/network.go ensureNetwork:
    the first cluster creates the `kind` network; `kind delete cluster`
    never removes it."""
    base = engine_dir(root, provider, endpoint)
    return (base / "networks" / "kind").exists() or bool(clusters_in(root, provider, endpoint))


def containers_dir(root: Path, endpoint: str) -> Path:
    return engine_dir(root, "docker", endpoint) / "containers"


def load_containers(root: Path, endpoint: str) -> dict[str, dict[str, Any]]:
    """The engine's non-node containers by name."""
    base = containers_dir(root, endpoint)
    if not base.exists():
        return {}
    found = (json.loads(p.read_text()) for p in sorted(base.glob("*.json")))
    return {record["name"]: record for record in found}


def save_container(root: Path, endpoint: str, record: dict[str, Any]) -> None:
    base = containers_dir(root, endpoint)
    base.mkdir(parents=True, exist_ok=True)
    (base / f"{record['name']}.json").write_text(json.dumps(record, indent=1))


def remove_container(root: Path, endpoint: str, name: str) -> None:
    base = containers_dir(root, endpoint)
    (base / f"{name}.json").unlink(missing_ok=True)
    shutil.rmtree(base / f"{name}.registry", ignore_errors=True)


def registry_dir(root: Path, endpoint: str, name: str) -> Path:
    """Where a registry container's docker-registry keeps its config, store and log."""
    return containers_dir(root, endpoint) / f"{name}.registry"


def group_alive(pgid: int, mark: str) -> bool:
    """Whether a live process of the process group a fake started (its
    leader's pid) is still there: one whose command line holds `mark` (e.g.
    its config path: reused ids are someone else's), not a zombie. A thread
    of a Go program may end, a zombie with an empty cmdline, while the others
    serve: any live thread counts."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for task in (proc / "task").iterdir():
                state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X") and mark.encode() in (task / "cmdline").read_bytes():
                    return True
        except (OSError, IndexError, ValueError):
            continue
    return False


def stop_process(pgid: int, mark: str, timeout: float = 10.0) -> None:
    """Kill the process group a fake started (SIGKILL, as `docker rm -f`
    kills a container: moby daemon/delete.go) and wait until it is gone."""
    if not group_alive(pgid, mark):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while group_alive(pgid, mark) and time.monotonic() < deadline:
        time.sleep(0.01)


def stop_container_processes(root: Path) -> None:
    """Kill every process the fakes started for containers under `root`."""
    for path in sorted((root / "engines").glob("docker/*/containers/*.json")):
        record = json.loads(path.read_text())
        if record.get("pid"):
            stop_process(int(record["pid"]), record.get("mark", ""))


# --- clusters ---------------------------------------------------------------


@dataclass
class Cluster:
    """One kind cluster: its directory and its cluster.json record."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def root(self) -> Path:
        return self.path.parents[4]

    @property
    def runtime(self) -> str:
        return str(self.data["runtime"])

    @property
    def nodes(self) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = self.data["nodes"]
        return nodes

    @property
    def running(self) -> bool:
        return all(node["running"] for node in self.nodes)

    def save(self) -> None:
        (self.path / "cluster.json").write_text(json.dumps(self.data, indent=1))

    def kubeconfig(self) -> str:
        return (self.path / "kubeconfig").read_text()

    def node_ready_at(self, node: dict[str, Any]) -> float | None:
        after = node["ready_after"]
        return None if after is None else float(node["started"]) + float(after)

    def node_ready(self, node: dict[str, Any], moment: float) -> bool:
        ready_at = self.node_ready_at(node)
        return node["running"] and ready_at is not None and ready_at <= moment

    def pod_node(self) -> dict[str, Any]:
        """Where a pod runs: the first worker, else the control plane (kind
        taints no node when there are no workers)."""
        workers = [n for n in self.nodes if n["role"] == "worker"]
        return workers[0] if workers else self.nodes[0]

    # pods: one JSON file per object, as the API server stores them
    def pod_path(self, namespace: str, name: str) -> Path:
        return self.path / "pods" / namespace / f"{name}.json"

    def pods(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in sorted((self.path / "pods").glob("*/*.json")):
            yield path, json.loads(path.read_text())


def load_cluster(path: Path) -> Cluster:
    return Cluster(path, json.loads((path / "cluster.json").read_text()))


def clusters_in(root: Path, provider: str, endpoint: str) -> list[Cluster]:
    base = engine_dir(root, provider, endpoint) / "clusters"
    return [load_cluster(p) for p in sorted(base.iterdir())] if base.exists() else []


def all_clusters(root: Path) -> list[Cluster]:
    return [load_cluster(p.parent) for p in sorted((root / "engines").glob("*/*/clusters/*/cluster.json"))]


def new_port(root: Path) -> int:
    ports = root / "ports"
    ports.mkdir(parents=True, exist_ok=True)
    while True:  # kind publishes the API server on a random free host port
        port = 32768 + secrets.randbelow(28000)
        if not (ports / str(port)).exists():
            return port


def create_cluster(
    root: Path,
    *,
    provider: str,
    endpoint: str,
    name: str,
    image: str,
    config: dict[str, Any],
    config_text: str,
) -> Cluster:
    """Node containers made and Kubernetes set up (kind create's provisioning)."""
    path = engine_dir(root, provider, endpoint) / "clusters" / name
    path.mkdir(parents=True)
    networks = engine_dir(root, provider, endpoint) / "networks"
    networks.mkdir(parents=True, exist_ok=True)
    (networks / "kind").touch()  # kind network.go ensureNetwork
    (path / "config.yaml").write_text(config_text)
    roles = [str(n.get("role", "control-plane")) for n in config.get("nodes") or [{"role": "control-plane"}]]
    never = os.environ.get("FAKE_KIND_NOT_READY") == "1"
    control_plane_after = float(os.environ.get("FAKE_CONTROL_PLANE_READY_SECONDS", "0"))
    worker_after = float(os.environ.get("FAKE_WORKER_READY_SECONDS", "0"))
    started = now(root)
    nodes = []
    # kind: pkg/cluster/internal/providers/common/namer.go (MakeNodeNamer): the
    # first node of a role is <cluster>-<role>, the next <cluster>-<role>2, ...
    counts: dict[str, int] = {}
    for role in sorted(roles, key=lambda r: r != "control-plane"):
        counts[role] = counts.get(role, 0) + 1
        suffix = "" if counts[role] == 1 else str(counts[role])
        after = None if never else (control_plane_after if role == "control-plane" else worker_after)
        nodes.append(
            {
                "name": f"{name}-{role}{suffix}",
                "role": role,
                "id": secrets.token_hex(32),
                "restart": RESTART_POLICY,
                "running": True,
                "started": started,
                "ready_after": after,
                # what CRI-O read from /etc/containers/registries.conf.d when it
                # last (re)started or reloaded (see reload_crio)
                "crio_registries": {},
            }
        )
    port = new_port(root)
    token = "fake-secret-" + secrets.token_hex(16)
    data: dict[str, Any] = {
        "name": name,
        "provider": provider,
        "endpoint": endpoint,
        "image": image,
        "runtime": "crio" if CRIO_SOCKET in config_text else "containerd",
        "port": port,
        "token": token,
        "nodes": nodes,
        "api_down_calls": 0,
        "configmaps": {},
        "namespaces": list(BUILTIN_NAMESPACES),
    }
    # kind: pkg/cluster/internal/kubeconfig/internal/kubeconfig/helpers.go
    # KINDClusterKey: cluster, user and context are all named kind-<name>.
    key = f"kind-{name}"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": key, "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "contexts": [{"name": key, "context": {"cluster": key, "user": key}}],
        "current-context": key,
        "preferences": {},
        "users": [{"name": key, "user": {"client-key-data": token}}],
    }
    (path / "kubeconfig").write_text(json.dumps(kubeconfig, indent=2) + "\n")
    (root / "ports" / str(port)).write_text(str(path.relative_to(root)))
    cluster = Cluster(path, data)
    cluster.save()
    return cluster


def delete_cluster(cluster: Cluster) -> None:
    (cluster.root / "ports" / str(cluster.data["port"])).unlink(missing_ok=True)
    shutil.rmtree(cluster.path)


def stop_cluster(cluster: Cluster) -> None:
    """The Docker daemon stopped: every node container exits."""
    for node in cluster.nodes:
        node["running"] = False
    cluster.save()


def start_cluster(cluster: Cluster, api_down_calls: int = 0) -> None:
    """The daemon is back: kind's nodes restart (--restart=on-failure:1) and
    the API server needs a while before it answers."""
    moment = now(cluster.root)
    for node in cluster.nodes:
        node["running"] = True
        node["started"] = moment
        # The node's files are on its own file system: they stay. Its CRI-O
        # starts again and reads its configuration afresh.
        node["crio_registries"] = registries_drop_ins(node)
    cluster.data["api_down_calls"] = api_down_calls
    cluster.save()


REGISTRIES_D = "/etc/containers/registries.conf.d/"


def registries_drop_ins(node: dict[str, Any]) -> dict[str, str]:
    """The node's registries.conf.d drop-ins as containers/image reads them
    (pkg/sysregistriesv2/system_registries_v2.go dropInConfigs: files ending
    in .conf)."""
    files: dict[str, str] = node.get("files") or {}
    return {
        path: text
        for path, text in sorted(files.items())
        if path.startswith(REGISTRIES_D) and "/" not in path[len(REGISTRIES_D) :] and path.endswith(".conf")
    }


def reload_crio(cluster: Cluster, node: dict[str, Any]) -> None:
    """`systemctl reload crio`: cri-o contrib/systemd/crio.service
    ExecReload=/bin/kill -s HUP $MAINPID; on SIGHUP CRI-O reloads its
    configuration (pkg/config/reload.go Reload → ReloadRegistries:
    sysregistriesv2.TryUpdatingCache). Until then it pulls with what it read
    before."""
    node["crio_registries"] = registries_drop_ins(node)
    cluster.save()


# --- reaching an API server -------------------------------------------------


class UnreachableError(Exception):
    """The API server cannot be reached; `host` is HOST:PORT."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


class UnauthorizedError(Exception):
    pass


def server_of(kubeconfig: dict[str, Any], context: str | None) -> tuple[str, Any]:
    """(server URL, credentials) of a context; KeyError if it does not exist."""
    name = context or kubeconfig.get("current-context") or ""
    contexts = {c["name"]: c["context"] for c in kubeconfig.get("contexts") or []}
    chosen = contexts[name]
    clusters = {c["name"]: c["cluster"] for c in kubeconfig.get("clusters") or []}
    users = {u["name"]: u["user"] for u in kubeconfig.get("users") or []}
    return str(clusters[chosen["cluster"]]["server"]), users.get(chosen.get("user"))


def host_port(server: str) -> str:
    return server.split("://", 1)[-1].split("/", 1)[0]


def reach(root: Path, server: str, credentials: Any, consume: bool = True) -> Cluster:
    """The cluster serving `server`, as a client would meet it."""
    host = host_port(server)
    index = root / "ports" / host.rsplit(":", 1)[-1]
    if not host.startswith("127.0.0.1:") or not index.exists():
        raise UnreachableError(host)
    cluster = load_cluster(root / index.read_text())
    if not cluster.running:
        raise UnreachableError(host)
    if cluster.data["api_down_calls"] > 0:
        if consume:
            cluster.data["api_down_calls"] -= 1
            cluster.save()
        raise UnreachableError(host)
    if os.environ.get("FAKE_KUBECTL_UNAUTHORIZED") == "1" or credentials != {
        "client-key-data": cluster.data["token"]
    }:
        raise UnauthorizedError()
    return cluster


# --- API objects ------------------------------------------------------------


class ApiError(Exception):
    """An API status error: `reason` as in metav1.StatusReason, message as the
    API server writes it (apimachinery pkg/api/errors/errors.go: NewNotFound
    `%s %q not found`, NewAlreadyExists `%s %q already exists`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def not_found(resource: str, name: str) -> ApiError:
    return ApiError("NotFound", f'{resource} "{name}" not found')


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError("AlreadyExists", f'{resource} "{name}" already exists')


def create_object(cluster: Cluster, manifest: dict[str, Any]) -> dict[str, Any]:
    """Store a Pod or Namespace as the API server would (new uid)."""
    kind = manifest.get("kind", "Pod")
    obj: dict[str, Any] = json.loads(json.dumps(manifest))
    metadata = obj.setdefault("metadata", {})
    name = str(metadata["name"])
    metadata["uid"] = str(metadata.get("uid") or _uid())
    metadata["creationTimestamp"] = now(cluster.root)
    if kind == "Namespace":
        if name in cluster.data["namespaces"]:
            raise already_exists("namespaces", name)
        cluster.data["namespaces"].append(name)
        cluster.save()
        return obj
    namespace = str(metadata.setdefault("namespace", "default"))
    if namespace not in cluster.data["namespaces"]:
        raise not_found("namespaces", namespace)
    path = cluster.pod_path(namespace, name)
    if path.exists():  # a Terminating pod still holds its name
        raise already_exists("pods", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    obj.setdefault("kind", "Pod")
    path.write_text(json.dumps(obj))
    return obj


def get_object(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any]:
    if kind == "Namespace":
        if name not in cluster.data["namespaces"]:
            raise not_found("namespaces", name)
        return {"kind": "Namespace", "metadata": {"name": name}}
    path = cluster.pod_path(namespace, name)
    if not path.exists():
        raise not_found("pods", name)
    pod: dict[str, Any] = json.loads(path.read_text())
    return pod


def delete_object(cluster: Cluster, kind: str, namespace: str, name: str, wait: bool) -> None:
    if kind == "Namespace":
        if name not in cluster.data["namespaces"]:
            raise not_found("namespaces", name)
        cluster.data["namespaces"].remove(name)
        cluster.save()
        shutil.rmtree(cluster.path / "pods" / name, ignore_errors=True)
        return
    pod = get_object(cluster, kind, namespace, name)
    path = cluster.pod_path(namespace, name)
    if wait:
        path.unlink()
        return
    # Graceful deletion: the object stays, Terminating, until the kubelet is done.
    pod["metadata"].setdefault("deletionTimestamp", now(cluster.root))
    path.write_text(json.dumps(pod))


def settle(cluster: Cluster) -> None:
    """Every Terminating pod finishes terminating."""
    for path, pod in cluster.pods():
        if "deletionTimestamp" in pod["metadata"]:
            path.unlink()


def _uid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
