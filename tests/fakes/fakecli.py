"""Fake `kind`, `kubectl`, `docker` (and a recording `pulumi`) for tests, run as real executables.

They follow the documented behaviour of the real CLIs that the project's
scripts meet (../shared/docs/REFERENCE.md section 3) and keep their state in
files under $FAKE_STATE: clusters (nodes, readiness, kubeconfig, configmaps)
and pods (written by the tests' Pulumi mocks when a Pod is "created"). Every
call is appended to $FAKE_STATE/calls.jsonl with its argv, for assertions.

Knobs (environment): FAKE_DOCKER_DOWN=1 (daemon unreachable),
FAKE_KIND_CREATE_ERROR=<text> (create fails), FAKE_KIND_NOT_READY=1 (nodes
never become Ready; kind's --wait times out and exits 0), FAKE_VOLUME_WRITABLE=1
(image volumes accept writes, which a correct runtime never does),
FAKE_POD_FAILURE=pull|hostpath|subpath (the pod never gets Ready: its image
volume cannot be pulled, the runtime lacks image volumes, a subPath is missing).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["FAKE_STATE"])
CLUSTERS = STATE / "clusters"
PODS = STATE / "pods"
CONNECTION_REFUSED = (
    "The connection to the server 127.0.0.1:40000 was refused - did you specify the right host or port?"
)
# The content of quay.io/crio/artifact:v1 and :v2 (REFERENCE.md section 1).
ARTIFACT_FILES = {"dir/file": "1\n", "file": "2\n"}


PULUMI_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def log_call(program: str, argv: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    record = {"program": program, "argv": argv, "env": {k: os.environ.get(k) for k in PULUMI_ENV}}
    with (STATE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps(record) + "\n")


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def flag(argv: list[str], name: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def docker_reachable() -> bool:
    return os.environ.get("FAKE_DOCKER_DOWN") != "1"


DOCKER_DOWN = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
)


# --- docker -----------------------------------------------------------------


def docker(argv: list[str]) -> None:
    if argv[:1] == ["info"]:
        if not docker_reachable():
            fail(DOCKER_DOWN)
        print("Server Version: 28.2.2")
        return
    fail(f"fake docker: unsupported {argv}")


# --- kind -------------------------------------------------------------------


def cluster_dir(name: str) -> Path:
    return CLUSTERS / name


def kubeconfig_text(name: str) -> str:
    return (cluster_dir(name) / "kubeconfig").read_text()


def default_kubeconfig_path() -> Path:
    explicit = os.environ.get("KUBECONFIG")
    return Path(explicit) if explicit else Path(os.environ["HOME"]) / ".kube" / "config"


def kind_create(argv: list[str]) -> None:
    name = flag(argv, "--name", "kind")
    assert name is not None
    config_arg = flag(argv, "--config")
    config_text = sys.stdin.read() if config_arg == "-" else Path(config_arg or "/dev/null").read_text()
    import yaml  # noqa: PLC0415 - only create parses YAML; every other call stays fast

    config = yaml.safe_load(config_text) or {}
    if config.get("kind") != "Cluster" or config.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        fail("ERROR: failed to create cluster: unknown apiVersion/kind in config")
    if cluster_dir(name).exists():
        fail(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"')
    if not docker_reachable():
        fail(f"ERROR: failed to create cluster: failed to list nodes: {DOCKER_DOWN}")
    sys.stderr.write(f'Creating cluster "{name}" ...\n')
    error = os.environ.get("FAKE_KIND_CREATE_ERROR")
    if error:
        # Without --retain, kind deletes the nodes of a failed create.
        fail(f"ERROR: failed to create cluster: {error}")
    nodes = [f"{name}-control-plane"]
    workers = [n for n in config.get("nodes", []) if n.get("role") == "worker"]
    nodes += [f"{name}-worker{'' if i == 0 else i + 1}" for i in range(len(workers))]
    ready = os.environ.get("FAKE_KIND_NOT_READY") != "1"
    token = "fake-secret-" + secrets.token_hex(16)
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"kind-{name}", "cluster": {"server": "https://127.0.0.1:40000"}}],
        "contexts": [
            {"name": f"kind-{name}", "context": {"cluster": f"kind-{name}", "user": f"kind-{name}"}}
        ],
        "current-context": f"kind-{name}",
        "users": [{"name": f"kind-{name}", "user": {"client-key-data": token}}],
    }
    directory = cluster_dir(name)
    directory.mkdir(parents=True)
    # JSON is YAML: kubectl reads it as kind's own YAML kubeconfig.
    (directory / "kubeconfig").write_text(json.dumps(kubeconfig, indent=2) + "\n")
    (directory / "config.yaml").write_text(config_text)
    (directory / "image").write_text(flag(argv, "--image", "kindest/node:default") or "")
    (directory / "state.json").write_text(json.dumps({"nodes": nodes, "ready": ready, "configmaps": {}}))
    target = Path(flag(argv, "--kubeconfig") or default_kubeconfig_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(kubeconfig_text(name))
    if flag(argv, "--wait") and not ready:
        sys.stderr.write(" • WARNING: Timed out waiting for Ready ⚠️\n")
    sys.stderr.write(f'Set kubectl context to "kind-{name}"\n')


def kind_delete(argv: list[str]) -> None:
    name = flag(argv, "--name", "kind")
    assert name is not None
    sys.stderr.write(f'Deleting cluster "{name}" ...\n')
    if not docker_reachable():
        fail(f"ERROR: failed to delete cluster: {DOCKER_DOWN}")
    shutil.rmtree(cluster_dir(name), ignore_errors=True)  # a missing cluster is not an error
    target = Path(flag(argv, "--kubeconfig") or default_kubeconfig_path())
    if target.exists():  # kind removes the cluster's entries from that kubeconfig
        target.write_text(target.read_text())


def kind(argv: list[str]) -> None:
    verb = argv[:2]
    if verb == ["create", "cluster"]:
        kind_create(argv[2:])
    elif verb == ["delete", "cluster"]:
        kind_delete(argv[2:])
    elif verb == ["get", "clusters"]:
        names = sorted(p.name for p in CLUSTERS.glob("*")) if CLUSTERS.exists() else []
        if not names:
            sys.stderr.write("No kind clusters found.\n")
        for name in names:
            print(name)
    elif verb == ["get", "kubeconfig"]:
        wanted = flag(argv, "--name", "kind") or "kind"
        if not cluster_dir(wanted).exists():
            fail(
                f'ERROR: could not locate any control plane nodes for cluster named "{wanted}". '
                "Use the --name option to select a different cluster"
            )
        sys.stdout.write(kubeconfig_text(wanted))
    else:
        fail(f"fake kind: unsupported {argv}")


# --- kubectl ----------------------------------------------------------------


def load_state(name: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((cluster_dir(name) / "state.json").read_text())
    return state


def save_state(name: str, state: dict[str, Any]) -> None:
    (cluster_dir(name) / "state.json").write_text(json.dumps(state))


def connected_cluster(argv: list[str]) -> str:
    path = flag(argv, "--kubeconfig")
    if path is None:
        fail("fake kubectl: refusing to use the default kubeconfig in tests (pass --kubeconfig)")
    config = json.loads(Path(path or "").read_text())
    context = flag(argv, "--context") or config.get("current-context")
    contexts = {c["name"]: c["context"] for c in config.get("contexts", [])}
    if context not in contexts:
        fail(f'error: context "{context}" does not exist')
    name = str(contexts[context]["cluster"]).removeprefix("kind-")
    users = {u["name"]: u["user"] for u in config.get("users", [])}
    # A recreated cluster has new credentials: an old kubeconfig cannot reach it.
    if not cluster_dir(name).exists() or credentials(json.loads(kubeconfig_text(name))) != users.get(
        contexts[context]["user"]
    ):
        fail(CONNECTION_REFUSED)
    return name


def credentials(kubeconfig: dict[str, Any]) -> Any:
    return kubeconfig["users"][0]["user"]


def pod_file(namespace: str, pod: str) -> Path:
    return PODS / namespace / f"{pod}.json"


def image_tree(reference: str, sub_path: str | None) -> dict[str, str]:
    files = ARTIFACT_FILES if reference.startswith("quay.io/crio/artifact") else {"README": "an image\n"}
    if not sub_path:
        return dict(files)
    prefix = sub_path.strip("/") + "/"
    return {path[len(prefix) :]: text for path, text in files.items() if path.startswith(prefix)}


def pod_mounts(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    volumes = {v["name"]: v["image"]["reference"] for v in spec["volumes"]}
    mounts = {}
    for mount in spec["containers"][0].get("volumeMounts", []):
        tree = image_tree(volumes[mount["name"]], mount.get("subPath"))
        mounts[os.path.normpath(mount["mountPath"])] = tree
    return mounts


def resolve(mounts: dict[str, dict[str, str]], path: str) -> tuple[str, dict[str, str], str] | None:
    path = os.path.normpath(path)
    for mount in sorted(mounts, key=len, reverse=True):
        if path == mount or path.startswith(mount + "/"):
            return mount, mounts[mount], path[len(mount) :].strip("/")
    return None


def listing(tree: dict[str, str], inside: str) -> list[str] | None:
    prefix = inside + "/" if inside else ""
    entries: dict[str, str | None] = {}
    for path, text in tree.items():
        if path.startswith(prefix):
            head, _, rest = path[len(prefix) :].partition("/")
            entries[head] = None if rest else text
    if not entries and inside not in ("",):
        return None
    lines = [f"total {len(entries) * 4}"]
    for entry, content in sorted(entries.items()):
        if content is None:
            lines.append(f"drwxr-xr-x 2 1000 users 4096 Jun  3 12:00 {entry}")
        else:
            lines.append(f"-rw-r--r-- 1 1000 users {len(content)} Jun  3 12:00 {entry}")
    return lines


def mangle(path: str) -> str:
    return "".join({" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}.get(c, c) for c in path)


def run_in_container(mounts: dict[str, dict[str, str]], command: list[str]) -> int:
    program, args = command[0], command[1:]
    if program == "echo":
        print(" ".join(args))
        return 0
    if program == "cat" and args == ["/proc/mounts"]:
        print("overlay / overlay rw,relatime 0 0")
        options = (
            "rw,relatime"
            if os.environ.get("FAKE_VOLUME_WRITABLE") == "1"
            else "ro,nosuid,nodev,noexec,relatime"
        )
        for mount in mounts:
            print(f"overlay {mangle(mount)} overlay {options} 0 0")
        return 0
    if program == "ls" and args[:1] == ["-l"] and len(args) == 2:
        found = resolve(mounts, args[1])
        lines = listing(found[1], found[2]) if found else None
        if lines is None:
            sys.stderr.write(f"ls: cannot access '{args[1]}': No such file or directory\n")
            return 2
        print("\n".join(lines))
        return 0
    if program == "cat" and len(args) == 1:
        found = resolve(mounts, args[0])
        if found is None or found[2] not in found[1]:
            sys.stderr.write(f"cat: {args[0]}: No such file or directory\n")
            return 1
        sys.stdout.write(found[1][found[2]])
        return 0
    if program == "touch" and len(args) == 1:
        if resolve(mounts, args[0]) is not None and os.environ.get("FAKE_VOLUME_WRITABLE") != "1":
            sys.stderr.write(f"touch: cannot touch '{args[0]}': Read-only file system\n")
            return 1
        return 0
    sys.stderr.write(f'exec: "{program}": executable file not found in $PATH\n')
    return 127


def load_pod(namespace: str, pod: str) -> dict[str, Any]:
    path = pod_file(namespace, pod)
    if not path.exists():
        fail(f'Error from server (NotFound): pods "{pod}" not found')
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def pod_trouble(manifest: dict[str, Any]) -> tuple[str, list[str]]:
    """The container's waiting reason and the pod's events, per FAKE_POD_FAILURE
    (REFERENCE.md section 2: how each failure shows)."""
    failure = os.environ.get("FAKE_POD_FAILURE", "")
    reference = manifest["spec"]["volumes"][0]["image"]["reference"]
    if failure == "pull":
        return "ImagePullBackOff", [
            f'Warning  Failed  kubelet  Failed to pull image "{reference}": manifest unknown',
            "Warning  Failed  kubelet  Error: ErrImagePull",
            f'Normal   BackOff  kubelet  Back-off pulling image "{reference}"',
        ]
    if failure == "hostpath":
        return "ContainerCreating", ["Warning  Failed  kubelet  Error: mount.HostPath is empty"]
    if failure == "subpath":
        return "CreateContainerError", ["Warning  Failed  kubelet  Error: failed to create subPath directory"]
    return "", ["Normal   Started  kubelet  Started container test"]


def pod_wait(namespace: str, pod: str) -> None:
    manifest = load_pod(namespace, pod)
    reason, _ = pod_trouble(manifest)
    if reason:
        fail(f"error: timed out waiting for the condition on pods/{pod}")
    print(f"pod/{pod} condition met")


def describe_pod(namespace: str, pod: str) -> str:
    manifest = load_pod(namespace, pod)
    reason, events = pod_trouble(manifest)
    container = manifest["spec"]["containers"][0]
    state = f"Waiting\n      Reason:     {reason}" if reason else "Running"
    return "\n".join(
        [
            f"Name:             {pod}",
            f"Namespace:        {namespace}",
            "Containers:",
            f"  {container['name']}:",
            f"    Image:          {container['image']}",
            f"    State:          {state}",
            "Events:",
            "  Type     Reason   From     Message",
            *(f"  {event}" for event in events),
        ]
    )


VALUE_FLAGS = {"--kubeconfig", "--context", "--namespace", "-n", "--output", "-o", "--container", "-c"}


def positionals(argv: list[str]) -> list[str]:
    """kubectl's words without its flags and their values."""
    words, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in VALUE_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def kubectl(argv: list[str]) -> None:
    name = connected_cluster(argv)
    namespace = flag(argv, "--namespace", "default") or "default"
    state = load_state(name)
    words = positionals(argv[: argv.index("--")] if "--" in argv else argv)
    if "exec" in argv:
        command = argv[argv.index("--") + 1 :]
        pod = argv[argv.index("exec") + 1]
        code = run_in_container(pod_mounts(load_pod(namespace, pod)["spec"]), command)
        if code:
            fail(f"command terminated with exit code {code}", code)
        return
    pod_ref = next((w for w in words if w.startswith("pod/")), None)
    if "wait" in words and pod_ref is not None:
        pod_wait(namespace, pod_ref.removeprefix("pod/"))
        return
    if words[:2] == ["describe", "pod"]:
        print(describe_pod(namespace, words[2]))
        return
    if words[:2] == ["get", "pod"]:
        manifest = load_pod(namespace, words[2])
        if flag(argv, "--output") != "jsonpath={.metadata.uid}":
            fail(f"fake kubectl: unsupported output {flag(argv, '--output')}")
        sys.stdout.write(manifest["metadata"]["uid"])
        return
    if "wait" in words and "nodes" in words:
        if not state["ready"]:
            fail(f"error: timed out waiting for the condition on nodes/{state['nodes'][0]}")
        for node in state["nodes"]:
            print(f"node/{node} condition met")
        return
    if "get" in words and "nodes" in words:
        print("NAME STATUS ROLES AGE VERSION")
        for node in state["nodes"]:
            print(f"{node} {'Ready' if state['ready'] else 'NotReady'} <none> 1m v1.31.0")
        return
    if "configmap" in words:
        configmap = words[words.index("configmap") + 1]
        key = f"{namespace}/{configmap}"
        if "create" in words:
            literal = flag(argv, "--from-literal") or "="
            field, _, value = literal.partition("=")
            state["configmaps"][key] = {field: value}
            save_state(name, state)
            print(f"configmap/{configmap} created")
            return
        if key not in state["configmaps"]:
            fail(f'Error from server (NotFound): configmaps "{configmap}" not found')
        output = flag(argv, "--output") or ""
        field = output.removeprefix("jsonpath={.data.").removesuffix("}")
        sys.stdout.write(state["configmaps"][key].get(field, ""))
        return
    fail(f"fake kubectl: unsupported {argv}")


def pulumi(argv: list[str]) -> None:
    """Only recorded: the Makefile's wrapper is tested for what it asks of Pulumi."""


def main() -> None:
    program, argv = sys.argv[1], sys.argv[2:]
    log_call(program, argv)
    {"kind": kind, "kubectl": kubectl, "docker": docker, "pulumi": pulumi}[program](argv)


if __name__ == "__main__":
    main()
