"""FakeCli: a private PATH of fake kind/kubectl/docker (fakecli.py) and basic
host tools, a HOME, and the state the fakes share.

State layout under `state` ($FAKE_STATE):
    calls.jsonl                              one record per fake call: program, argv, Pulumi env
    clock                                    virtual seconds (moved by waits and `advance`)
    ports/<port>                             the cluster serving https://127.0.0.1:<port>
    engines/<provider>/<endpoint>/clusters/<name>/
        cluster.json  config.yaml  kubeconfig  pods/<namespace>/<pod>.json  node-images/
    engines/docker/<endpoint>/containers/<name>.json, <name>.registry/   other containers
    engines/docker/<endpoint>/networks/kind  the `kind` network exists
<endpoint> is "default", "host-<DOCKER_HOST slug>" or "context-<DOCKER_CONTEXT slug>".

A registry container (`docker run -d ... registry:3`) runs docker-registry for
real: stop_processes() ends every such process; it runs when the FakeCli is
garbage-collected or the interpreter exits too, but a fixture should call it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakes import world

FAKECLI = Path(__file__).resolve().parent / "fakecli.py"
FAKE_MAIN = (
    f"import sys; sys.path.insert(0, {str(FAKECLI.parent.parent)!r}); from fakes.fakecli import main; main()"
)
FAKE_PROGRAMS = ("kind", "kubectl", "docker", "pulumi", "sleep", "date")
# What the scripts may use from the host besides the fakes.
HOST_TOOLS = (
    *("sh", "bash", "mktemp", "rm", "cat", "grep", "awk", "head", "tail", "printf", "echo"),
    *("sed", "tr", "od", "mkdir", "dirname", "wc", "mv"),
    # the content check hashes on this machine when the pod has no sha256sum
    *("sha256sum", "cut", "sort"),
)


class ApiUnreachableError(Exception):
    """What client-go reports when the kubeconfig's cluster cannot be used."""


class Api:
    """The API server a kubeconfig reaches, as pulumi-kubernetes meets it."""

    def __init__(self, root: Path, server: str, credentials: Any, knobs: Mapping[str, str]) -> None:
        self.root = root
        self.server = server
        self.credentials = credentials
        self.knobs = dict(knobs)
        self.cluster_name = self._cluster().name

    def _cluster(self) -> world.Cluster:
        try:
            with _fake_state(self.root, self.knobs):
                return world.reach(self.root, self.server, self.credentials, consume=False)
        except world.UnreachableError as refused:
            # Go net/url url.Error: "%s %q: %s"; net.OpError "dial tcp HOST: connect: connection refused"
            raise ApiUnreachableError(
                f'Get "{self.server}/api?timeout=32s": dial tcp {refused.host}: connect: connection refused'
            ) from None
        except world.UnauthorizedError:
            # client-go: a 401 is a StatusError whose message is "Unauthorized"
            raise ApiUnreachableError("Unauthorized") from None

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        return world.create_object(self._cluster(), dict(manifest))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return world.get_object(self._cluster(), kind, namespace, name)

    def delete(self, kind: str, namespace: str, name: str, wait: bool = True) -> None:
        world.delete_object(self._cluster(), kind, namespace, name, wait)


@dataclass
class FakeCli:
    """A private PATH of fake kind/kubectl/docker (and basic tools), a HOME, a state dir."""

    root: Path
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.home = self.root / "home"
        self.state = self.root / "state"
        for directory in (self.bin, self.home, self.state):
            directory.mkdir(parents=True, exist_ok=True)
        for tool in HOST_TOOLS:
            found = shutil.which(tool)
            if found and not (self.bin / tool).exists():
                (self.bin / tool).symlink_to(found)
        for program in FAKE_PROGRAMS:
            self.install(program)
        self.extra_env: dict[str, str] = {}
        # A safety net: the processes of registry containers end with this
        # object at the latest (fixtures call stop_processes).
        self._finalizer = weakref.finalize(self, world.stop_container_processes, self.state)

    def stop_processes(self) -> None:
        """End every process the fakes started (each registry container's
        docker-registry), and wait for them."""
        world.stop_container_processes(self.state)

    # --- programs -----------------------------------------------------------

    def install(self, program: str) -> None:
        """Put a fake on the PATH: kind, kubectl, docker, podman or pulumi."""
        path = self.bin / program
        if program in self.missing or path.exists():
            return
        # Imported as a module, not run as a script: Python keeps no bytecode
        # for a script, and compiling fakecli.py took most of every call.
        path.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c {shlex.quote(FAKE_MAIN)} {program} "$@"\n'
        )
        path.chmod(0o755)

    def remove(self, program: str) -> None:
        (self.bin / program).unlink(missing_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "FAKE_STATE": str(self.state),
            "FAKE_OWNER_PID": str(os.getpid()),  # a registry container's process ends with this one
            "LANG": "C.UTF-8",
            **self.extra_env,
        }

    def run(
        self, script: str, stdin: str = "", env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a script as pulumi-command's local.Command does: /bin/sh -c."""
        return subprocess.run(
            ["/bin/sh", "-c", script],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=self.root,
            timeout=60,
            check=False,
        )

    # --- what happened --------------------------------------------------------

    def records(self, program: str | None = None) -> list[dict[str, Any]]:
        path = self.state / "calls.jsonl"
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines()]
        return [r for r in records if program is None or r["program"] == program]

    def calls(self, program: str | None = None) -> list[list[str]]:
        return [record["argv"] for record in self.records(program)]

    def clusters(self, provider: str | None = None, endpoint: str | None = None) -> list[str]:
        """Names of the clusters that exist (stopped ones too), on every engine
        unless one is named."""
        found = world.all_clusters(self.state)
        return sorted(
            c.name
            for c in found
            if (provider is None or c.data["provider"] == provider)
            and (endpoint is None or c.data["endpoint"] == endpoint)
        )

    def cluster(self, name: str | None = None) -> world.Cluster:
        """The cluster of that name (or the only one)."""
        found = [c for c in world.all_clusters(self.state) if name is None or c.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one cluster named {name!r}, found {[c.name for c in found]}")
        return found[0]

    def kubeconfig(self, name: str | None = None) -> str:
        """The kubeconfig kind wrote for the cluster (its secret included)."""
        return self.cluster(name).kubeconfig()

    # --- the world changing -----------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let virtual time pass (nodes get Ready on their schedule)."""
        world.advance_to(self.state, world.now(self.state) + seconds)

    def stop_cluster(self, name: str | None = None) -> None:
        """The Docker daemon stopped: the cluster's nodes exit (kept, listed by kind)."""
        world.stop_cluster(self.cluster(name))

    def start_cluster(self, name: str | None = None, api_down_calls: int = 0) -> None:
        """The daemon is back; the API server refuses the next `api_down_calls` kubectl calls."""
        world.start_cluster(self.cluster(name), api_down_calls)

    def stop_container(self, name: str, endpoint: str = "default") -> None:
        """A non-node container exits (its process ends; state "exited"),
        e.g. the registry crashed: `docker start` brings it back."""
        record = world.load_containers(self.state, endpoint)[name]
        if record.get("pid"):
            world.stop_process(int(record["pid"]), record.get("mark", ""))
        record.update(state="exited", pid=None)
        world.save_container(self.state, endpoint, record)

    def delete_cluster(self, name: str | None = None) -> None:
        """A user's `kind delete cluster --name NAME`: nodes and their context gone."""
        cluster = self.cluster(name)
        world.delete_cluster(cluster)
        config = self.home / ".kube" / "config"
        if config.exists():
            document = json.loads(config.read_text())
            key = f"kind-{cluster.name}"
            for section in ("clusters", "contexts", "users"):
                document[section] = [e for e in document.get(section) or [] if e["name"] != key]
            config.write_text(json.dumps(document, indent=2) + "\n")

    def settle(self) -> None:
        """Every Terminating pod finishes terminating."""
        for cluster in world.all_clusters(self.state):
            world.settle(cluster)

    # --- the API side (what pulumi-kubernetes does) ---------------------------

    def api(self, kubeconfig_text: str, context: str | None = None) -> Api:
        """The API server `kubeconfig_text` reaches; ApiUnreachableError with
        client-go's text when it cannot."""
        document = yaml.safe_load(kubeconfig_text)  # kind writes YAML; JSON is YAML too
        server, credentials = world.server_of(document, context)
        return Api(self.state, server, credentials, self.extra_env)

    def add_pod(self, manifest: Mapping[str, Any], cluster: str | None = None) -> None:
        """What the API server would hold once pulumi-kubernetes created the pod,
        for simple tests: into the named cluster, else into every cluster there
        is; its namespace is made if missing and a pod of that name replaced.
        (`api(...).create` is the strict path: AlreadyExists, NotFound.)"""
        targets = [self.cluster(cluster)] if cluster else world.all_clusters(self.state)
        if not targets:
            raise LookupError("add_pod: no cluster exists")
        metadata = manifest["metadata"]
        namespace = str(metadata.get("namespace", "default"))
        with _fake_state(self.state, self.extra_env):
            for target in targets:
                if namespace not in target.data["namespaces"]:
                    world.create_object(target, {"kind": "Namespace", "metadata": {"name": namespace}})
                target.pod_path(namespace, str(metadata["name"])).unlink(missing_ok=True)
                world.create_object(target, dict(manifest))


class _fake_state:  # noqa: N801 - used as a context manager
    """The knobs of `extra_env` (e.g. FAKE_KUBECTL_UNAUTHORIZED) seen by world code run in-process."""

    def __init__(self, state: Path, extra: Mapping[str, str]) -> None:
        self.values = {"FAKE_STATE": str(state), **extra}
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
