"""Fake `kind`, `kubectl`, `docker`, `podman` and `pulumi`, run as real executables.

One program dispatched by its first argument (tests/fakes/cli.py writes the
wrappers). They behave as the upstream tools do for what the project's
scripts meet; every message and exit code is read from the upstream source
named next to it. State lives under $FAKE_STATE (layout: fakes/world.py and
fakes/cli.py); every call is appended to $FAKE_STATE/calls.jsonl.

Knobs (environment):
  FAKE_DOCKER_DOWN=1                the Docker daemon is not running
  FAKE_DOCKER_DENIED=1              the user may not open the Docker socket
  FAKE_KIND_CREATE_ERROR=<text>     kind create fails with <text>; kind removes the nodes
  FAKE_KIND_EXPORT_ERROR=1          kind create fails writing the kubeconfig
                                    (lock file exists); the nodes stay
  FAKE_KIND_NOT_READY=1             nodes never get Ready
  FAKE_CONTROL_PLANE_READY_SECONDS  a control-plane node is Ready N virtual seconds after it starts (0)
  FAKE_WORKER_READY_SECONDS         a worker node likewise (0)
  FAKE_KUBECTL_UNAUTHORIZED=1       the API server rejects the credentials (401)
  FAKE_VOLUME_WRITABLE=1            image volumes accept writes (no correct runtime does)
  FAKE_VOLUME_EMPTY=1               image volumes are mounted empty, without an error
  FAKE_POD_FAILURE=pull|hostpath|subpath
                                    force a failure: the image volume cannot be
                                    pulled, the runtime lacks image volumes, a
                                    subPath is missing (they also arise on their
                                    own: containerd with quay.io/crio/artifact:v1,
                                    a subPath absent from the image, ...)
  FAKE_OCI_ARTIFACTS=ref,...        these references are OCI artifacts
  FAKE_MISSING_IMAGES=ref,...       these references are not in their registry
  FAKE_IMAGE_ARCHES=ref=arch,...    these references are single-platform images of
                                    that Go arch (amd64, arm64); any other image
                                    is an index: a pull gets the host's platform
  FAKE_PULUMI_ERROR=<text>          every pulumi command fails with <text>
  FAKE_KIND_VERSION=v0.32.0         what `kind version` reports (a release in KIND_GO_VERSIONS)
  FAKE_DOCKER_ARCH=x86_64           the Docker host's machine name (uname -m: x86_64,
                                    aarch64, ...): `docker info` Architecture; its
                                    Go arch is what an index pulls, and kind's arch
  FAKE_INOTIFY_MAX_USER_WATCHES     the Docker host kernel's fs.inotify.max_user_watches (524288)
  FAKE_INOTIFY_MAX_USER_INSTANCES   ... fs.inotify.max_user_instances (512)
  FAKE_POD_MISSING_TOOLS=sha256sum,cat
                                    these programs are not in the pod's container
                                    image: exec of them fails as exec of any
                                    missing program does
Docker verbs: info, ps, inspect, exec, cp, pull (image pull), image inspect,
`run [--rm] --entrypoint cat IMAGE /proc/sys/fs/inotify/max_user_{watches,instances}`,
and for a registry container (an image whose repository is `registry`):
`run -d [--restart=R] --name N [--label K=V]... -p 127.0.0.1:PORT:5000 IMAGE`,
start, `rm -f [-v]`, `network connect kind N`. Such a container runs Debian's
docker-registry for real on 127.0.0.1:PORT (its store under $FAKE_STATE):
tests/fakes/cli.py FakeCli.stop_processes ends them. Pulled images are kept per
daemon (engines/docker/<endpoint>/images.json).
In a node: `mkdir -p`, `cp /dev/stdin FILE` (`-i`), `tee FILE`, `cat FILE`,
`systemctl reload crio`.
kind verbs: create/delete cluster, get clusters/kubeconfig/nodes, version [-q].
`sleep` and `date +%s` are fakes too: they move and read the virtual clock
(world.EPOCH + virtual seconds), so a script's polling loop takes no real time.
Honoured as the real tools do: KIND_EXPERIMENTAL_PROVIDER, DOCKER_HOST,
DOCKER_CONTEXT, KUBECONFIG, KUBECACHEDIR, HOME. FAKE_OWNER_PID (set by FakeCli):
a registry container's docker-registry ends when that process is gone.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `fakes` as a package

from fakes import container, world
from fakes.world import Cluster

DOCKER_VERSION = "Docker version 28.2.2, build e6534b4"
PODMAN_VERSION = "podman version 5.4.1"
WRAPPER_MARK = "fakes.fakecli"  # in each wrapper tests/fakes/cli.py writes
PULUMI_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def root() -> Path:
    return world.state_root()


def log_call(program: str, argv: list[str]) -> None:
    root().mkdir(parents=True, exist_ok=True)
    record = {"program": program, "argv": argv, "env": {k: os.environ.get(k) for k in PULUMI_ENV}}
    with (root() / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps(record) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(message if message.endswith("\n") else message + "\n")
    sys.exit(code)


def flag(argv: list[str], name: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def duration_seconds(text: str) -> float:
    """A Go time.Duration string ("300s", "5m", "1h30m", "0")."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", text)
    if not parts:
        return float(text or 0)
    return sum(float(number) * units[unit] for number, unit in parts)


def go_duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def tabwrite(lines: list[str], padding: int, minwidth: int = 0) -> str:
    """Go's text/tabwriter: tab-terminated cells aligned per column block
    (consecutive lines that have that cell)."""
    rows = [line.split("\t") for line in lines]
    out: list[str] = []

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(rows[this]) - 1:
                this += 1
                continue
            write(line0, this, widths)
            line0 = this
            width = minwidth
            while this < line1 and column < len(rows[this]) - 1:
                width = max(width, len(rows[this][column]) + padding)
                this += 1
            fmt(line0, this, [*widths, width])
            line0 = this
        write(line0, line1, widths)

    def write(line0: int, line1: int, widths: list[int]) -> None:
        for row in rows[line0:line1]:
            cells = [cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(row)]
            out.append("".join(cells).rstrip(" ") if len(row) > len(widths) else "".join(cells))

    fmt(0, len(rows), [])
    return "".join(line + "\n" for line in out)


# --- engines -------------------------------------------------------------------


def version_line(program: str) -> str | None:
    """What `<program> -v` prints on this PATH (None: not installed or failing)."""
    found = shutil.which(program)
    if found is None:
        return None
    try:
        with open(found, "rb") as program_file:  # a real docker binary is large: its head says enough
            head = program_file.read(4096).decode(errors="replace")
        if WRAPPER_MARK in head:
            return {"docker": DOCKER_VERSION, "podman": PODMAN_VERSION}.get(program)
    except OSError:
        return None
    result = subprocess.run([found, "-v"], capture_output=True, text=True, check=False, timeout=30)
    lines = result.stdout.splitlines()
    return lines[0] if result.returncode == 0 and len(lines) == 1 else None


def kind_provider() -> str:
    """kind pkg/internal/runtime/runtime.go GetDefault, then pkg/cluster/provider.go
    NewProvider/DetectNodeProvider (each provider's IsAvailable: `<bin> -v`
    prints "Docker version", "nerdctl version" (or finch: "finch version"),
    "podman version"); with none available kind falls back to docker."""
    wanted = os.environ.get("KIND_EXPERIMENTAL_PROVIDER", "")
    if wanted in ("podman", "docker"):
        sys.stderr.write(f"using {wanted} due to KIND_EXPERIMENTAL_PROVIDER\n")
        return wanted
    if wanted in ("nerdctl", "finch", "nerdctl.lima"):
        sys.stderr.write(f"using {wanted} due to KIND_EXPERIMENTAL_PROVIDER\n")
        return wanted
    if wanted:
        sys.stderr.write(f'ignoring unknown value "{wanted}" for KIND_EXPERIMENTAL_PROVIDER\n')
    if (version_line("docker") or "").startswith("Docker version"):
        return "docker"
    if (version_line("nerdctl") or "").startswith("nerdctl version"):
        return "nerdctl"
    if (version_line("finch") or "").startswith("finch version"):
        return "nerdctl"
    if (version_line("podman") or "").startswith("podman version"):
        return "podman"
    return "docker"


def endpoint_of(provider: str) -> tuple[str, str]:
    if provider == "docker":
        return world.docker_endpoint(os.environ)
    return "default", ""


def daemon_error(host: str, method: str = "GET", path: str = "/info") -> str | None:
    """The docker client's error when its daemon cannot be reached, for a
    request `method path` (Docker 28.2.2: API v1.50, docker/cli v28.2.2
    vendor/github.com/docker/docker/api/common.go DefaultVersion; the path is
    versioned even when negotiation fails, client/client.go getAPIPath)."""
    if os.environ.get("FAKE_DOCKER_DENIED") == "1":
        # moby client/request.go doRequest (v28.2.2): os.IsPermission →
        # errConnectionFailed{errors.Wrapf(err, "permission denied while trying
        # to connect to the Docker daemon socket at %v", cli.host)}, wrapping
        # Go's url.Error "%s %q: %s" (Op: the method as "Get"/"Post").
        socket = host.removeprefix("unix://")
        quoted = socket.replace("/", "%2F")
        op = method[:1] + method[1:].lower()
        return (
            f"permission denied while trying to connect to the Docker daemon socket at {host}: "
            f'{op} "http://{quoted}/v1.50{path}": dial unix {socket}: connect: permission denied'
        )
    if os.environ.get("FAKE_DOCKER_DOWN") == "1":
        # moby client/errors.go connectionFailed (errConnectionFailed)
        return f"Cannot connect to the Docker daemon at {host}. Is the docker daemon running?"
    return None


# --- docker --------------------------------------------------------------------


def engine_clusters(provider: str = "docker") -> list[Cluster]:
    endpoint, _ = endpoint_of(provider)
    return world.clusters_in(root(), provider, endpoint)


def find_node(name: str) -> tuple[Cluster, dict[str, Any]] | None:
    for cluster in engine_clusters():
        for node in cluster.nodes:
            if name in (node["name"], node["id"], node["id"][:12]):
                return cluster, node
    return None


def docker(argv: list[str]) -> None:
    if argv[:1] in (["-v"], ["--version"]):
        print(DOCKER_VERSION)
        return
    _, host = world.docker_endpoint(os.environ)
    error = daemon_error(host)
    verb = argv[0] if argv else ""
    if verb == "info":
        docker_info(argv[1:], error)
        return
    # pull, image inspect and run report the daemon's error for their own request
    if verb == "pull" or argv[:2] == ["image", "pull"]:
        docker_pull(argv[1 if verb == "pull" else 2 :], host)
        return
    if argv[:2] == ["image", "inspect"]:
        docker_image_inspect(argv[2:], host)
        return
    if verb == "inspect" and flag(argv, "--type") == "image":
        # docker/cli cli/command/system/inspect.go: --type=image is image inspect
        # (kind's pullIfNotPresent asks so).
        rest = argv[1:]
        if "--type" in rest:
            del rest[rest.index("--type") : rest.index("--type") + 2]
        docker_image_inspect([arg for arg in rest if not arg.startswith("--type=")], host)
        return
    if verb == "run":
        if any(arg in ("-d", "--detach") for arg in argv[1:]):
            docker_run_detached(argv[1:], host)
        else:
            docker_run(argv[1:], host)
        return
    if error:
        fail(error)
    if verb == "ps":
        docker_ps(argv[1:])
    elif verb == "inspect":
        docker_inspect(argv[1:])
    elif verb == "exec":
        docker_exec(argv[1:])
    elif verb == "cp":
        docker_cp(argv[1:])
    elif verb == "start":
        docker_start(argv[1:])
    elif verb == "rm":
        docker_rm(argv[1:])
    elif argv[:2] == ["network", "connect"]:
        docker_network_connect(argv[2:])
    else:
        fail(f"fake docker: unsupported {argv}", 2)


def docker_arch() -> str:
    """The Docker host's machine name, as the daemon reports it: moby
    daemon/info.go SystemInfo `Architecture: platform.Architecture()`,
    daemon/internal/platform/platform_linux.go runtimeArchitecture: uname(2)'s
    utsname.machine ("x86_64", "aarch64", ...)."""
    return world.docker_machine()


GO_ARCHES = world.GO_ARCHES


def host_arch() -> str:
    """The Docker host's GOARCH."""
    machine = docker_arch()
    if machine not in GO_ARCHES:
        fail(f"fake docker: FAKE_DOCKER_ARCH={machine} is not a machine name the fake knows", 2)
    return GO_ARCHES[machine]


def docker_info(argv: list[str], error: str | None) -> None:
    """docker/cli v28.2.2 cli/command/system/info.go runInfo. A connection
    failure (daemon down, socket not permitted: client.IsErrConnectionFailed)
    is returned as the command's error (since docker/cli 353230d9, v28.1.0):
    docker's main prints it to stderr and exits 1 (cmd/docker/docker.go main,
    getExitCode), after the output rendered without server information."""
    fmt = flag(argv, "--format") or flag(argv, "-f")
    info = {
        "ServerVersion": "28.2.2",
        "CgroupVersion": "2",
        "CgroupDriver": "systemd",
        "OSType": "linux",  # moby daemon/info.go: runtime.GOOS
        "Architecture": docker_arch(),
    }
    if fmt:
        # formatInfo: the template runs on the info (an empty system.Info when
        # the daemon could not be reached), then a newline.
        fields = {key: "" for key in info} if error else info
        if "json" in fmt:
            print(json.dumps(fields))
        elif set(re.findall(r"\{\{\s*\.(\w+)\s*\}\}", fmt)) <= set(info) and "{{" in fmt:
            print(render_template(fmt, fields))
        else:
            fail(f"fake docker: unsupported info --format {fmt}", 2)
        if error:
            fail(error)
        return
    print("Client:")
    print(" Version:    28.2.2")
    print(" Context:    default")
    print(" Debug Mode: false")
    print()
    print("Server:")
    if error:
        # prettyPrintInfo prints no server section (info.Info is nil); the
        # connection error is returned: printed by main, exit 1.
        fail(error)
    print(" Server Version: 28.2.2")
    print(" Cgroup Version: 2")
    print(f" OSType: {info['OSType']}")
    print(f" Architecture: {info['Architecture']}")


def docker_ps(argv: list[str]) -> None:
    show_all = "-a" in argv or "--all" in argv
    wanted = flag(argv, "--filter") or ""
    fmt = flag(argv, "--format") or "{{.Names}}"
    key, _, value = wanted.removeprefix("label=").partition("=")
    for cluster in engine_clusters():
        if wanted and (key != world.CLUSTER_LABEL or (value and value != cluster.name)):
            continue
        for node in cluster.nodes:
            if not (show_all or node["running"]):
                continue
            if ".Label" in fmt:
                print(cluster.name)
            else:
                print(node["name"])
    for record in world.load_containers(root(), docker_endpoint()).values():
        labels = record["labels"]
        if wanted and (key not in labels or (value and labels[key] != value)):
            continue
        if show_all or record["state"] == "running":
            print(labels.get(world.CLUSTER_LABEL, "") if ".Label" in fmt else record["name"])


def node_document(cluster: Cluster, node: dict[str, Any]) -> dict[str, Any]:
    # moby api/types container inspect; kind's labels (provision.go)
    return {
        "Id": node["id"],
        "Name": "/" + node["name"],
        "State": {"Status": "running" if node["running"] else "exited", "Running": node["running"]},
        "Config": {
            "Image": cluster.data["image"],
            "Labels": {world.CLUSTER_LABEL: cluster.name, "io.x-k8s.kind.role": node["role"]},
        },
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 1}},
        # kind provision.go runArgsForNode: "--net", networkName (kind)
        "NetworkSettings": {
            "Networks": {
                "kind": endpoint_settings(node["name"], node["id"], node_ip(cluster, node), "kind")
                if node["running"]
                else endpoint_settings(node["name"], node["id"], "", "kind")
            }
        },
    }


def endpoint_settings(name: str, container_id: str, address: str, network: str) -> dict[str, Any]:
    """moby api/types/network/endpoint.go EndpointSettings, in its field
    order (what `{{json .NetworkSettings.Networks.<net>}}` prints). The ids
    and addresses are stand-ins: a script only tells null from an object."""
    gateway = address.rsplit(".", 1)[0] + ".1" if address else ""
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
        "MacAddress": "",
        "DriverOpts": None,
        "GwPriority": 0,
        "NetworkID": _sha(network, "network"),
        "EndpointID": _sha(network, container_id, "endpoint") if address else "",
        "Gateway": gateway,
        "IPAddress": address,
        "IPPrefixLen": 16 if address else 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        # moby daemon/container_operations.go buildEndpointDNSNames: the name, the short id
        "DNSNames": [name, container_id[:12]] if network != "bridge" else None,
    }


def docker_inspect(argv: list[str]) -> None:
    fmt = flag(argv, "--format") or flag(argv, "-f")
    # docker/cli cli/command/system/inspect.go: --type limits the search to
    # one kind of object; only containers are modelled here.
    kind = flag(argv, "--type")
    if kind not in (None, "container"):
        fail(f"fake docker: inspect --type {kind} is not modelled", 2)
    names = [
        a
        for i, a in enumerate(argv)
        if not a.startswith("-") and (i == 0 or argv[i - 1] not in ("--format", "-f", "--type"))
    ]
    documents, missing = [], []
    for name in names:
        found = find_node(name)
        record = find_container(name) if found is None else None
        if found is not None:
            documents.append(node_document(*found))
        elif record is not None:
            documents.append(container_document(record))
        else:
            missing.append(name)
    for document in documents:
        if fmt:
            print(render_template(fmt, document))
    if not fmt:
        print(json.dumps(documents, indent=4))
    if missing:
        if kind == "container":
            # With --type the daemon's NotFound is printed as it is (docker/cli
            # cli/command/inspect/inspector.go; moby daemon/errors.go), seen
            # from client 28.2.2 against dockerd 20.10 (tests/real).
            fail("\n".join(f"Error response from daemon: No such container: {name}" for name in missing))
        # docker/cli cli/command/system/inspect.go: "Error: No such object: %s"
        fail("\n".join(f"Error: No such object: {name}" for name in missing))


def render_template(fmt: str, document: dict[str, Any]) -> str:
    """Go text/template for `.A.B`, `index .A.B "key"` and `json .A.B`
    (docker/cli templates/templates.go basicFunctions "json": a json.Encoder
    without HTML escaping, its newline trimmed). A key missing from a map
    gives the map's zero value: "" for a label, null for a network."""

    maps = ("Labels", "Networks")  # Go maps in these documents; the rest are structs

    def walk(path: str) -> Any:
        value: Any = document
        parent = ""
        for part in path.lstrip(".").split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif parent in maps:
                value = None
            else:
                fail(f"fake docker: unsupported template field {path} in {fmt}", 2)
            parent = part
        return value

    def field(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        index = re.fullmatch(r'index\s+\.(\S+)\s+"([^"]+)"', expression)
        if index:
            return str(walk(index.group(1)).get(index.group(2), ""))
        if expression.startswith("json "):
            return json.dumps(walk(expression[5:].strip()), separators=(",", ":"), ensure_ascii=False)
        value = walk(expression)
        return str(value).lower() if isinstance(value, bool) else str(value)

    return re.sub(r"\{\{(.*?)\}\}", field, fmt)


def docker_exec(argv: list[str]) -> None:
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in ("-e", "--env", "-u", "--user", "-w", "--workdir") else 1
    name, command = argv[index], argv[index + 1 :]
    found = find_node(name)
    if found is None:
        if find_container(name) is not None:
            fail(f"fake docker: unsupported exec in container {name}: {command}", 2)
        # moby daemon/errors.go objNotFoundError "No such container: %s"
        fail(f"Error response from daemon: No such container: {name}")
        return
    cluster, node = found
    if not node["running"]:
        # moby daemon/errors.go errNotRunning "Container %s is not running" (the container's ID)
        fail(f"Error response from daemon: Container {node['id']} is not running")
    files = node_files(cluster, node)
    if command[:1] == ["cat"] and len(command) == 2:
        if command[1] not in files:
            fail(f"cat: {command[1]}: No such file or directory")
        sys.stdout.buffer.write(node_bytes(files[command[1]]))
        return
    if command[:1] in (["true"], ["mkdir"]):
        return  # directories are not modelled: every one exists
    if command[:1] == ["tee"] or command[:2] == ["cp", "/dev/stdin"]:
        # Kept in the node's record: the node's file system outlives a stop
        # and start of its container (world.start_cluster). Bytes that are not
        # UTF-8 are kept as surrogate escapes.
        data = sys.stdin.buffer.read()
        if command[0] == "tee":
            sys.stdout.buffer.write(data)  # coreutils tee.c: stdin to each file and to stdout
        node.setdefault("files", {})[command[-1]] = data.decode("utf-8", "surrogateescape")
        cluster.save()
        return
    if command[:1] == ["systemctl"] and command[1:] in (["reload", "crio"], ["reload", "crio.service"]):
        if cluster.runtime != "crio":
            # systemd src/systemctl/systemctl-start-unit.c start_unit_one:
            # log_error "Failed to %s %s: %s" (job type "reload", the unit name
            # expanded to crio.service); the manager's error src/core/unit.c
            # bus_unit_validate_load_state "Unit %s not found."; the exit status
            # systemctl-util.c translate_bus_error_to_exit_status: NoSuchUnit →
            # EXIT_NOTINSTALLED (5, src/basic/exit-status.h). docker exec exits
            # with the command's status. (systemd is read through the search
            # index: its snapshot is over the mirror's size limit.)
            fail("Failed to reload crio.service: Unit crio.service not found.", 5)
        world.reload_crio(cluster, node)  # silent on success, exit 0
        return
    fail(f"fake docker: unsupported exec {command}", 2)


def node_bytes(text: str) -> bytes:
    """A node file's bytes (kept as UTF-8 text with surrogate escapes)."""
    return text.encode("utf-8", "surrogateescape")


def node_files(cluster: Cluster, node: dict[str, Any]) -> dict[str, str]:
    files: dict[str, str] = dict(node.get("files") or {})
    if node["role"] == "control-plane":
        # kubeadm's admin.conf, which kind reads (kind kubeconfig.go get) and
        # rewrites with the host endpoint; inside it names the node.
        internal = json.loads(cluster.kubeconfig())
        internal["clusters"][0]["cluster"]["server"] = f"https://{node['name']}:6443"
        files["/etc/kubernetes/admin.conf"] = json.dumps(internal, indent=2) + "\n"
    return files


def docker_cp(argv: list[str]) -> None:
    source, dest = [a for a in argv if not a.startswith("-")][-2:]
    if ":" in source:
        name, _, path = source.partition(":")
        found = find_node(name)
        if found is None:
            fail(f"Error response from daemon: No such container: {name}")
            return
        files = node_files(*found)  # cp reads a stopped container's files too (docs/fidelity.md section 3)
        if path not in files:
            # moby daemon/archive.go containerFileNotFound: "Could not find the file %s in container %s"
            fail(f"Error response from daemon: Could not find the file {path} in container {name}")
        target = Path(dest)
        if target.is_dir():
            target = target / Path(path).name
        if dest == "-":
            sys.stdout.write(files[path])
        else:
            target.write_bytes(node_bytes(files[path]))
        return
    name, _, path = dest.partition(":")
    found = find_node(name)
    if found is None:
        fail(f"Error response from daemon: No such container: {name}")
        return
    cluster, node = found
    node.setdefault("files", {})[path] = Path(source).read_bytes().decode("utf-8", "surrogateescape")
    cluster.save()


# --- docker images -------------------------------------------------------------
# Docker 28.2.2 with its default (graphdriver) image store. Pulled images are
# kept per daemon in engines/docker/<endpoint>/images.json:
# {"docker.io/library/busybox:latest": {"arch": "amd64", "os": "linux"}}.

DOCKER_DOMAIN = "docker.io"
# The files `docker run --rm --entrypoint cat IMAGE FILE` may read: the Docker
# host kernel's inotify limits (a container shares the host's kernel; these
# sysctls are not namespaced), from their knobs.
INOTIFY_FILES = {
    "/proc/sys/fs/inotify/max_user_watches": ("FAKE_INOTIFY_MAX_USER_WATCHES", "524288"),
    "/proc/sys/fs/inotify/max_user_instances": ("FAKE_INOTIFY_MAX_USER_INSTANCES", "512"),
}


class Ref:
    """distribution/reference ParseNormalizedNamed (normalize.go
    splitDockerDomain): docker.io and library/ added; `tagged` adds
    reference.TagNameOnly's "latest" to a name without tag or digest."""

    def __init__(self, text: str) -> None:
        rest, _, self.digest = text.partition("@")
        slash = rest.find("/")
        first = rest[:slash] if slash >= 0 else ""
        if slash < 0 or ("." not in first and ":" not in first and first != "localhost" and first.islower()):
            self.domain, remainder = DOCKER_DOMAIN, rest
        else:
            self.domain, remainder = first, rest[slash + 1 :]
        if self.domain == "index.docker.io":
            self.domain = DOCKER_DOMAIN
        name, colon, self.tag = remainder.rpartition(":")
        if not colon or "/" in self.tag:
            name, self.tag = remainder, ""
        if self.domain == DOCKER_DOMAIN and "/" not in name:
            name = "library/" + name
        self.path = name

    def tagged(self) -> Ref:
        if not self.tag and not self.digest:
            self.tag = "latest"
        return self

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def familiar_name(self) -> str:
        """reference.FamiliarName: docker.io and a lone library/ dropped."""
        if self.domain != DOCKER_DOMAIN:
            return self.name
        if self.path.startswith("library/") and self.path.count("/") == 1:
            return self.path.removeprefix("library/")
        return self.path

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        return self.familiar_name() + self._suffix()


def _images_path() -> Path:
    endpoint, _ = world.docker_endpoint(os.environ)
    return world.engine_dir(root(), "docker", endpoint) / "images.json"


def _images() -> dict[str, dict[str, str]]:
    path = _images_path()
    images: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    return images


def _listed_ref(variable: str, ref: Ref, given: str) -> str | None:
    """The value a knob list gives this reference, matched as written, in
    its familiar form or in full ("" for a plain list entry; None: absent)."""
    for entry in os.environ.get(variable, "").split(","):
        key, _, value = entry.strip().partition("=")
        if key and key in (given, ref.familiar(), str(ref)):
            return value
    return None


def _sha(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def docker_pull_stream(ref: Ref, given: str, host: str) -> tuple[list[str], str | None]:
    """A pull's effect on the daemon's images, and its error, if any, as the
    client reports it. Its progress lines (moby distribution/pull_v2.go) are
    not imitated: no script reads them, and tests/real pulls with a real daemon."""
    if _listed_ref("FAKE_MISSING_IMAGES", ref, given) is not None:
        # pull_v2.go pullTag: the tag lookup fails before any output, so the
        # API returns the error itself (api/server/router/image/image_routes.go
        # postImagesCreate, !output.Flushed()); distribution/errors.go
        # notFoundError "manifest for %s not found" wrapping the registry's
        # errcode.Error "<code>: <message>" (the message is the registry's:
        # Docker Hub and most registries send "manifest unknown"); the client
        # adds "Error response from daemon" (client/request.go checkResponseErr).
        return [], (
            f"Error response from daemon: manifest for {ref.familiar()} not found: "
            "manifest unknown: manifest unknown"
        )
    single = _listed_ref("FAKE_IMAGE_ARCHES", ref, given)
    arch = single or host_arch()
    key = str(ref)
    images = _images()
    # pullTag: the manifest's digest (a manifest list's own digest for an index).
    manifest = ref.digest or "sha256:" + _sha(key, single or "index")
    # A single-platform image of another architecture is pulled as it is:
    # without --platform the graphdriver puller checks no architecture
    # (pull_v2.go pullSchema2Layers: only the OS), and daemon/images/image_pull.go
    # PullImage warns about a mismatch only when a platform was requested.
    images[key] = {"arch": arch, "os": "linux", "digest": manifest}
    path = _images_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(images, indent=2) + "\n")
    return [], None


def parse_ref(given: str) -> Ref:
    if not container.valid_reference(given):
        # distribution/reference reference.go ErrReferenceInvalidFormat
        fail("invalid reference format")
    return Ref(given)


def docker_pull(argv: list[str], host: str) -> None:
    """docker/cli v28.2.2 cli/command/image/pull.go runPull."""
    words = [a for a in argv if not a.startswith("-")]
    if len(words) != 1 or any(a not in ("-q", "--quiet") for a in argv if a.startswith("-")):
        fail(f"fake docker: unsupported pull {argv}", 2)
    quiet = "-q" in argv or "--quiet" in argv
    given = words[0]
    ref = parse_ref(given)
    if not ref.tag and not ref.digest:
        ref.tagged()
        if not quiet:
            print("Using default tag:", ref.tag)
    error = daemon_error(host, "POST", "/images/create?" + pull_query(ref))
    if error:
        fail(error)
    lines, failure = docker_pull_stream(ref, given, host)
    if not quiet:
        for line in lines:
            print(line)
    if failure:
        fail(failure)
    # runPull: the pulled reference in full (imgRefAndAuth.Reference().String())
    print(ref)


def pull_query(ref: Ref) -> str:
    """client/image_pull.go ImagePull: fromImage=<name>&tag=<tag or digest>,
    url.Values.Encode (sorted, escaped)."""
    tag = ref.digest or ref.tag
    return "fromImage=" + ref.name.replace("/", "%2F") + "&tag=" + tag.replace(":", "%3A")


def image_document(ref: Ref, image: dict[str, str]) -> dict[str, Any]:
    # moby api/types/image InspectResponse (the fields a script reads)
    return {
        "Id": "sha256:" + _sha(str(ref), image["arch"], "config"),
        "RepoTags": [ref.familiar()] if ref.tag else [],
        "RepoDigests": [f"{ref.familiar_name()}@{image['digest']}"],
        "Architecture": image["arch"],
        "Os": image["os"],
    }


def docker_image_inspect(argv: list[str], host: str) -> None:
    """docker/cli v28.2.2 cli/command/image/inspect.go runInspect →
    cli/command/inspect/inspector.go Inspect: each found image rendered, the
    errors joined into a StatusError (exit 1); a template with nothing
    rendered still prints a newline (TemplateInspector.Flush), no format
    prints the JSON array ("[]" when empty)."""
    fmt = flag(argv, "--format") or flag(argv, "-f")
    names = [a for i, a in enumerate(argv) if not a.startswith("-") and argv[i - 1] not in ("--format", "-f")]
    if fmt and not re.fullmatch(r"\s*(\{\{\s*\.(Architecture|Os|Id)\s*\}\}[\s/]*)+", fmt):
        fail(f"fake docker: unsupported image inspect --format {fmt}", 2)
    images = _images()
    documents, errors = [], []
    for name in names:
        error = daemon_error(host, "GET", f"/images/{name}/json")
        if error:
            errors.append(error)
            continue
        ref = Ref(name).tagged() if container.valid_reference(name) else None
        image = images.get(str(ref)) if ref else None
        if ref is None or image is None:
            # moby daemon/images/image.go ErrImageDoesNotExist "No such image: %s"
            # (reference.FamiliarString(reference.TagNameOnly(ref))), a NotFound
            # error: the client adds "Error response from daemon".
            errors.append(f"Error response from daemon: No such image: {ref.familiar() if ref else name}")
            continue
        documents.append(image_document(ref, image))
    if fmt:
        rendered = [render_template(fmt, document) for document in documents]
        print("\n".join(rendered) if rendered else "")
    else:
        print(json.dumps(documents, indent=4))
    if errors:
        fail("\n".join(errors))


def docker_run(argv: list[str], host: str) -> None:
    """`docker run --rm --entrypoint cat IMAGE FILE` for the inotify sysctls
    only (docker/cli v28.2.2 cli/command/container/run.go, create.go)."""
    index, entrypoint = 0, None
    while index < len(argv) and argv[index].startswith("-"):
        arg = argv[index]
        if arg == "--rm":
            index += 1
        elif arg == "--entrypoint" and index + 1 < len(argv):
            entrypoint, index = argv[index + 1], index + 2
        elif arg.startswith("--entrypoint="):
            entrypoint, index = arg.partition("=")[2], index + 1
        else:
            fail(f"fake docker: unsupported run {argv}", 2)
    rest = argv[index:]
    if entrypoint != "cat" or len(rest) != 2 or rest[1] not in INOTIFY_FILES:
        fail(f"fake docker: unsupported run {argv}", 2)
    given, path = rest

    def run_error(message: str) -> NoReturn:
        # run.go toStatusError: a daemon/create failure is exit 125, its text
        # withHelp: "docker: %w\n\nRun 'docker run --help' for more information"
        fail(f"docker: {message}\n\nRun 'docker run --help' for more information", 125)

    ref = parse_ref(given).tagged()
    error = daemon_error(host, "POST", "/containers/create")
    if error:
        run_error(error)
    image = _images().get(str(ref))
    if image is None:
        # create.go createContainer: ContainerCreate is NotFound → "Unable to
        # find image '%s' locally" and pullImage, whose stream goes to stderr
        # (jsonstream.Display on dockerCli.Err()); no "Using default tag" nor
        # final reference line (those are runPull's).
        sys.stderr.write(f"Unable to find image '{ref.familiar()}' locally\n")
        lines, failure = docker_pull_stream(ref, given, host)
        sys.stderr.write("".join(line + "\n" for line in lines))
        if failure:
            run_error(failure)
        image = _images()[str(ref)]
    arch = host_arch()
    if image["arch"] != arch:
        # moby daemon/create.go containerCreate: with no --platform, an image
        # not matching maximumSpec() is a warning in the create response;
        # create.go prints each as "WARNING: <warning>" on stderr. The host's
        # platform is platforms.DefaultSpec() (arm64: variant "v8", cpuinfo.go),
        # amd64 with archvariant.AMD64Variant(), which depends on the CPU:
        # printed here without a variant.
        host_platform = f"linux/{arch}" + ("/v8" if arch == "arm64" else "")
        sys.stderr.write(
            f"WARNING: The requested image's platform (linux/{image['arch']}) does not match the "
            f"detected host platform ({host_platform}) and no specific platform was requested\n"
        )
    variable, default = INOTIFY_FILES[path]
    print(os.environ.get(variable) or default)


# --- other containers: the stack's registry --------------------------------------
# A container whose image's repository is `registry` (docker.io/library/registry:
# distribution's registry, which listens on :5000) runs Debian's docker-registry
# (the same program, CNCF distribution) for real, listening where Docker would
# publish it: 127.0.0.1:<host port>. Records: world.load_containers.

REGISTRY_CONFIG = """version: 0.1
log:
  level: warn
storage:
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {store}
http:
  addr: 127.0.0.1:{port}
"""
# ^ distribution/distribution-library-image config-example.yml (the registry
# image's /etc/distribution/config.yml: delete enabled, inmemory blob cache,
# filesystem store), served on the published host address instead of :5000
# (no docker-proxy here) and without its debug server (another port).


def docker_endpoint() -> str:
    return world.docker_endpoint(os.environ)[0]


def find_container(name: str) -> dict[str, Any] | None:
    """A non-node container by name, full id or short (12) id."""
    for record in world.load_containers(root(), docker_endpoint()).values():
        if name in (record["name"], record["id"], record["id"][:12]):
            return record
    return None


def container_document(record: dict[str, Any]) -> dict[str, Any]:
    """moby api/types/container InspectResponse (the fields a script reads)."""
    running = record["state"] == "running"
    networks = {
        network: endpoint_settings(record["name"], record["id"], address if running else "", network)
        for network, address in record["networks"].items()
    }
    host_ip, host_port, container_port = record["ports"][0] if record["ports"] else ("", 0, 0)
    return {
        "Id": record["id"],
        "Name": "/" + record["name"],
        "State": {"Status": record["state"], "Running": running},
        "Config": {"Image": record["image"], "Labels": dict(record["labels"])},
        "HostConfig": {
            "RestartPolicy": {"Name": record["restart"], "MaximumRetryCount": 0},
            "PortBindings": {f"{container_port}/tcp": [{"HostIp": host_ip, "HostPort": str(host_port)}]}
            if record["ports"]
            else {},
        },
        "NetworkSettings": {"Networks": networks},
    }


def container_name_in_use(name: str) -> str | None:
    """The id of the container (node or other) holding `name`."""
    found = find_node(name)
    if found is not None and found[1]["name"] == name:
        return str(found[1]["id"])
    record = world.load_containers(root(), docker_endpoint()).get(name)
    return str(record["id"]) if record else None


def port_conflict(record: dict[str, Any]) -> str | None:
    """Why the daemon cannot publish the container's port, as starting it
    reports (moby v28.2.2), or None.

    libnetwork/drivers/bridge/port_mapping_linux.go attemptBindHostPorts: the
    port allocator first (libnetwork/portallocator/portallocator.go
    alreadyAllocatedErr "Bind for %s:%d failed: port is already allocated":
    a port this daemon already publishes, for a running container or a kind
    node's API server), then bindTCPOrUDP binds the host port itself (with
    SO_REUSEADDR) and fails "failed to bind host port for %s: %w" with the
    types.PortBinding String() "HostIP:HostPort:IP:Port/Proto" and the errno
    (another process listening there). libnetwork/endpoint.go sbJoin wraps it
    "driver failed programming external connectivity on endpoint %s (%s): %v"
    (the endpoint is named after the container; its id is a new random one)."""
    if not record["ports"]:
        return None
    host_ip, port, container_port = record["ports"][0]
    endpoint_id = secrets.token_hex(32)
    prefix = f"driver failed programming external connectivity on endpoint {record['name']} ({endpoint_id}): "
    for other in world.load_containers(root(), docker_endpoint()).values():
        published = any(p[0] == host_ip and p[1] == port for p in other["ports"])
        if other["name"] != record["name"] and other["state"] == "running" and published:
            return prefix + f"Bind for {host_ip}:{port} failed: port is already allocated"
    for cluster in engine_clusters():
        # kind provision.go: a control plane publishes the API server on
        # Networking.APIServerAddress (127.0.0.1: apis/config/v1alpha4/default.go)
        if cluster.data["port"] == port and host_ip == "127.0.0.1" and cluster.nodes[0]["running"]:
            return prefix + f"Bind for {host_ip}:{port} failed: port is already allocated"
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host_ip, port))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            fail(f"fake docker: cannot probe {host_ip}:{port}: {error}", 2)
        binding = f"{host_ip}:{port}:{record['networks']['bridge']}:{container_port}/tcp"
        # Go's syscall.EADDRINUSE text (Go's errno table is not mirrored here:
        # not read from source; it is glibc's strerror in lower case)
        return prefix + f"failed to bind host port for {binding}: address already in use"
    finally:
        probe.close()
    return None


def registry_binary() -> str:
    found = shutil.which("docker-registry") or (
        "/usr/bin/docker-registry" if os.access("/usr/bin/docker-registry", os.X_OK) else None
    )
    if found is None:
        fail(
            "fake docker: docker-registry is not installed (apt-get install docker-registry): "
            "the fake runs it for a registry container",
            2,
        )
    return found


# Runs docker-registry (argv[3:]) in its process group and ends it when the
# test process (argv[1], a pid; 0: none) or the state directory (argv[2]) is
# gone, so that no registry outlives a test that did not clean up.
REGISTRY_WATCHDOG = """
import os, subprocess, sys, time
owner, state, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
child = subprocess.Popen(argv)
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
while child.poll() is None:
    if (owner and not alive(owner)) or not os.path.isdir(state):
        child.kill()
        child.wait()
        break
    time.sleep(0.5)
sys.exit(child.returncode or 0)
"""


def start_registry(record: dict[str, Any]) -> None:
    """Run docker-registry for the container, in a session of its own (it
    outlives this call; a watchdog ends it with the test process, FAKE_OWNER_PID).
    Like `docker run -d`, this returns when the process has started, not when
    it listens (moby daemon/start.go; seen on dockerd 20.10, tests/real)."""
    binary = registry_binary()
    _, port, _ = record["ports"][0]
    base = world.registry_dir(root(), docker_endpoint(), record["name"])
    (base / "store").mkdir(parents=True, exist_ok=True)
    config = base / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(store=base / "store", port=port))
    owner = os.environ.get("FAKE_OWNER_PID", "0")
    with (base / "registry.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", REGISTRY_WATCHDOG, owner, str(root()), binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: world.stop_process ends it whole
        )
    record["pid"], record["mark"] = process.pid, str(config)


def run_failure(message: str) -> NoReturn:
    # docker/cli v28.2.2 cli/command/container/run.go toStatusError: a
    # daemon failure is exit 125, its text withHelp
    fail(f"docker: {message}\n\nRun 'docker run --help' for more information", 125)


def docker_run_detached(argv: list[str], host: str) -> None:
    """`docker run -d [--restart=R] --name N [--label K=V]... -p
    127.0.0.1:PORT:5000 [--network bridge] IMAGE` of a registry image
    (docker/cli v28.2.2 cli/command/container/run.go runContainer, create.go)."""
    options: dict[str, Any] = {"restart": "no", "labels": {}, "publish": [], "network": "bridge"}
    takes = {"--restart": "restart", "--name": "name", "--network": "network", "--net": "network"}
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        arg, value = argv[index], None
        key, equals, inline = arg.partition("=")
        if key in ("-d", "--detach") and not equals:
            index += 1
            continue
        if key not in (*takes, "--label", "-l", "--publish", "-p"):
            fail(f"fake docker: unsupported run {argv}", 2)
        if equals:
            value, index = inline, index + 1
        elif index + 1 < len(argv):
            value, index = argv[index + 1], index + 2
        else:
            fail(f"fake docker: unsupported run {argv}", 2)
        if key in ("--label", "-l"):
            label, _, label_value = value.partition("=")
            options["labels"][label] = label_value
        elif key in ("--publish", "-p"):
            options["publish"].append(value)
        else:
            options[takes[key]] = value
    rest = argv[index:]
    if len(rest) != 1 or "name" not in options or options["network"] != "bridge":
        fail(f"fake docker: unsupported run {argv} (a named registry container, no command)", 2)
    ports = []
    for spec in options["publish"]:
        match = re.fullmatch(r"(127\.0\.0\.1):([0-9]+):([0-9]+)(?:/tcp)?", spec)
        if match is None or match.group(3) != "5000":
            fail(f"fake docker: unsupported publish {spec} (127.0.0.1:PORT:5000 only)", 2)
        ports.append([match.group(1), int(match.group(2)), int(match.group(3))])
    given = rest[0]
    ref = parse_ref(given).tagged()
    if ref.domain != DOCKER_DOMAIN or ref.path != "library/registry":
        fail(f"fake docker: unsupported detached image {given} (registry images only)", 2)
    error = daemon_error(host, "POST", "/containers/create")
    if error:
        run_failure(error)
    # moby daemon/create.go create: the image first (the client pulls it on
    # NotFound: create.go createContainer), then the name.
    if _images().get(str(ref)) is None:
        sys.stderr.write(f"Unable to find image '{ref.familiar()}' locally\n")
        lines, failure = docker_pull_stream(ref, given, host)
        sys.stderr.write("".join(line + "\n" for line in lines))
        if failure:
            run_failure(failure)
    name = options["name"]
    if not re.fullmatch(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+", name):
        # moby daemon/names.go reserveName; daemon/names/names.go RestrictedNameChars
        run_failure(
            f"Error response from daemon: Invalid container name ({name}), "
            "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    name = name.removeprefix("/")
    holder = container_name_in_use(name)
    if holder is not None:
        # moby daemon/names.go reserveName → daemon/errors.go nameConflictError
        # (the name with its leading "/", %q)
        run_failure(
            f'Error response from daemon: Conflict. The container name "/{name}" is already in use by '
            f'container "{holder}". You have to remove (or rename) that container to be able to reuse '
            "that name."
        )
    endpoint = docker_endpoint()
    taken = len(world.load_containers(root(), endpoint))
    record = {
        "id": secrets.token_hex(32),
        "name": name,
        "image": given,
        "labels": options["labels"],
        "restart": options["restart"].split(":")[0],
        "ports": ports,
        # addresses on each network: stand-ins (Docker's IPAM picks them)
        "networks": {"bridge": f"172.17.0.{2 + taken}"},
        "state": "created",
        "pid": None,
        "mark": "",
    }
    world.save_container(root(), endpoint, record)  # created: docker ps -a lists it
    # run.go runContainer: detached, the id is printed (a goroutine started
    # before ContainerStart) while the container starts.
    print(record["id"], flush=True)
    conflict = port_conflict(record)
    if conflict:
        # moby daemon/start.go containerStart: a failed start leaves the
        # container (state "created": container/state.go StateString, never
        # started); the client adds "Error response from daemon"
        run_failure(f"Error response from daemon: {conflict}")
    start_registry(record)
    record["state"] = "running"
    world.save_container(root(), endpoint, record)


def docker_start(argv: list[str]) -> None:
    """docker/cli v28.2.2 cli/command/container/start.go
    startContainersWithoutAttachments: each started container's name as
    given on stdout; each failure on stderr, then "Error: failed to start
    containers: %s" (exit 1)."""
    names = [a for a in argv if not a.startswith("-")]
    if len(names) != len(argv):
        fail(f"fake docker: unsupported start {argv}", 2)
    failed = []
    for name in names:
        record = find_container(name)
        if record is None:
            if find_node(name) is not None:
                fail(f"fake docker: unsupported start of kind node {name}", 2)
            sys.stderr.write(f"Error response from daemon: No such container: {name}\n")
            failed.append(name)
            continue
        if record["state"] != "running":
            # moby daemon/start.go validateState: a running container is a 304, no error
            conflict = port_conflict(record)
            if conflict:
                sys.stderr.write(f"Error response from daemon: {conflict}\n")
                failed.append(name)
                continue
            start_registry(record)
            record["state"] = "running"
            world.save_container(root(), docker_endpoint(), record)
        print(name)
    if failed:
        fail(f"Error: failed to start containers: {', '.join(failed)}")


def docker_rm(argv: list[str]) -> None:
    """docker/cli v28.2.2 cli/command/container/rm.go runRm: each removed
    name on stdout; with --force a missing container's error is printed and
    skipped (exit 0), other errors are joined (exit 1). moby
    daemon/delete.go: a running container needs force (then it is killed);
    -v removes its anonymous volumes (here: the registry's store)."""
    force = any(a in ("-f", "--force") or (re.fullmatch(r"-[fvl]+", a) and "f" in a) for a in argv)
    names = [a for a in argv if not a.startswith("-")]
    if any(a.startswith("-") and not re.fullmatch(r"-[fv]+|--force|--volumes", a) for a in argv):
        fail(f"fake docker: unsupported rm {argv}", 2)
    errors = []
    for name in names:
        record = find_container(name)
        if record is None:
            if find_node(name) is not None:
                fail(f"fake docker: unsupported rm of kind node {name}", 2)
            message = f"Error response from daemon: No such container: {name}"
            if force:
                sys.stderr.write(message + "\n")
            else:
                errors.append(message)
            continue
        if record["state"] == "running" and not force:
            errors.append(
                f'Error response from daemon: cannot remove container "{name}": container is running: '
                "stop the container before removing or force remove"
            )
            continue
        if record.get("pid"):
            world.stop_process(int(record["pid"]), record.get("mark", ""))
        world.remove_container(root(), docker_endpoint(), record["name"])
        print(name)
    if errors:
        fail("\n".join(errors))


def docker_network_connect(argv: list[str]) -> None:
    """`docker network connect NETWORK CONTAINER` (docker/cli v28.2.2
    cli/command/network/connect.go: the daemon's error, exit 1)."""
    words = [a for a in argv if not a.startswith("-")]
    if len(words) != 2 or len(words) != len(argv):
        fail(f"fake docker: unsupported network connect {argv}", 2)
    network, name = words
    if network != "kind":
        fail(f"fake docker: unsupported network {network} (kind only)", 2)
    endpoint = docker_endpoint()
    node = find_node(name)
    record = find_container(name) if node is None else None
    if node is None and record is None:
        # moby daemon/network.go ConnectContainerToNetwork: GetContainer first
        fail(f"Error response from daemon: No such container: {name}")
    if node is not None:
        running, connected = bool(node[1]["running"]), True  # kind nodes are on `kind`
    else:
        assert record is not None
        running, connected = record["state"] == "running", network in record["networks"]
    if running and not world.kind_network_exists(root(), "docker", endpoint):
        # moby daemon/container_operations.go connectToNetwork →
        # findAndAttachNetwork: FindNetwork's errdefs.NotFound(
        # libnetwork.ErrNoSuchNetwork) "network %s not found" (no swarm: no
        # cluster provider to attach through)
        fail(f"Error response from daemon: network {network} not found")
    if running and connected:
        # connectToNetwork → libnetwork/network.go CreateEndpoint (the
        # endpoint is named after the container): types.ForbiddenErrorf
        # "endpoint with name %s already exists in network %s"
        fail(f"Error response from daemon: endpoint with name {name} already exists in network {network}")
    if record is None:
        return  # a stopped node: nothing changes
    # daemon/container_operations.go ConnectToNetwork: a container that is not
    # running only records the network (updateNetworkSettings: no error when
    # already there; no check that it exists).
    record["networks"].setdefault(network, f"172.18.0.{100 + len(world.load_containers(root(), endpoint))}")
    world.save_container(root(), endpoint, record)


def podman(argv: list[str]) -> None:
    if argv[:1] in (["-v"], ["--version"]):
        print(PODMAN_VERSION)
        return
    if argv[:1] == ["info"]:
        return
    fail(f"fake podman: unsupported {argv}", 2)


# --- kind ----------------------------------------------------------------------


def kind_error(message: str, output: str | None = None) -> NoReturn:
    """kind cmd/kind/app/main.go logError: "ERROR: %v", then for a failed
    command "\\nCommand Output: %s"."""
    fail(f"ERROR: {message}" + (f"\n\nCommand Output: {output}" if output is not None else ""))


def list_nodes_command(name: str) -> str:
    # kind pkg/cluster/internal/providers/docker/provider.go ListNodes, as
    # pkg/exec/helpers.go PrettyCommand quotes it (alessio/shellescape)
    return f"docker ps -a --filter label={world.CLUSTER_LABEL}={name} --format '{{{{.Names}}}}'"


def kind_list_nodes(provider: str, name: str, wrap: str) -> Cluster | None:
    """The cluster whose nodes `<provider> ps -a` finds, or kind's error."""
    endpoint, host = endpoint_of(provider)
    error = daemon_error(host) if provider == "docker" else None
    if error:
        # pkg/exec/types.go RunError "command \"%s\" failed with error: %v"
        command = list_nodes_command(name)
        kind_error(f'{wrap}failed to list nodes: command "{command}" failed with error: exit status 1', error)
    path = world.engine_dir(root(), provider, endpoint) / "clusters" / name
    return world.load_cluster(path) if path.exists() else None


def default_kubeconfig_path() -> Path:
    explicit = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(explicit) if explicit else Path(os.environ["HOME"]) / ".kube" / "config"


def merge_kubeconfig(target: Path, addition: dict[str, Any]) -> None:
    """kind pkg/cluster/internal/kubeconfig/internal/kubeconfig/merge.go
    WriteMerged: replace this cluster's entries, set current-context."""
    existing: dict[str, Any] = {}
    if target.exists() and target.read_text().strip():
        existing = load_kubeconfig(target.read_text())
    for section in ("clusters", "contexts", "users"):
        names = {entry["name"] for entry in addition[section]}
        kept = [entry for entry in existing.get(section) or [] if entry["name"] not in names]
        existing[section] = kept + addition[section]
    existing.update({"apiVersion": "v1", "kind": "Config", "current-context": addition["current-context"]})
    existing.setdefault("preferences", {})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(existing, indent=2) + "\n")


def remove_kubeconfig_entries(target: Path, name: str) -> None:
    """kind kubeconfig.RemoveKIND: drop kind-<name> entries from the file."""
    if not target.exists() or not target.read_text().strip():
        return
    config = load_kubeconfig(target.read_text())
    key = f"kind-{name}"
    for section in ("clusters", "contexts", "users"):
        config[section] = [e for e in config.get(section) or [] if e["name"] != key]
    if config.get("current-context") == key:
        config["current-context"] = ""
    target.write_text(json.dumps(config, indent=2) + "\n")


def load_kubeconfig(text: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        import yaml  # noqa: PLC0415 - only a hand-written kubeconfig needs it

        loaded = yaml.safe_load(text) or {}
    return loaded


def kind_create(argv: list[str]) -> None:
    name = flag(argv, "--name", "kind") or "kind"
    provider = kind_provider()
    endpoint, host = endpoint_of(provider)
    config_arg = flag(argv, "--config")
    config_text = sys.stdin.read() if config_arg == "-" else Path(config_arg or "/dev/null").read_text()
    import yaml  # noqa: PLC0415 - only create parses YAML; every other call stays fast

    config = yaml.safe_load(config_text) or {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    if config.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        # kind pkg/internal/apis/config/encoding/load.go; create wraps "failed to create cluster"
        kind_error(f"failed to create cluster: unknown apiVersion: {config.get('apiVersion')}")
    error = daemon_error(host) if provider == "docker" else None
    if error:
        # validateProvider: `docker info --format '{{json .}}'` still exits 0
        # without a daemon, reports no cgroup v2, and kind warns.
        sys.stderr.write(error + "\n")
        sys.stderr.write(
            "cgroup v1 is deprecated in Kubernetes and will not be supported in a future kind release, "
            "please upgrade to cgroup v2\n"
        )
    # kind pkg/cluster/internal/create/create.go alreadyExists (before "Creating cluster")
    if kind_list_nodes(provider, name, "failed to create cluster: ") is not None:
        kind_error(f'failed to create cluster: node(s) already exist for a cluster with the name "{name}"')
    image = flag(argv, "--image") or "kindest/node:v1.31.0"
    sys.stderr.write(f'Creating cluster "{name}" ...\n\n')
    cluster = world.create_cluster(
        root(),
        provider=provider,
        endpoint=endpoint,
        name=name,
        image=image,
        config=config,
        config_text=config_text,
    )
    failure = os.environ.get("FAKE_KIND_CREATE_ERROR")
    if failure:
        # create.go: a failed provision/action deletes the nodes unless --retain
        if "--retain" not in argv:
            world.delete_cluster(cluster)
        kind_error(f"failed to create cluster: {failure}")
    wait = duration_seconds(flag(argv, "--wait") or "0")
    if wait > 0:
        # pkg/cluster/internal/create/actions/waitforready/waitforready.go:
        # control-plane nodes only; a time-out is only a warning.
        sys.stderr.write(f" • Waiting ≤ {go_duration(wait)} for control-plane = Ready ⏳\n")
        start = world.now(root())
        ready_at = [cluster.node_ready_at(n) for n in cluster.nodes if n["role"] == "control-plane"]
        if all(r is not None and r <= start + wait for r in ready_at):
            moment = max([start, *(r for r in ready_at if r is not None)])
            world.advance_to(root(), moment)
            sys.stderr.write(f" • Ready after {go_duration(moment - start)} 💚\n")
        else:
            world.advance_to(root(), start + wait)
            sys.stderr.write(" • WARNING: Timed out waiting for Ready ⚠️\n")
    explicit = flag(argv, "--kubeconfig")
    target = Path(explicit) if explicit else default_kubeconfig_path()
    if os.environ.get("FAKE_KIND_EXPORT_ERROR") == "1":
        # create.go: a failed kubeconfig export returns without deleting nodes;
        # merge.go "failed to lock config file", lock.go O_EXCL on <file>.lock.
        kind_error(f"failed to create cluster: failed to lock config file: open {target}.lock: file exists")
    merge_kubeconfig(target, json.loads(cluster.kubeconfig()))
    # create.go logUsage
    sample = f"kubectl cluster-info --context kind-{name}" + (f" --kubeconfig {explicit}" if explicit else "")
    sys.stderr.write(f'Set kubectl context to "kind-{name}"\n')
    sys.stderr.write(f"You can now use your cluster with:\n\n{sample}\n")


def kind_delete(argv: list[str]) -> None:
    name = flag(argv, "--name", "kind") or "kind"
    provider = kind_provider()
    # kind pkg/cmd/kind/delete/cluster/deletecluster.go; pkg/cluster/internal/delete/delete.go
    sys.stderr.write(f'Deleting cluster "{name}" ...\n')
    cluster = kind_list_nodes(provider, name, f'failed to delete cluster "{name}": error listing nodes: ')
    explicit = flag(argv, "--kubeconfig")
    remove_kubeconfig_entries(Path(explicit) if explicit else default_kubeconfig_path(), name)
    if cluster is not None:
        nodes = " ".join(f'"{n["name"]}"' for n in cluster.nodes)
        world.delete_cluster(cluster)
        sys.stderr.write(f"Deleted nodes: [{nodes}]\n")


def kind_get_clusters() -> None:
    provider = kind_provider()
    endpoint, host = endpoint_of(provider)
    error = daemon_error(host) if provider == "docker" else None
    if error:
        # docker/provider.go ListClusters: "failed to list clusters"
        label = world.CLUSTER_LABEL
        command = f"docker ps -a --filter label={label} --format '{{{{.Label \"{label}\"}}}}'"
        kind_error(f'failed to list clusters: command "{command}" failed with error: exit status 1', error)
    # ListClusters uses `docker ps -a`: stopped clusters are listed too.
    names = [c.name for c in world.clusters_in(root(), provider, endpoint)]
    if not names:
        # pkg/cmd/kind/get/clusters/clusters.go (logger output: stderr)
        sys.stderr.write("No kind clusters found.\n")
    for name in names:
        print(name)


def kind_get_kubeconfig(argv: list[str]) -> None:
    name = flag(argv, "--name", "kind") or "kind"
    provider = kind_provider()
    cluster = kind_list_nodes(provider, name, "")
    if cluster is None:
        # pkg/cluster/internal/kubeconfig/kubeconfig.go get
        kind_error(
            f"could not locate any control plane nodes for cluster named '{name}'. "
            "Use the --name option to select a different cluster"
        )
        return
    node = cluster.nodes[0]
    if not node["running"]:
        # kubeconfig.go get: `cat /etc/kubernetes/admin.conf` run through
        # docker/node.go nodeCmd (`docker exec --privileged`), wrapped
        # "failed to get cluster internal kubeconfig".
        kind_error(
            "failed to get cluster internal kubeconfig: command "
            f'"docker exec --privileged {node["name"]} cat /etc/kubernetes/admin.conf" '
            "failed with error: exit status 1",
            f"Error response from daemon: Container {node['id']} is not running",
        )
    # pkg/cmd/kind/get/kubeconfig/kubeconfig.go: fmt.Fprintln(streams.Out, cfg)
    sys.stdout.write(cluster.kubeconfig() + "\n")


def kind_get_nodes(argv: list[str]) -> None:
    """kind pkg/cmd/kind/get/nodes/nodes.go runE: provider.ListNodes(name)
    (`docker ps -a` by the cluster label: stopped nodes too, in the order
    docker ps lists them, as the fake `docker ps` does); none: the logger's
    "No kind nodes found for cluster %q." (stderr), exit 0; each node's name
    on its own line (fmt.Fprintln)."""
    if any(a.startswith("-") and a.split("=")[0] not in ("--name", "-n") for a in argv):
        fail(f"fake kind: unsupported get nodes {argv}", 2)
    name = flag(argv, "--name") or flag(argv, "-n") or "kind"
    cluster = kind_list_nodes(kind_provider(), name, "")
    if cluster is None:
        sys.stderr.write(f'No kind nodes found for cluster "{name}".\n')
        return
    for node in cluster.nodes:
        print(node["name"])


# The Go toolchain each kind release is built with: .go-version at its tag
# (hack/build/setup-go.sh builds with GOTOOLCHAIN=go$(cat .go-version)).
KIND_GO_VERSIONS = {
    "0.26.0": "go1.23.4",
    "0.27.0": "go1.23.6",
    "0.28.0": "go1.24.2",
    "0.29.0": "go1.24.2",
    "0.30.0": "go1.24.6",
    "0.31.0": "go1.25.5",
    "0.32.0": "go1.26.3",
}


def kind_version(argv: list[str]) -> None:
    """kind pkg/cmd/kind/version/version.go: DisplayVersion() "kind v" +
    Version() + " " + runtime.Version() + " " + GOOS/GOARCH; with -q/--quiet
    (cmd/kind/app/main.go Run: checkQuiet → log.NoopLogger, whose V(0) is
    disabled) only Version(), the semver without "v". The binary is taken to
    be built for the Docker host's linux arch."""
    version = (os.environ.get("FAKE_KIND_VERSION") or "v0.32.0").removeprefix("v")
    if "-q" in argv or "--quiet" in argv:
        print(version)
        return
    go = KIND_GO_VERSIONS.get(version.split("-")[0])
    if go is None:
        fail(f"fake kind: no Go version known for kind v{version} (add it to KIND_GO_VERSIONS)", 2)
    print(f"kind v{version} {go} linux/{host_arch()}")


def kind(argv: list[str]) -> None:
    verb = argv[:2]
    words = [a for a in argv if not a.startswith("-")]
    if words == ["version"] and all(a in ("-q", "--quiet") for a in argv if a.startswith("-")):
        kind_version(argv)
    elif verb == ["create", "cluster"]:
        kind_create(argv[2:])
    elif verb == ["delete", "cluster"]:
        kind_delete(argv[2:])
    elif verb == ["get", "clusters"]:
        kind_get_clusters()
    elif verb == ["get", "kubeconfig"]:
        kind_get_kubeconfig(argv[2:])
    elif verb == ["get", "nodes"]:
        kind_get_nodes(argv[2:])
    else:
        fail(f"fake kind: unsupported {argv}", 2)


# --- kubectl -------------------------------------------------------------------

VALUE_FLAGS = {
    *("--kubeconfig", "--context", "--namespace", "-n", "--output", "-o", "--container", "-c"),
    *("--cache-dir", "--timeout", "--for", "--from-literal", "--selector", "-l", "--raw"),
    *("--request-timeout", "--server", "-s", "--user", "--cluster", "--token", "--grace-period"),
}
ALIASES = {"-n": "--namespace", "-o": "--output", "-c": "--container", "-l": "--selector", "-s": "--server"}


class Args:
    """kubectl's command line: words, flags (global ones may come before the
    verb), and the argv after `--` kept intact."""

    def __init__(self, argv: list[str]) -> None:
        self.words: list[str] = []
        self.flags: dict[str, list[str]] = {}
        self.command: list[str] = []
        index = 0
        while index < len(argv):
            arg = argv[index]
            if arg == "--":
                self.command = argv[index + 1 :]
                break
            if arg.startswith("--") and "=" in arg:
                key, _, value = arg.partition("=")
                self.add(key, value)
            elif arg in VALUE_FLAGS and index + 1 < len(argv):
                self.add(arg, argv[index + 1])
                index += 1
            elif len(arg) > 2 and arg[:2] in ALIASES and not arg.startswith("--"):
                self.add(arg[:2], arg[2:].removeprefix("="))
            elif arg.startswith("-") and arg != "-":
                self.add(arg, "true")
            else:
                self.words.append(arg)
            index += 1

    def add(self, key: str, value: str) -> None:
        self.flags.setdefault(ALIASES.get(key, key), []).append(value)

    def get(self, key: str, default: str = "") -> str:
        values = self.flags.get(key)
        return values[-1] if values else default

    def all(self, key: str) -> list[str]:
        return self.flags.get(key, [])

    def on(self, key: str) -> bool:
        return self.get(key) not in ("", "false")


def read_kubeconfig(args: Args) -> dict[str, Any]:
    """client-go tools/clientcmd/loader.go: a --kubeconfig that is not there
    fails ("stat PATH: ..."); a missing $KUBECONFIG file is skipped; a file that
    does not load is `error loading config file "%s": %v` (the reasons are
    go-yaml's and apimachinery's; PyYAML words YAML errors alike, but its line
    may differ). kubectl exits 1. Seen with kubectl v1.36.4 (tests/real/test_kubectl.py)."""
    explicit = args.get("--kubeconfig")
    path = explicit or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    path = path or str(Path(os.environ["HOME"]) / ".kube" / "config")
    if not Path(path).exists():
        if explicit:
            fail(f"error: stat {explicit}: no such file or directory")
        return {}
    import yaml  # noqa: PLC0415 - only a hand-written kubeconfig needs it

    problem = f'error: error loading config file "{path}": '
    try:
        config = load_kubeconfig(Path(path).read_text())
    except yaml.MarkedYAMLError as error:
        line = f"line {error.problem_mark.line + 1}: " if error.problem_mark else ""
        fail(f"{problem}yaml: {line}{error.problem}")
    if not isinstance(config, dict):
        json_type = "array" if isinstance(config, list) else "string"
        fail(f"{problem}couldn't get version/kind; json parse error: json: cannot unmarshal {json_type} ...")
    if config.get("kind", "Config") != "Config":
        version, scheme = config.get("apiVersion"), "k8s.io/client-go/tools/clientcmd/api/latest/latest.go:50"
        fail(
            f'{problem}no kind "{config["kind"]}" is registered for version "{version}" in scheme "{scheme}"'
        )
    for section, named in (("clusters", "Cluster"), ("users", "AuthInfo"), ("contexts", "Context")):
        if not isinstance(config.get(section) or [], list):
            field = f"Config.{section} of type []v1.Named{named}"
            fail(f"{problem}json: cannot unmarshal object into Go struct field {field}")
    return config


def connect(args: Args) -> tuple[Cluster, str]:
    """The cluster this kubectl call reaches, and its server HOST:PORT."""
    config = read_kubeconfig(args)
    context = args.get("--context") or None
    try:
        server, credentials = world.server_of(config, context)
    except KeyError:
        if context:
            # client-go tools/clientcmd/validation.go errContextNotFound, as
            # kubectl pkg/cmd/util/helpers.go prints an invalid configuration
            fail(f"Error in configuration: context was not found for specified context: {context}")
        # client-go tools/clientcmd: with no configuration the server is http://localhost:8080
        server, credentials = "http://localhost:8080", None
    # kubectl pkg/cmd/create/create_configmap.go: the typed client posts with
    # no discovery first, and Run words the error: "failed to create configmap: %v"
    creates_configmap = args.words[:2] in (["create", "configmap"], ["create", "cm"])
    try:
        cluster = world.reach(root(), server, credentials)
    except world.UnreachableError as refused:
        host = refused.host
        if creates_configmap:
            # Go net/url Error: `Post "URL": dial tcp HOST: connect: connection refused`
            url = f"{server}/api/v1/namespaces/{args.get('--namespace', 'default')}/configmaps"
            query = "fieldManager=kubectl-create&fieldValidation=Strict"
            refused_by = f"dial tcp {host}: connect: connection refused"
            fail(f'error: failed to create configmap: Post "{url}?{query}": {refused_by}')
        # kubectl pkg/cmd/util/helpers.go StandardErrorMessage (url.Error, connection refused); exit 1.
        # (Before it client-go logs each failed discovery, memcache.go "Unhandled Error": not imitated.)
        fail(f"The connection to the server {host} was refused - did you specify the right host or port?")
    except world.UnauthorizedError:
        if creates_configmap:
            fail("error: failed to create configmap: Unauthorized")  # the 401 Status's message
        # helpers.go StandardErrorMessage: StatusReasonUnauthorized, "You must be logged in to the
        # server (%s)"; the 401 meets discovery first, whose error is apimachinery
        # pkg/api/errors/errors.go NewGenericServerResponse's for 401
        fail(
            "error: You must be logged in to the server "
            "(the server has asked for the client to provide credentials)"
        )
        raise
    return cluster, world.host_port(server)


def write_cache(args: Args, host: str) -> None:
    """cli-runtime pkg/genericclioptions/config_flags.go toDiscoveryClient:
    --cache-dir, else $KUBECACHEDIR, else ~/.kube/cache; an http/ cache and
    discovery/<host with [^(\\w/.)] as _>."""
    default = os.environ.get("KUBECACHEDIR") or str(Path(os.environ["HOME"]) / ".kube" / "cache")
    cache = Path(args.get("--cache-dir") or default)
    (cache / "http").mkdir(parents=True, exist_ok=True)
    (cache / "discovery" / re.sub(r"[^(\w/.)]", "_", host)).mkdir(parents=True, exist_ok=True)


def api_error(error: world.ApiError) -> NoReturn:
    # helpers.go StandardErrorMessage: "Error from server (%s): %s"
    fail(f"Error from server ({error.reason}): {error.message}")


def pod_document(cluster: Cluster, pod: dict[str, Any]) -> dict[str, Any]:
    status = container.pod_status(cluster, pod)
    document: dict[str, Any] = json.loads(json.dumps(pod))
    document["status"] = {
        "phase": status.phase,
        "conditions": [{"type": "Ready", "status": "True" if status.ready else "False"}],
    }
    return document


def jsonpath(template: str, document: dict[str, Any], allow_missing: bool = True) -> str:
    """k8s.io/client-go/util/jsonpath for the simple {.a.b} fields scripts use.
    A missing field prints nothing: --allow-missing-template-keys defaults to
    true (cli-runtime pkg/genericclioptions/jsonpath_flags.go). With it false:
    "%s is not found" (jsonpath.go evalField), printed as cli-runtime
    printers/jsonpath.go "error executing jsonpath %q: %v" (the real one then
    prints the object too). A map or list prints as compact JSON, keys sorted
    (Go encoding/json). Seen with kubectl v1.36.4 (tests/real/test_kubectl.py)."""

    def field(match: re.Match[str]) -> str:
        value: Any = document
        for part in match.group(1).strip().lstrip(".").split("."):
            if not isinstance(value, dict) or part not in value:
                if allow_missing:
                    return ""
                fail(
                    f'error: error executing jsonpath "{template}": Error executing template: '
                    f"{part} is not found. Printing more information for debugging the template:\n"
                    f"\ttemplate was:\n\t\t{template}\n"
                )
            value = value[part]
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)

    return re.sub(r"\{(.*?)\}", field, template)


def age(since: float, moment: float) -> str:
    seconds = int(moment - since)
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def kubectl(argv: list[str]) -> None:
    args = Args(argv)
    words = args.words
    cluster, host = connect(args)
    if words[:1] == ["get"] and args.get("--raw"):
        # the API server's /readyz and /livez answer "ok"
        if args.get("--raw") in ("/readyz", "/livez", "/healthz"):
            print("ok")
            return
        fail("Error from server (NotFound): the server could not find the requested resource")
    write_cache(args, host)
    namespace = args.get("--namespace", "default")
    verb = words[0] if words else ""
    try:
        if verb == "exec":
            kubectl_exec(cluster, namespace, words[1], args)
        elif verb == "wait":
            kubectl_wait(cluster, namespace, words[1:], args)
        elif verb == "get":
            kubectl_get(cluster, namespace, words[1:], args)
        elif verb == "describe" and words[1] in ("pod", "pods", "po"):
            print(describe_pod(cluster, world.get_object(cluster, "Pod", namespace, words[2])), end="")
        elif verb == "create":
            kubectl_create(cluster, namespace, words[1:], args)
        elif verb == "delete":
            kubectl_delete(cluster, namespace, words[1:], args)
        else:
            fail(f"fake kubectl: unsupported {argv}", 2)
    except world.ApiError as error:
        api_error(error)


def kubectl_exec(cluster: Cluster, namespace: str, pod_name: str, args: Args) -> None:
    pod = world.get_object(cluster, "Pod", namespace, pod_name)
    status = container.pod_status(cluster, pod)
    name = args.get("--container") or pod["spec"]["containers"][0]["name"]
    if not status.ready:
        # the kubelet's streaming server: no running container of that name
        fail(f'error: unable to upgrade connection: container not found ("{name}")')
    fs = container.FileSystem(container.container_mounts(cluster, pod, name))
    # kubectl pkg/cmd/exec/exec.go: -i/--stdin streams kubectl's stdin to the
    # container (remotecommand StreamOptions.Stdin); without it the
    # container's stdin is empty.
    stdin = sys.stdin.buffer.read() if args.on("-i") or args.on("--stdin") else b""
    code = container.run(fs, cluster.runtime, args.command, stdin)
    if code < 0:
        sys.exit(1)
    if code:
        # client-go tools/remotecommand/v4.go errorDecoderV4: CodeExitError
        # "command terminated with exit code %d"; kubectl helpers.go checkErr
        # exits with that code.
        fail(f"command terminated with exit code {code}", code)


def kubectl_wait(cluster: Cluster, namespace: str, targets: list[str], args: Args) -> None:
    """kubectl pkg/cmd/wait: each object gets the whole --timeout (default
    30s); success prints "<kind>/<name> condition met"; a time-out is
    "timed out waiting for the condition on <resource>/<name>" (wait.go
    extendErrWaitTimeout), exit 1."""
    timeout = duration_seconds(args.get("--timeout", "30s"))
    condition = args.get("--for").removeprefix("condition=").split("=")[0]
    if condition != "Ready":
        fail(f"fake kubectl: unsupported --for {args.get('--for')}", 2)
    if targets[:1] in (["nodes"], ["node"]) and args.on("--all"):
        for node in sorted(cluster.nodes, key=lambda n: n["name"]):
            start = world.now(root())
            ready_at = cluster.node_ready_at(node)
            if ready_at is None or ready_at > start + timeout:
                world.advance_to(root(), start + timeout)
                fail(f"error: timed out waiting for the condition on nodes/{node['name']}")
            world.advance_to(root(), ready_at)
            print(f"node/{node['name']} condition met")
        return
    kind, _, name = (targets[0] if "/" in targets[0] else "/".join(targets[:2])).partition("/")
    if kind not in ("pod", "pods", "po"):
        fail(f"fake kubectl: unsupported wait {targets}", 2)
    start = world.now(root())
    pod = world.get_object(cluster, "Pod", namespace, name)
    node_ready_at = cluster.node_ready_at(cluster.pod_node())
    if node_ready_at is not None and start < node_ready_at <= start + timeout:
        world.advance_to(root(), node_ready_at)
    if container.pod_status(cluster, pod).ready:
        print(f"pod/{name} condition met")
        return
    world.advance_to(root(), start + timeout)
    fail(f"error: timed out waiting for the condition on pods/{name}")


def kubectl_get(cluster: Cluster, namespace: str, words: list[str], args: Args) -> None:
    kind, _, name = words[0].partition("/")
    name = name or (words[1] if len(words) > 1 else "")
    output = args.get("--output")
    moment = world.now(root())
    if kind in ("nodes", "node", "no"):
        wide = output == "wide"
        lines = ["NAME\tSTATUS\tROLES\tAGE\tVERSION" + ("\tINTERNAL-IP\tCONTAINER-RUNTIME" if wide else "")]
        version = cluster.data["image"].rpartition(":")[2].split("@")[0] or "v1.31.0"
        for node in sorted(cluster.nodes, key=lambda n: n["name"]):
            status = "Ready" if cluster.node_ready(node, moment) else "NotReady"
            roles = "control-plane" if node["role"] == "control-plane" else "<none>"
            line = f"{node['name']}\t{status}\t{roles}\t{age(node['started'], moment)}\t{version}"
            if wide:
                line += f"\t{node_ip(cluster, node)}\t{'cri-o://1.31.0' if cluster.runtime == 'crio' else 'containerd://2.1.1'}"
            lines.append(line)
        # kubectl get: cli-runtime printers tabwriter (padding 3)
        sys.stdout.write(tabwrite(lines, padding=3))
        return
    ignore_missing = args.on("--ignore-not-found")
    try:
        if kind in ("pod", "pods", "po"):
            document = pod_document(cluster, world.get_object(cluster, "Pod", namespace, name))
        elif kind in ("configmap", "configmaps", "cm"):
            key = f"{namespace}/{name}"
            if key not in cluster.data["configmaps"]:
                raise world.not_found("configmaps", name)
            document = cluster.data["configmaps"][key]
        elif kind in ("namespace", "namespaces", "ns"):
            document = world.get_object(cluster, "Namespace", "", name)
        else:
            fail(f"fake kubectl: unsupported get {words}", 2)
            return
    except world.ApiError as error:
        if ignore_missing and error.reason == "NotFound":
            return  # kubectl get --ignore-not-found: nothing, exit 0
        raise
    if output.startswith("jsonpath="):
        allow_missing = args.get("--allow-missing-template-keys", "true") != "false"
        sys.stdout.write(jsonpath(output.removeprefix("jsonpath="), document, allow_missing))
    elif output == "json":
        print(json.dumps(document, indent=4))
    else:
        sys.stdout.write(tabwrite(["NAME\tAGE", f"{name}\t{age(0, moment)}"], padding=3))


def kubectl_create(cluster: Cluster, namespace: str, words: list[str], args: Args) -> None:
    if words[0] in ("namespace", "ns"):
        world.create_object(cluster, {"kind": "Namespace", "metadata": {"name": words[1]}})
        print(f"namespace/{words[1]} created")
        return
    if words[0] in ("configmap", "cm"):
        name = words[1]
        if namespace not in cluster.data["namespaces"]:
            raise world.not_found("namespaces", namespace)
        key = f"{namespace}/{name}"
        if key in cluster.data["configmaps"]:
            raise world.already_exists("configmaps", name)
        data = dict(literal.partition("=")[::2] for literal in args.all("--from-literal"))
        cluster.data["configmaps"][key] = {
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": data,
        }
        cluster.save()
        print(f"configmap/{name} created")
        return
    fail(f"fake kubectl: unsupported create {words}", 2)


def kubectl_delete(cluster: Cluster, namespace: str, words: list[str], args: Args) -> None:
    kind, _, name = words[0].partition("/")
    name = name or words[1]
    wait = args.get("--wait", "true") != "false"
    try:
        if kind in ("pod", "pods", "po"):
            world.delete_object(cluster, "Pod", namespace, name, wait)
            print(f'pod "{name}" deleted')
        elif kind in ("namespace", "namespaces", "ns"):
            world.delete_object(cluster, "Namespace", "", name, wait)
            print(f'namespace "{name}" deleted')
        else:
            fail(f"fake kubectl: unsupported delete {words}", 2)
    except world.ApiError as error:
        if not (args.on("--ignore-not-found") and error.reason == "NotFound"):
            raise


def node_ip(cluster: Cluster, node: dict[str, Any]) -> str:
    """Addresses on kind's docker network, in node order (a stand-in)."""
    return f"172.18.0.{cluster.nodes.index(node) + 2}"


def describe_pod(cluster: Cluster, pod: dict[str, Any]) -> str:
    """kubectl pkg/describe/describe.go describePod, laid out by its tabwriter
    (padding 2); events as "  Type\\tReason\\tAge\\tFrom\\tMessage"."""
    status = container.pod_status(cluster, pod)
    metadata = pod["metadata"]
    lines = [
        f"Name:\t{metadata['name']}",
        f"Namespace:\t{metadata.get('namespace', 'default')}",
        f"Node:\t{cluster.pod_node()['name']}/{node_ip(cluster, cluster.pod_node())}",
        f"Status:\t{'Terminating' if 'deletionTimestamp' in metadata else status.phase}",
        "Containers:",
    ]
    for index, spec in enumerate(pod["spec"]["containers"]):
        lines.append(f"  {spec['name']}:")
        lines.append(f"    Image:\t{spec['image']}")
        if status.ready:
            lines.append("    State:\tRunning")
        else:
            lines.append("    State:\tWaiting")
            if index == 0 and status.reason:
                lines.append(f"      Reason:\t{status.reason}")
        lines.append(f"    Ready:\t{'True' if status.ready else 'False'}")
        mounts = spec.get("volumeMounts") or []
        lines.append("    Mounts:" + ("" if mounts else "\t<none>"))
        lines.extend(f"      {m['mountPath']} from {m['name']} (ro)" for m in mounts)
    lines.append("Volumes:")
    for volume in pod["spec"].get("volumes") or []:
        lines.append(f"  {volume['name']}:")
        if "image" in volume:
            lines.append("    Type:\tImage (a container image or OCI artifact)")
            lines.append(f"    Reference:\t{volume['image']['reference']}")
            lines.append(f"    PullPolicy:\t{volume['image'].get('pullPolicy', 'IfNotPresent')}")
    if status.events:
        lines.append("Events:")
        lines.append("  Type\tReason\tAge\tFrom\tMessage")
        lines.append("  ----\t------\t----\t----\t-------")
        lines.extend(
            f"  {kind}\t{reason}\t5s\t{source}\t{text}" for kind, reason, source, text in status.events
        )
    else:
        lines.append("Events:\t<none>")
    return tabwrite(lines, padding=2)


def sleep(argv: list[str]) -> None:
    """coreutils sleep NUMBER[smhd]...: here the virtual clock moves instead."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    total = 0.0
    for arg in argv:
        match = re.fullmatch(r"([0-9]*\.?[0-9]+)([smhd]?)", arg)
        if match is None:
            # coreutils sleep.c: "invalid time interval %s"
            fail(f"sleep: invalid time interval '{arg}'")
        total += float(match.group(1)) * units[match.group(2) or "s"]
    world.advance_to(root(), world.now(root()) + total)


def date(argv: list[str]) -> None:
    """`date +%s` on the virtual clock; anything else is the host's date."""
    if argv == ["+%s"]:
        print(int(world.EPOCH + world.now(root())))
        return
    host = shutil.which("date", path="/usr/bin:/bin")
    if host is None:
        fail("fake date: no host date")
    sys.exit(subprocess.run([host, *argv], check=False).returncode)


PULUMI_STACKS = "pulumi-stacks"  # JSON under $FAKE_STATE: {backend URL: {"stacks": [...], "current": ...}}
# Flags that take a value (so their value is not taken for a positional word).
PULUMI_VALUE_FLAGS = (
    *("--stack", "-s", "--config-file", "--cwd", "-C", "--secrets-provider", "--color", "--tracing"),
    *("--target", "-t", "--replace", "--parallel", "-p", "--message", "-m"),
)


def _pulumi_fail(message: str) -> NoReturn:
    # pkg/cmd/pulumi/main.go: cmd.DisplayErrorMessage(err) reports the error
    # through cmdutil.Diag().Errorf (sdk/go/common/util/cmdutil/exit.go), shown
    # as "error: <message>", then os.Exit(-1): exit status 255.
    fail(f"error: {message}", 255)


def _pulumi_backends() -> dict[str, Any]:
    path = root() / PULUMI_STACKS
    backends: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return backends


def _pulumi_backend_url() -> str:
    """PULUMI_BACKEND_URL, else the one `pulumi login` recorded as current in
    $PULUMI_HOME/credentials.json (~/.pulumi when unset) (pkg/backend/state
    CurrentBackendURL, sdk/go/common/workspace/creds.go GetStoredCredentials).
    With neither, the CLI would log in to Pulumi Cloud, which a non-interactive
    session cannot: backenderr.MissingEnvVarForNonInteractiveError."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    if not url:
        home = Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
        credentials = home / "credentials.json"
        if credentials.is_file():
            url = str(json.loads(credentials.read_text()).get("current") or "")
    if not url:
        _pulumi_fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")
    return url


def _pulumi_backend(backends: dict[str, Any]) -> dict[str, Any]:
    """The stacks of the backend the CLI is logged in to (_pulumi_backend_url)."""
    backend: dict[str, Any] = backends.setdefault(_pulumi_backend_url(), {"stacks": [], "current": None})
    return backend


def _pulumi_save(backends: dict[str, Any]) -> None:
    root().mkdir(parents=True, exist_ok=True)
    (root() / PULUMI_STACKS).write_text(json.dumps(backends, indent=2) + "\n")


def _pulumi_project() -> tuple[Path, str] | None:
    """The Pulumi.yaml found searching upwards from the working directory, and
    its project name (sdk/go/common/workspace/paths.go DetectProjectPathFrom,
    read by pkg/workspace/context.go ReadProject)."""
    directory = Path.cwd()
    for candidate in (directory, *directory.parents):
        for name in ("Pulumi.yaml", "Pulumi.yml"):
            if (candidate / name).is_file():
                match = re.search(r"^name:\s*[\"']?([^\"'\s#]+)", (candidate / name).read_text(), re.M)
                return candidate / name, match.group(1) if match else ""
    return None


def _pulumi_ref(stack: str, project: str) -> str:
    """pkg/backend/diy/store.go: a DIY stack is organization/<project>/<stack>."""
    name = stack.rsplit("/", 1)[-1]
    return f"organization/{project}/{name}" if project else name


def _pulumi_config_path(argv: list[str], stack: str) -> Path:
    """Where the stack's config is read and saved: --config-file when given,
    else Pulumi.<stack>.yaml in the project's directory (or its stackConfigDir)
    (pkg/cmd/pulumi/stack/io.go LoadProjectStack/SaveProjectStack;
    sdk/go/common/workspace DetectProjectStackPath)."""
    config_file = flag(argv, "--config-file")
    if config_file:
        return Path.cwd() / config_file
    found = _pulumi_project()
    if found is None:
        fail(f"fake pulumi: no Pulumi.yaml above {Path.cwd()} (unsupported)", 2)
    project_file = found[0]
    directory = project_file.parent
    config_dir = re.search(r"^stackConfigDir:\s*[\"']?([^\"'\s#]+)", project_file.read_text(), re.M)
    if config_dir:
        directory = directory / config_dir.group(1)
    return directory / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def _pulumi_ensure_salt(path: Path) -> None:
    """The passphrase secrets provider: a stack config without encryptionsalt
    gets a new one, saved into the config file (pkg/secrets/passphrase/manager.go
    NewPromptingPassphraseSecretsManager / NewPassphraseSecretsManager: state
    "v1:<base64 8-byte salt>:<the crypter's encryption of "pulumi">", that is
    "v1:<base64 nonce>:<base64 ciphertext>" (sdk/go/common/resource/config/crypt.go
    symmetricCrypter); pkg/cmd/pulumi/stack/io.go SaveProjectStack). The real
    CLI (v3.259.0, tests/real/test_pulumi_cli.py) edits the file in place: the
    salt goes last, comments and order stay, and every plain config value is
    written as a YAML string (`workers: 1` becomes `workers: "1"`; the shipped
    files quote them so only the salt line changes). The fake appends the line
    and leaves the rest alone. The ciphertext is random bytes of the right
    length, not AES-GCM."""
    text = path.read_text() if path.exists() else ""
    if re.search(r"^encryptionsalt:", text, re.M):
        return
    salt = base64.b64encode(secrets.token_bytes(8)).decode()
    nonce = base64.b64encode(secrets.token_bytes(12)).decode()
    sealed = base64.b64encode(secrets.token_bytes(len("pulumi") + 16)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + f"encryptionsalt: v1:{salt}:v1:{nonce}:{sealed}\n")


def _pulumi_create(argv: list[str], stack: str) -> None:
    """pkg/cmd/pulumi/stack/io.go CreateStack → pkg/backend/diy/backend.go CreateStack."""
    found = _pulumi_project()
    ref = _pulumi_ref(stack, found[1] if found else "")
    backends = _pulumi_backends()
    backend = _pulumi_backend(backends)
    if ref in backend["stacks"]:
        # pkg/backend/backenderr: StackAlreadyExistsError "stack '%v' already
        # exists", with the fully qualified name (diy backend.go CreateStack)
        _pulumi_fail(f"stack '{ref}' already exists")
    # createSecretsManagerForNewStack: the passphrase provider's salt is saved
    # into the stack's config (SaveProjectStack) once the stack is created.
    _pulumi_ensure_salt(_pulumi_config_path(argv, stack))
    backend["stacks"].append(ref)
    backend["current"] = ref  # stack init / select --create: state.SetCurrentStack
    _pulumi_save(backends)
    # diy backend.go CreateStack: b.d.Infof("Created stack '%s'", stack.Ref())
    print(f"Created stack '{stack}'")


def _pulumi_require(argv: list[str]) -> str:
    """pkg/cmd/pulumi/stack/io.go RequireStack: the --stack given (else the
    selected one), failing with "no stack named '%s' found" when it is missing."""
    stack = flag(argv, "--stack") or flag(argv, "-s")
    backend = _pulumi_backend(_pulumi_backends())
    if not stack:
        if not backend["current"]:
            fail("fake pulumi: no --stack and no selected stack (unsupported)", 2)
        return str(backend["current"])
    found = _pulumi_project()
    if _pulumi_ref(stack, found[1] if found else "") not in backend["stacks"]:
        _pulumi_fail(f"no stack named '{stack}' found")
    return stack


def pulumi(argv: list[str]) -> None:
    """The Pulumi CLI on a state backend (DIY, one per PULUMI_BACKEND_URL) kept
    in $FAKE_STATE/pulumi-stacks, with the passphrase secrets provider: stack
    select/init, up, preview, destroy and stack output."""
    if os.environ.get("FAKE_PULUMI_ERROR"):
        _pulumi_fail(os.environ["FAKE_PULUMI_ERROR"])
    # pkg/cmd/pulumi/pulumi.go: the global --cwd/-C is os.Chdir'd before the command runs
    cwd = flag(argv, "--cwd") or flag(argv, "-C")
    if cwd:
        os.chdir(cwd)
    words = [
        arg
        for index, arg in enumerate(argv)
        if not arg.startswith("-") and (index == 0 or argv[index - 1] not in PULUMI_VALUE_FLAGS)
    ]
    if words[:2] in (["stack", "select"], ["stack", "init"]):
        stack = words[2] if len(words) > 2 else flag(argv, "--stack") or flag(argv, "-s")
        if not stack:
            fail(f"fake pulumi: unsupported {argv} (no stack name)", 2)
        found = _pulumi_project()
        ref = _pulumi_ref(stack, found[1] if found else "")
        backends = _pulumi_backends()
        exists = ref in _pulumi_backend(backends)["stacks"]
        if words[1] == "init" or (not exists and ("--create" in argv or "-c" in argv)):
            # stack_init.go, and stack_select.go's --create: InitStack
            _pulumi_create(argv, stack)
        elif exists:
            _pulumi_backend(backends)["current"] = ref  # stack_select.go: state.SetCurrentStack
            _pulumi_save(backends)
        else:
            # pkg/cmd/pulumi/stack/stack_select.go
            _pulumi_fail(f"no stack named '{stack}' found")
    elif words[:1] == ["whoami"]:
        url = _pulumi_backend_url()
        # pkg/cmd/pulumi/whoami/whoami.go renderWhoAmIText; a DIY backend's user
        # is the OS user (pkg/backend/diy/backend.go CurrentUser)
        user = os.environ.get("USER", "root")
        if "--verbose" in argv or "-v" in argv:
            print(f"User: {user}\nOrganizations: \nBackend URL: {url}\nToken type: personal")
        else:
            print(user)
    elif words[:2] == ["stack", "ls"]:
        # pkg/cmd/pulumi/stack/stack_ls.go formatStackSummariesConsole: a table,
        # the current stack's name marked with "*"
        backend = _pulumi_backend(_pulumi_backends())
        print("NAME  LAST UPDATE  RESOURCE COUNT")
        for ref in backend["stacks"]:
            name = ref.rsplit("/", 1)[-1]
            print(f"{name}{'*' if ref == backend['current'] else ''}  n/a  n/a")
    elif words[:1] in (["up"], ["update"], ["preview"], ["pre"], ["destroy"], ["refresh"]):
        stack = _pulumi_require(argv)
        if words[0] != "preview" and "--yes" not in argv and "-y" not in argv:
            # operations/up.go, destroy.go, refresh.go: cmdutil.Interactive() is
            # false with --non-interactive or when stdin or stdout is no terminal
            # (sdk/go/common/util/cmdutil/console.go); the fake never has one.
            skip = os.environ.get("PULUMI_SKIP_CONFIRMATIONS", "").lower() in ("1", "true")
            if not skip:
                _pulumi_fail(
                    "--yes or --skip-preview or --preview-only must be passed in to proceed "
                    "when running in non-interactive mode"
                )
        # pkg/cmd/pulumi/stack/secrets.go: the stack's secrets manager is built
        # from its config; with no encryptionsalt there, the passphrase
        # provider makes one and SaveProjectStack writes it (io.go).
        _pulumi_ensure_salt(_pulumi_config_path(argv, stack))
    elif words[:2] == ["stack", "export"]:
        # pkg/cmd/pulumi/stack/stack_export.go: the deployment as JSON; a
        # stack with recorded outputs (an up happened) has resources, the
        # root stack resource at least.
        stack = _pulumi_require(argv)
        recorded_file = root() / "pulumi-outputs.json"
        recorded = json.loads(recorded_file.read_text()).get(stack) if recorded_file.exists() else None
        name = stack.rsplit("/", 1)[-1]
        resources = (
            [{"urn": f"urn:pulumi:{name}::imagevolume::pulumi:pulumi:Stack::imagevolume-{name}"}]
            if recorded
            else []
        )
        print(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": resources}}))
    elif words[:2] == ["stack", "output"]:
        stack = _pulumi_require(argv)
        # The outputs a test recorded for the stack (as an earlier up would):
        # $FAKE_STATE/pulumi-outputs.json, {stack: {name: value}}; secret ones
        # listed under "__secret__".
        recorded_file = root() / "pulumi-outputs.json"
        recorded = json.loads(recorded_file.read_text()).get(stack, {}) if recorded_file.exists() else {}
        secret = set(recorded.pop("__secret__", []))
        shown = {
            k: v if k not in secret or "--show-secrets" in argv else "[secret]" for k, v in recorded.items()
        }
        json_out = "--json" in argv or "-j" in argv
        names = words[2:]
        if names:
            # pkg/cmd/pulumi/stack/stack_output.go: one property, strings as they
            # are (stringifyOutput), or the error for a missing one
            if names[0] not in shown:
                _pulumi_fail(f"current stack does not have output property '{names[0]}'")
            value = shown[names[0]]
            print(json.dumps(value) if json_out or not isinstance(value, str) else value)
        elif json_out:
            print(json.dumps(shown))  # ui.FprintJSON
        elif not shown:
            # stack.go fprintStackOutputs
            print("Current stack outputs (0):\n    No output values currently in this stack")
        else:
            fail(f"fake pulumi: unsupported {argv} (a table of outputs)", 2)
    else:
        fail(f"fake pulumi: unsupported {argv}", 2)


def main() -> None:
    program, argv = sys.argv[1], sys.argv[2:]
    log_call(program, argv)
    programs = {"kind": kind, "kubectl": kubectl, "docker": docker, "podman": podman, "pulumi": pulumi}
    programs |= {"sleep": sleep, "date": date}
    programs[program](argv)


if __name__ == "__main__":
    main()
