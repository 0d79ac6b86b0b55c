"""What a pod's node runtime does with image volumes, and what its BusyBox
container (echoserver:2.3) prints.

Image catalogue (references a test may use):
- quay.io/crio/artifact:v1: an image whose config has no rootfs.diff_ids.
  CRI-O mounts it; containerd's unpacker refuses it (docs/fidelity.md section 5).
- quay.io/crio/artifact:v2: the same files as a proper image; both mount it.
  Both hold dir/file = "1\\n" and file = "2\\n" (docs/walkthrough.md section 6).
- any reference listed in FAKE_OCI_ARTIFACTS (comma-separated): an OCI
  artifact with the same two files as layers titled "dir/file" and "file".
  CRI-O 1.33+ bind-mounts each file read-only; containerd cannot mount it.
- any reference listed in FAKE_MISSING_IMAGES (comma-separated): not in the
  registry (manifest unknown): the pull fails.
- any other well-formed reference: an image holding README = "an image\\n".
- a malformed reference: InvalidImageName.
- localhost:<port>/<repository>@<digest> (or :<tag>): pulled for real from a
  registry container of the cluster's Docker engine (fakecli.py runs
  docker-registry for it), when the node's runtime is configured to reach it
  (see pull_local); its layers are unpacked into the image's files (bytes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from fakes import world
from fakes.world import Cluster, now

ARTIFACT_FILES = {"dir/file": "1\n", "file": "2\n"}
GENERIC_FILES = {"README": "an image\n"}
# A file's time as BusyBox ls prints one younger than six months.
MTIME = "Jun  3 12:00"


@dataclass(frozen=True)
class Symlink:
    """A symbolic link in an image layer (its target as stored)."""

    target: str


# A file's content: text (the catalogue's files) or bytes (a pulled layer's), or a link.
Entry = str | bytes | Symlink


def as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


@dataclass(frozen=True)
class Image:
    kind: str  # "image", "image-no-diffids", "artifact"
    files: dict[str, Entry]
    layers: int = 1


def _listed(variable: str, reference: str) -> bool:
    return reference in [r.strip() for r in os.environ.get(variable, "").split(",") if r.strip()]


def lookup(reference: str) -> Image | None:
    """The registry's answer for a reference; None: manifest unknown."""
    if _listed("FAKE_MISSING_IMAGES", reference):
        return None
    if _listed("FAKE_OCI_ARTIFACTS", reference):
        return Image("artifact", dict(ARTIFACT_FILES), layers=len(ARTIFACT_FILES))
    if reference == "quay.io/crio/artifact:v1":
        return Image("image-no-diffids", dict(ARTIFACT_FILES))
    if reference == "quay.io/crio/artifact:v2":
        return Image("image", dict(ARTIFACT_FILES))
    return Image("image", dict(GENERIC_FILES))


# The reference grammar (distribution/reference regexp.go), without the
# optional parts this project never meets (IPv6 hosts).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
)
_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$"
)


def valid_reference(reference: str) -> bool:
    return (
        bool(_REFERENCE.match(reference))
        and len(reference.split("@", maxsplit=1)[0].split(":", maxsplit=1)[0]) <= 255
    )


# --- pod status ---------------------------------------------------------------


@dataclass
class PodStatus:
    phase: str
    ready: bool
    reason: str = ""  # the container's waiting reason
    message: str = ""
    # (type, reason, from, message), as `kubectl describe` lists events
    events: list[tuple[str, str, str, str]] = field(default_factory=list)


def _pull_error(runtime: str, reference: str, image: Image | None) -> str:
    """The CRI error a failed pull reports (kubelet prints its gRPC status)."""
    repository, _, tag = (
        reference.rpartition(":")
        if ":" in reference.rsplit("/", maxsplit=1)[-1]
        else (reference, "", "latest")
    )
    if runtime == "crio":
        if image is None:
            # containers/image docker/docker_image_src.go: "reading manifest %s in %s: %w",
            # the registry's error code text "manifest unknown".
            return (
                f"rpc error: code = Unknown desc = reading manifest {tag} in {repository}: manifest unknown"
            )
        return f"rpc error: code = Unknown desc = {reference}: pull failed"
    if image is None:
        # containerd internal/cri/server/images/image_pull.go "failed to pull and unpack image %q: %w";
        # core/remotes/docker/resolver.go "%v: %w" with errdefs.ErrNotFound ("not found").
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{reference}": '
            f'failed to resolve reference "{reference}": {reference}: not found'
        )
    # containerd core/unpack/unpacker.go: "number of layers and diffIDs don't match: %d != %d"
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{reference}": '
        f"number of layers and diffIDs don't match: {image.layers} != 0"
    )


# --- a local registry: localhost:<port>/... -------------------------------------
# kind's local-registry recipe (kind site/static/examples/kind-with-registry.sh):
# inside a node, localhost is the node itself, so the runtime must be told
# that localhost:<port> is <registry container>:5000 on the `kind` network.

LOCAL_REFERENCE = re.compile(
    r"^localhost:(?P<port>[0-9]+)/(?P<repository>[^@]+?)(?::(?P<tag>[\w][\w.-]*))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
# The node's resolver: kind's entrypoint (images/base/files/usr/local/bin/entrypoint
# enable_network_magic) points /etc/resolv.conf at the docker host's address on
# the `kind` network, its gateway (a stand-in address, as node_ip's are).
NODE_DNS = "172.18.0.1:53"
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0::2]


class PullError(Exception):
    """A failed pull: `message` is the CRI error as the kubelet prints it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_local(reference: str) -> bool:
    return LOCAL_REFERENCE.match(reference) is not None


def _dial_refused(address: str) -> str:
    # Go net: OpError "dial tcp <addr>: connect: connection refused". localhost
    # is 127.0.0.1 first in a container's /etc/hosts (moby
    # libnetwork/etchosts/etchosts.go defaultContentIPv4 before IPv6) and Go
    # dials the first family first, reporting its error (Go's net package is
    # not mirrored here: that order is not read from its source).
    return f"dial tcp {address}: connect: connection refused"


def _no_such_host(host: str) -> str:
    # Go net.DNSError "lookup <name> on <server>: no such host", in an OpError
    # without an address: "dial tcp: ..." (Go's text, not read from source).
    return f"dial tcp: lookup {host} on {NODE_DNS}: no such host"


def _registry_container(cluster: Cluster, host: str) -> tuple[dict[str, Any] | None, str]:
    """The registry container a node reaches as `host` (NAME:PORT), and why not
    ("" when it is reachable): Docker's DNS on the `kind` network knows the
    containers attached to it (and running)."""
    name, _, port = host.partition(":")
    endpoint = str(cluster.data["endpoint"])
    record = world.load_containers(cluster.root, endpoint).get(name)
    if record is None or record["state"] != "running" or "kind" not in record["networks"]:
        return None, _no_such_host(name)
    if port != "5000":
        return None, _dial_refused(f"{record['networks']['kind']}:{port}")  # distribution listens on :5000
    return record, ""


def _registry_get(record: dict[str, Any], path: str, accept: str = "") -> tuple[int, bytes, str]:
    """GET from the registry container's docker-registry (its published host port)."""
    # Imported here, as below: a fake CLI call starts a Python each time, and
    # most calls never pull (tests/fakes/cli.py).
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    _, host_port, _ = record["ports"][0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{host_port}{path}", headers={"Accept": accept} if accept else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http://127.0.0.1 only
            return int(response.status), response.read(), str(response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(), ""
    except OSError as error:
        raise PullError(f"fake: registry container {record['name']} does not answer: {error}") from error


def _registry_message(body: bytes) -> str:
    """The registry's error as containers/image docker/errors.go
    registryHTTPResponseToError words it: the errcode's message alone (the
    registry sends each code's default message: "manifest unknown", ...)."""
    try:
        errors = json.loads(body)["errors"]
        return str(errors[0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return f"StatusCode: 404, {body[:50]!r}"


def _containerd_host(node: dict[str, Any], host: str) -> tuple[str, str] | None:
    """(scheme, NAME:PORT) of the first [host."..."] in the node's
    <config_path>/<host>/hosts.toml (containerd core/remotes/docker/config/hosts.go
    loadHostDir, parseHostsFile: read on every pull, no reload; kind's node
    images set config_path = /etc/containerd/certs.d since v0.27.0:
    kind-with-registry.sh), or None."""
    files = node.get("files") or {}
    text = files.get(f"/etc/containerd/certs.d/{host}/hosts.toml")
    if text is None:
        return None
    import tomllib  # noqa: PLC0415

    try:
        hosts = tomllib.loads(text).get("host") or {}
    except tomllib.TOMLDecodeError:
        raise PullError(f"fake containerd: hosts.toml for {host} is not TOML (not modelled)") from None
    for server in hosts:
        scheme, _, rest = server.partition("://")
        if scheme != "http" or not rest or "/" in rest:
            raise PullError(f'fake containerd: [host."{server}"] is not modelled (http://NAME:PORT only)')
        return scheme, rest
    return None


def _crio_registry(node: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The [[registry]] of the registries.conf.d drop-ins CRI-O last read
    (world.reload_crio) whose prefix matches `name` (reference.Named.Name()),
    longest first: containers/image pkg/sysregistriesv2/system_registries_v2.go
    FindRegistry, refMatchingPrefix (the prefix, then ':', '/' or '@'); a
    later drop-in's entry for the same prefix wins; no prefix: the location."""
    import tomllib  # noqa: PLC0415

    entries: dict[str, dict[str, Any]] = {}
    for path, text in sorted((node.get("crio_registries") or {}).items()):
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise PullError(f"fake CRI-O: {path} is not TOML (not modelled)") from None
        for entry in document.get("registry") or []:
            prefix = str(entry.get("prefix") or entry.get("location") or "")
            entries[prefix] = entry
    matching = [
        prefix
        for prefix in entries
        if prefix and (name == prefix or (name.startswith(prefix) and name[len(prefix)] in ":/@"))
    ]
    return entries[max(matching, key=len)] if matching else None


def _cache_path(cluster: Cluster, node: dict[str, Any], reference: str) -> Any:
    return cluster.path / "node-images" / node["name"] / hashlib.sha256(reference.encode()).hexdigest()


def _save_pulled(path: Any, image: Image) -> None:
    files = {
        name: {"link": entry.target}
        if isinstance(entry, Symlink)
        else {"b64": base64.b64encode(as_bytes(entry)).decode()}
        for name, entry in image.files.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(
        json.dumps({"kind": image.kind, "layers": image.layers, "files": files})
    )


def _load_pulled(path: Any) -> Image | None:
    stored = path.with_suffix(".json")
    if not stored.exists():
        return None
    document = json.loads(stored.read_text())
    files: dict[str, Entry] = {
        name: Symlink(entry["link"]) if "link" in entry else base64.b64decode(entry["b64"])
        for name, entry in document["files"].items()
    }
    return Image(document["kind"], files, document["layers"])


def unpack(layers: list[bytes]) -> dict[str, Entry]:
    """A layer stack's regular files and symlinks (directories implied; a
    hard link is its target's bytes; OCI whiteouts ".wh.<name>" remove)."""
    import tarfile  # noqa: PLC0415

    files: dict[str, Entry] = {}
    for blob in layers:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as archive:
            for member in archive:
                name = posixpath.normpath(member.name).lstrip("/")
                if name in ("", "."):
                    continue
                base = posixpath.basename(name)
                if base.startswith(".wh."):
                    gone = posixpath.join(posixpath.dirname(name), base[4:]).lstrip("/")
                    files = {k: v for k, v in files.items() if k != gone and not k.startswith(gone + "/")}
                elif member.issym():
                    files[name] = Symlink(member.linkname)
                elif member.islnk():
                    files[name] = files.get(posixpath.normpath(member.linkname).lstrip("/"), b"")
                elif member.isfile():
                    extracted = archive.extractfile(member)
                    files[name] = extracted.read() if extracted else b""
    return files


def pull_local(cluster: Cluster, reference: str) -> Image:
    """Pull localhost:<port>/<repository>@<digest> as the pod's node runtime
    would, or raise PullError with its message. A pulled image stays on the
    node (cached under the cluster: the kubelet's IfNotPresent)."""
    match = LOCAL_REFERENCE.match(reference)
    assert match is not None
    node = cluster.pod_node()
    cached = _load_pulled(_cache_path(cluster, node, reference))
    if cached is not None:
        return cached
    port, repository = match.group("port"), match.group("repository")
    obj = match.group("digest") or match.group("tag") or "latest"
    host = f"localhost:{port}"
    if cluster.runtime == "crio":
        image = _pull_crio(cluster, node, reference=reference, host=host, repository=repository, obj=obj)
    else:
        image = _pull_containerd(
            cluster, node, reference=reference, host=host, repository=repository, obj=obj
        )
    _save_pulled(_cache_path(cluster, node, reference), image)
    return image


def _pull_containerd(
    cluster: Cluster, node: dict[str, Any], *, reference: str, host: str, repository: str, obj: str
) -> Image:
    """containerd 2.1 CRI pullImageWithLocalPull (internal/cri/server/images/
    image_pull.go; the local pull is the default on Linux:
    internal/cri/config/config.go CheckLocalImagePullConfigs) →
    client/pull.go Pull "failed to resolve reference %q: %w" →
    core/remotes/docker/resolver.go Resolve: a HEAD of /v2/<repo>/manifests/<obj>
    on each host of config/hosts.go ConfigureHosts (the hosts.toml hosts, then
    the default one: for localhost:<port>, https with an HTTP fallback only for
    TLS errors), the first host's error kept; request.do "failed to do
    request: %w" around Go's url.Error `Head "<url>": <err>`; a 404:
    "%s: %w" ref, errdefs.ErrNotFound ("not found", gRPC NotFound). Wrapped
    "failed to pull and unpack image %q: %w" by image_pull.go."""

    def failed(detail: str, code: str = "Unknown") -> PullError:
        return PullError(
            f'rpc error: code = {code} desc = failed to pull and unpack image "{reference}": {detail}'
        )

    path = f"/v2/{repository}/manifests/{obj}"
    configured = _containerd_host(node, host)
    if configured is None:
        url = f"https://{host}{path}"
        raise failed(
            f'failed to resolve reference "{reference}": failed to do request: Head "{url}": '
            + _dial_refused(f"127.0.0.1:{host.partition(':')[2]}")
        )
    _, target = configured
    # resolver.go request.addNamespace: a host other than the reference's gets ?ns=<host> (url.Values.Encode)
    url = f"http://{target}{path}?ns={host.replace(':', '%3A')}"
    record, why = _registry_container(cluster, target)
    if record is None:
        raise failed(f'failed to resolve reference "{reference}": failed to do request: Head "{url}": {why}')
    image = _fetch(record, repository, obj)
    if isinstance(image, str):
        raise failed(f'failed to resolve reference "{reference}": {reference}: not found', "NotFound")
    if image.kind == "image-no-diffids":
        # core/unpack/unpacker.go: "number of layers and diffIDs don't match: %d != %d"
        raise failed(f"number of layers and diffIDs don't match: {image.layers} != 0")
    return image


def _pull_crio(
    cluster: Cluster, node: dict[str, Any], *, reference: str, host: str, repository: str, obj: str
) -> Image:
    """CRI-O server/image_pull.go (v1.31) → containers/image
    docker/docker_image_src.go newImageSource: the registries.conf entry
    for the name (FindRegistry; none: the name itself), its location as the
    one pull source (PullSourcesFromReference; one attempt: its error as it
    is); docker/docker_client.go detectPropertiesHelper pings
    "%s://%s/v2/" over https, then http when the entry is insecure
    (InsecureSkipVerify), failing "pinging container registry %s: %w" (the
    last attempt's url.Error); fetchManifest "reading manifest %s in %s: %w"
    (the physical reference's name). A refused connection (errors.Is
    ECONNREFUSED) is wrapped "%w: %w" with cri-api ErrRegistryUnavailable
    ("RegistryUnavailable"). The gRPC code is Unknown."""

    def failed(detail: str) -> PullError:
        return PullError(f"rpc error: code = Unknown desc = {detail}")

    name = f"{host}/{repository}"
    entry = _crio_registry(node, name)
    if entry is None or not entry.get("location"):
        if entry is not None:
            raise failed(f"fake CRI-O: a [[registry]] for {name} without location is not modelled")
        raise failed(
            f'RegistryUnavailable: pinging container registry {host}: Get "https://{host}/v2/": '
            + _dial_refused(f"127.0.0.1:{host.partition(':')[2]}")
        )
    prefix = str(entry.get("prefix") or entry["location"])
    # pkg/sysregistriesv2 Endpoint.rewriteReference: location + the rest after the prefix
    physical = str(entry["location"]) + name[len(prefix) :]
    target, _, physical_repository = physical.partition("/")
    insecure = entry.get("insecure") is True
    scheme = "http" if insecure else "https"
    record, why = _registry_container(cluster, target)
    if record is None:
        unavailable = "RegistryUnavailable: " if "connection refused" in why else ""
        raise failed(
            f'{unavailable}pinging container registry {target}: Get "{scheme}://{target}/v2/": {why}'
        )
    if not insecure:
        # Go net/http's answer to an HTTPS request that gets an HTTP response
        # (Go's text, not read from source)
        raise failed(
            f'pinging container registry {target}: Get "https://{target}/v2/": '
            "http: server gave HTTP response to HTTPS client"
        )
    image = _fetch(record, physical_repository, obj)
    if isinstance(image, str):
        raise failed(f"reading manifest {obj} in {target}/{physical_repository}: {image}")
    return image


def _fetch(record: dict[str, Any], repository: str, obj: str) -> Image | str:
    """The image at /v2/<repository>/manifests/<obj> of the registry
    container's docker-registry: the index's manifest for the node's
    platform (linux/<the Docker host's Go arch>), its config and layers,
    unpacked; or, when the registry has no such manifest (404), its error
    message."""
    status, body, media_type = _registry_get(
        record, f"/v2/{repository}/manifests/{obj}", ", ".join(MANIFEST_TYPES)
    )
    if status == 404:
        return _registry_message(body)
    if status != 200:
        raise PullError(
            f"fake: registry {record['name']} answered {status} for {repository}:{obj} (not modelled)"
        )
    document = json.loads(body)
    if (document.get("mediaType") or media_type) in INDEX_TYPES:
        arch = world.GO_ARCHES.get(world.docker_machine(), world.docker_machine())
        chosen = [
            m
            for m in document.get("manifests") or []
            if (m.get("platform") or {}).get("os") == "linux"
            and (m.get("platform") or {}).get("architecture") == arch
        ]
        if not chosen:
            raise PullError(f"fake: the index has no linux/{arch} manifest (that failure is not modelled)")
        status, body, _ = _registry_get(
            record, f"/v2/{repository}/manifests/{chosen[0]['digest']}", ", ".join(MANIFEST_TYPES)
        )
        if status != 200:
            raise PullError(
                f"fake: registry {record['name']} answered {status} for a manifest (not modelled)"
            )
        document = json.loads(body)
    blobs = []
    for descriptor in [document["config"], *document.get("layers", [])]:
        status, blob, _ = _registry_get(record, f"/v2/{repository}/blobs/{descriptor['digest']}")
        if status != 200:
            raise PullError(f"fake: registry {record['name']} answered {status} for a blob (not modelled)")
        blobs.append(blob)
    config = json.loads(blobs[0])
    layers = blobs[1:]
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    kind = "image" if len(diff_ids) == len(layers) else "image-no-diffids"
    return Image(kind, unpack(layers), layers=len(layers))


def image_of(cluster: Cluster, reference: str) -> Image | None:
    """The image a reference names, as the node would have it: a local
    registry's from the node (pulled by pod_status), the catalogue's else."""
    if is_local(reference):
        return pull_local(cluster, reference)
    return lookup(reference)


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = pod["spec"]["containers"]
    return containers


def _image_volumes(pod: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["image"]["reference"] for v in pod["spec"].get("volumes") or [] if "image" in v}


def _tree(files: dict[str, Entry], sub_path: str | None) -> dict[str, Entry] | None:
    if not sub_path:
        return dict(files)
    prefix = posixpath.normpath(sub_path).strip("/") + "/"
    tree = {path[len(prefix) :]: text for path, text in files.items() if path.startswith(prefix)}
    return tree or None


def pod_status(cluster: Cluster, pod: dict[str, Any]) -> PodStatus:
    """What the kubelet and the node's runtime make of the pod (docs/fidelity.md
    section 5; docs/runtimes.md section 3, "How a failure shows")."""
    runtime = cluster.runtime
    failure = os.environ.get("FAKE_POD_FAILURE", "")
    name = pod["metadata"]["name"]
    namespace = pod["metadata"].get("namespace", "default")
    node = cluster.pod_node()
    moment = now(cluster.root)
    if not cluster.node_ready(node, moment):
        return PodStatus("Pending", False, "ContainerCreating")
    events = [
        (
            "Normal",
            "Scheduled",
            "default-scheduler",
            f"Successfully assigned {namespace}/{name} to {node['name']}",
        )
    ]
    backed_off = moment > float(pod["metadata"].get("creationTimestamp", 0))
    volumes = _image_volumes(pod)
    for reference in volumes.values():
        if not valid_reference(reference):
            # kubelet pkg/kubelet/images/image_manager.go: event InspectFailed
            # "Failed to apply default image tag %q: %v", reason ErrInvalidImageName;
            # pkg/util/parsers/parsers.go "couldn't parse image name %q: %v";
            # distribution/reference "invalid reference format".
            message = (
                f'Failed to apply default image tag "{reference}": couldn\'t parse image name '
                f'"{reference}": invalid reference format'
            )
            events.append(("Warning", "InspectFailed", "kubelet", message))
            events.append(("Warning", "Failed", "kubelet", "Error: InvalidImageName"))
            return PodStatus("Pending", False, "InvalidImageName", message, events)
        local_error = ""
        if is_local(reference) and failure != "pull":
            try:
                image: Image | None = pull_local(cluster, reference)
            except PullError as pulled:
                image, local_error = None, pulled.message
        else:
            image = lookup(reference)
        refused = failure == "pull" or image is None
        refused = refused or (runtime == "containerd" and image is not None and image.kind != "image")
        # kubelet pkg/kubelet/images/image_manager.go: "Pulling image %q",
        # "Failed to pull image %q: %v", "Back-off pulling image %q"; the
        # container's event "Error: %v" with ErrImagePull / ImagePullBackOff
        # (pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer).
        events.append(("Normal", "Pulling", "kubelet", f'Pulling image "{reference}"'))
        if refused:
            error = local_error or _pull_error(runtime, reference, None if failure == "pull" else image)
            events.append(("Warning", "Failed", "kubelet", f'Failed to pull image "{reference}": {error}'))
            events.append(("Warning", "Failed", "kubelet", "Error: ErrImagePull"))
            if backed_off:
                events.append(("Normal", "BackOff", "kubelet", f'Back-off pulling image "{reference}"'))
                events.append(("Warning", "Failed", "kubelet", "Error: ImagePullBackOff"))
                return PodStatus(
                    "Pending", False, "ImagePullBackOff", f'Back-off pulling image "{reference}"', events
                )
            return PodStatus("Pending", False, "ErrImagePull", error, events)
    container = _containers(pod)[0]
    mount_error = _mount_error(cluster, pod, container, volumes, failure)
    if mount_error:
        # kubelet kuberuntime_container.go startContainer: a failed CreateContainer
        # is the event "Error: %v" (the CRI status message) and the waiting
        # reason CreateContainerError.
        events.append(("Warning", "Failed", "kubelet", f"Error: {mount_error}"))
        return PodStatus("Pending", False, "CreateContainerError", mount_error, events)
    events.append(("Normal", "Created", "kubelet", f"Created container {container['name']}"))
    events.append(("Normal", "Started", "kubelet", f"Started container {container['name']}"))
    return PodStatus("Running", True, "", "", events)


def _mount_error(
    cluster: Cluster, pod: dict[str, Any], container: dict[str, Any], volumes: dict[str, str], failure: str
) -> str:
    runtime = cluster.runtime
    mounts = [m for m in container.get("volumeMounts") or [] if m["name"] in volumes]
    if failure == "hostpath" and mounts:
        if runtime == "crio":
            # cri-o server/container_create_linux.go: a mount with no image
            # support reaches the host-path branch: "mount.HostPath is empty".
            return "mount.HostPath is empty"
        # containerd < 2.1 (no image volumes): the empty host path is created:
        # internal/cri/opts/spec_linux_opts.go WithMounts "failed to mkdir %q: %w".
        return 'failed to mkdir "": mkdir : no such file or directory'
    for mount in mounts:
        sub_path = mount.get("subPath") or ("missing" if failure == "subpath" else "")
        if not sub_path:
            continue
        reference = volumes[mount["name"]]
        image = image_of(cluster, reference)
        assert image is not None
        if failure != "subpath" and _tree(image.files, sub_path) is not None:
            continue
        # cri-api pkg/errors/errors.go ErrImageVolumeMountFailed, wrapped "%w: %w" by both runtimes.
        if runtime == "crio" and image.kind == "artifact":
            # cri-o server/container_create_linux.go FilterMountPathsBySubPath (wrapped twice)
            return (
                "ImageVolumeMountFailed: ImageVolumeMountFailed: sub path "
                f'"{sub_path}" does not exist in OCI artifact volume "{reference}"'
            )
        if runtime == "crio":
            # cri-o server/container_create_linux.go mountImage
            return (
                f'ImageVolumeMountFailed: sub path "{sub_path}" does not exist in image volume "{reference}"'
            )
        # containerd internal/cri/server/container_image_mount.go setImageMountPath;
        # the target is getImageVolumeHostPath(sandboxID, imageID).
        target = f"/var/lib/containerd/io.containerd.grpc.v1.cri/image-volumes/{pod['metadata']['uid']}"
        return (
            f'ImageVolumeMountFailed: failed to ensure image subpath "{sub_path}" in "{target}": '
            f"openat {sub_path}: no such file or directory"
        )
    return ""


# --- the container's file system ----------------------------------------------


def canonical(path: str) -> str:
    """A path as the kernel keeps a mount point: no //, no trailing /, no . or .."""
    return re.sub(r"^/+", "/", posixpath.normpath("/" + path))


@dataclass
class Mount:
    path: str
    kind: str  # "tree": an image's overlay; "file": one artifact blob bound read-only
    tree: dict[str, Entry]  # for "tree": relative path -> content; for "file": {"": content}
    options: str
    source: str
    fstype: str
    owner: tuple[str, str] = ("1000", "users")


def container_mounts(cluster: Cluster, pod: dict[str, Any], container_name: str | None) -> list[Mount]:
    containers = _containers(pod)
    container = next((c for c in containers if c["name"] == container_name), containers[0])
    volumes = _image_volumes(pod)
    writable = os.environ.get("FAKE_VOLUME_WRITABLE") == "1"
    mounts = []
    for volume_mount in container.get("volumeMounts") or []:
        reference = volumes.get(volume_mount["name"])
        if reference is None:
            continue
        image = image_of(cluster, reference)
        assert image is not None
        tree = _tree(image.files, volume_mount.get("subPath")) or {}
        if os.environ.get("FAKE_VOLUME_EMPTY") == "1":
            # A runtime that mounts an empty folder where the image should be,
            # without an error (reported with k3s's bundled containerd:
            # docs/runtimes.md section 4, "no silent empty mount").
            tree = {}
        path = canonical(volume_mount["mountPath"])
        if image.kind == "artifact" and cluster.runtime == "crio":
            # cri-o server/container_create_linux.go mountArtifact: each blob is
            # a "bind","ro" mount at SecureJoin(containerPath, title); nothing is
            # mounted at the container path itself. The blobs live on the
            # node's /var volume (kind provision.go --volume /var), a host
            # block device; its name here is a stand-in.
            for name, content in sorted(tree.items()):
                options = "rw,relatime" if writable else "ro,relatime"
                mounts.append(
                    Mount(
                        canonical(f"{path}/{name}"),
                        "file",
                        {"": content},
                        options,
                        "/dev/sda1",
                        "ext4",
                        ("root", "root"),
                    )
                )
            continue
        # cri-o mountImage: an overlay with only lowerdirs, which the kernel
        # mounts read-only; no noexec (docs/fidelity.md section 5). containerd binds
        # its read-only snapshot view the same way.
        options = "rw,relatime" if writable else "ro,relatime"
        if cluster.runtime == "crio":
            options += (
                ",lowerdir=/var/lib/containers/storage/overlay/l/IMAGEVOLUME:/var/run/crio/image-volumes"
            )
        mounts.append(Mount(path, "tree", tree, options, "overlay", "overlay"))
    return mounts


def mangle(path: str) -> str:
    """linux fs/proc_namespace.c show_vfsmnt: mangle() escapes space, tab,
    newline and backslash as octal."""
    return "".join({" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}.get(c, c) for c in path)


class FileSystem:
    """The container's view: image mounts, artifact file mounts, and the
    directories they sit in (on the container's writable root)."""

    def __init__(self, mounts: list[Mount]) -> None:
        self.mounts = mounts

    def _tree_mount(self, path: str) -> tuple[Mount, str] | None:
        for mount in sorted(self.mounts, key=lambda m: len(m.path), reverse=True):
            if mount.kind == "tree" and (path == mount.path or path.startswith(mount.path.rstrip("/") + "/")):
                return mount, path[len(mount.path) :].strip("/")
        return None

    def proc_mounts(self) -> str:
        """/proc/mounts: linux fs/proc_namespace.c show_vfsmnt, "%s %s %s %s 0 0"
        (device, mangled mount point, type, options)."""
        lines = ["overlay / overlay rw,relatime 0 0", "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0"]
        lines += [f"{m.source} {mangle(m.path)} {m.fstype} {m.options} 0 0" for m in self.mounts]
        return "".join(line + "\n" for line in lines)

    def lookup(self, raw: str, follow: bool = True, depth: int = 0) -> tuple[str, Any, Mount | None] | None:
        """("dir", {name: (kind, size, owner, link target)}, mount), ("file",
        content, mount), ("link", Symlink, mount) (only when not following
        the last component) or None. A symlink in an image resolves as the
        kernel does: a relative target from its directory, an absolute one
        from the container's root."""
        path = canonical(raw)
        if path == "/proc/mounts":
            return "file", self.proc_mounts(), Mount(path, "file", {}, "", "proc", "proc", ("root", "root"))
        for mount in self.mounts:
            if mount.kind == "file" and mount.path == path:
                return "file", mount.tree[""], mount
        found = self._tree_mount(path)
        if found is not None:
            mount, inside = found
            parts = inside.split("/") if inside else []
            for count in range(1, len(parts) + 1):
                entry = mount.tree.get("/".join(parts[:count]))
                if isinstance(entry, Symlink) and (follow or count < len(parts)):
                    if depth >= 40:  # linux MAXSYMLINKS: ELOOP (not modelled further)
                        return None
                    here = posixpath.dirname(canonical(f"{mount.path}/{'/'.join(parts[:count])}"))
                    target = posixpath.join(here, entry.target)  # an absolute target replaces `here`
                    rest = "/".join(parts[count:])
                    return self.lookup(f"{target}/{rest}" if rest else target, follow, depth + 1)
            if inside in mount.tree:
                entry = mount.tree[inside]
                return ("link" if isinstance(entry, Symlink) else "file"), entry, mount
            entries = _entries(mount.tree, inside, mount.owner)
            if entries is None:
                return None
            return "dir", entries, mount
        # A directory that holds artifact file mounts (made by the runtime, root's, writable).
        entries = {}
        prefix = path.rstrip("/") + "/"
        for mount in self.mounts:
            if mount.kind == "file" and mount.path.startswith(prefix):
                head, _, rest = mount.path[len(prefix) :].partition("/")
                entries[head] = (
                    ("dir", 4096, ("root", "root"), "")
                    if rest
                    else ("file", _size(mount.tree[""]), mount.owner, "")
                )
        if entries or path in ("/", "/tmp"):
            return "dir", entries, None
        return None


def _size(entry: Entry) -> int:
    return len(entry.target.encode()) if isinstance(entry, Symlink) else len(as_bytes(entry))


def _entries(
    tree: dict[str, Entry], inside: str, owner: tuple[str, str]
) -> dict[str, tuple[str, int, tuple[str, str], str]] | None:
    prefix = inside + "/" if inside else ""
    entries: dict[str, tuple[str, int, tuple[str, str], str]] = {}
    for path, content in tree.items():
        if path.startswith(prefix):
            head, _, rest = path[len(prefix) :].partition("/")
            if rest:
                entries[head] = ("dir", 4096, owner, "")
            elif isinstance(content, Symlink):
                entries[head] = ("link", _size(content), owner, content.target)
            else:
                entries[head] = ("file", _size(content), owner, "")
    if not entries and inside:
        return None
    return entries


def _ls_line(kind: str, size: int, owner: tuple[str, str], name: str, target: str = "") -> str:
    """busybox coreutils/ls.c display_single: "%-10s " mode, "%4lu " links,
    "%-8s %-8s " user and group, "%9u " size, "%.12s " ctime's "mmm dd hh:mm",
    the name, and for a symlink " -> " and its target."""
    mode = {"dir": "drwxr-xr-x", "link": "lrwxrwxrwx"}.get(kind, "-rw-r--r--")
    links = 2 if kind == "dir" else 1
    line = f"{mode:<10} {links:>4} {owner[0]:<8} {owner[1]:<8} {size:>9} {MTIME} {name}"
    return line + (f" -> {target}" if kind == "link" else "")


def _blocks(kind: str, size: int) -> int:
    """512-byte blocks of a 4 KiB-block file system (a short symlink's target
    lives in its inode: no blocks)."""
    if kind == "link" or (kind == "file" and size == 0):
        return 0
    return 8 * ((size + 4095) // 4096 if kind == "file" else 1)


def _emit(stream: TextIO, content: str | bytes) -> None:
    """Write a file's content unchanged (bytes as they are)."""
    if isinstance(content, str):
        stream.write(content)
        return
    stream.flush()
    stream.buffer.write(content)
    stream.buffer.flush()


def missing_tools() -> set[str]:
    return {tool.strip() for tool in os.environ.get("FAKE_POD_MISSING_TOOLS", "").split(",") if tool.strip()}


def run(fs: FileSystem, runtime: str, argv: list[str], stdin: bytes = b"") -> int:
    """Run argv in the BusyBox container (its stdin: `stdin`); the exit status."""
    program, args = argv[0], argv[1:]
    out, err = sys.stdout, sys.stderr
    if program in missing_tools():
        return exec_not_found(runtime, program)
    if program == "echo":
        out.write(" ".join(args) + "\n")
        return 0
    if program in ("true", "false"):
        return 0 if program == "true" else 1
    if program == "cat":
        status = 0
        for arg in args:
            found = fs.lookup(arg)
            if found is None:
                # busybox libbb/xfuncs_printf.c open3_or_warn: "can't open '%s'"
                err.write(f"cat: can't open '{arg}': No such file or directory\n")
                status = 1
            elif found[0] == "dir":
                # busybox libbb/copyfd.c: bb_msg_read_error
                err.write("cat: read error: Is a directory\n")
                status = 1
            else:
                _emit(out, found[1])
        return status
    if program == "ls" and args[:1] == ["-l"]:
        return _ls(fs, args[1:] or ["."])
    if program == "touch":
        status = 0
        for arg in args:
            message = _touch(fs, arg)
            if message:
                # busybox coreutils/touch.c: bb_simple_perror_msg(*argv)
                err.write(f"touch: {arg}: {message}\n")
                status = 1
        return status
    if program == "sha256sum":
        flags = "".join(a[1:] for a in args if a.startswith("-") and a != "-")
        names = [a for a in args if not a.startswith("-") or a == "-"]
        if set(flags) - set("scwbt"):
            sys.stderr.write(f"fake: unsupported sha256sum {args}\n")
            return 2
        if "c" in flags:
            return _sha256_check(fs, names or ["-"], stdin, silent="s" in flags, warn="w" in flags)
        status = 0
        for arg in names:
            digest = _sha256_file(fs, arg, stdin)
            if digest is None:
                status = 1
            else:
                # busybox coreutils/md5_sha1_sum.c: "%s  %s\n"
                out.write(f"{digest}  {arg}\n")
        return status
    return exec_not_found(runtime, program)


def _sha256_file(fs: FileSystem, name: str, stdin: bytes) -> str | None:
    """busybox coreutils/md5_sha1_sum.c hash_file: open_or_warn_stdin
    (libbb/xfuncs_printf.c open3_or_warn "can't open '%s'", with the errno's
    text), a read error bb_perror_msg "can't read '%s'"; None when either."""
    if name == "-":
        return hashlib.sha256(stdin).hexdigest()
    found = fs.lookup(name)
    if found is None:
        sys.stderr.write(f"sha256sum: can't open '{name}': No such file or directory\n")
        return None
    if found[0] == "dir":
        # open(2) of a directory works; read(2) fails EISDIR
        sys.stderr.write(f"sha256sum: can't read '{name}': Is a directory\n")
        return None
    return hashlib.sha256(as_bytes(found[1])).hexdigest()


def _sha256_check(fs: FileSystem, names: list[str], stdin: bytes, silent: bool, warn: bool) -> int:
    """`sha256sum -c [FILE]`: busybox coreutils/md5_sha1_sum.c
    md5_sha1_sum_main with FLAG_CHECK (BusyBox 1.36.1): each line (without
    its newline: xmalloc_fgetline) is "<hash> <name>", the name after one
    space and an optional second ' ' or '*'; a line without a space is
    counted as failed (and "invalid format" with -w); "%s: OK" or
    "%s: FAILED" on stdout (not with -s); at the end, after any failure,
    bb_error_msg "WARNING: %d of %d computed checksums did NOT match"; no
    line at all: "%s: no checksum lines found". Exit 1 after any failure."""
    status = 0
    out = sys.stdout
    for listing in names:
        if listing == "-":
            data = stdin
        else:
            found = fs.lookup(listing)
            if found is None or found[0] != "file":
                # xfopen_stdin: bb_perror_msg_and_die "can't open '%s'"
                sys.stderr.write(f"sha256sum: can't open '{listing}': No such file or directory\n")
                return 1
            data = as_bytes(found[1])
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        total = failed = 0
        for line in lines:
            total += 1
            space = line.find(b" ")
            if space < 0:
                if warn:
                    sys.stderr.write("sha256sum: invalid format\n")
                failed += 1
                status = 1
                continue
            wanted, name = line[:space], line[space + 1 :]
            if name[:1] in (b" ", b"*"):
                name = name[1:]
            text = name.decode("utf-8", "surrogateescape")
            digest = _sha256_file(fs, text, b"")
            ok = digest is not None and digest.encode() == wanted
            if not ok:
                failed += 1
                status = 1
            if not silent:
                _emit(out, name + (b": OK\n" if ok else b": FAILED\n"))
        if failed and not silent:
            sys.stderr.write(f"sha256sum: WARNING: {failed} of {total} computed checksums did NOT match\n")
        if total == 0:
            sys.stderr.write(f"sha256sum: {listing}: no checksum lines found\n")
            status = 1
    return status


def _ls(fs: FileSystem, args: list[str]) -> int:
    status = 0
    for arg in args:
        found = fs.lookup(arg, follow=False)
        if found is None:
            # busybox coreutils/ls.c: bb_simple_perror_msg(fullname), exit_code = EXIT_FAILURE
            sys.stderr.write(f"ls: {arg}: No such file or directory\n")
            status = 1
            continue
        if found[0] in ("file", "link"):
            mount = found[2]
            owner = mount.owner if mount else ("root", "root")
            target = found[1].target if found[0] == "link" else ""
            sys.stdout.write(_ls_line(found[0], _size(found[1]), owner, arg, target) + "\n")
            continue
        entries: dict[str, tuple[str, int, tuple[str, str], str]] = found[1]
        # busybox coreutils/ls.c: "total %u" of calculate_blocks ((1 + sum of st_blocks) >> 1)
        total = (1 + sum(_blocks(kind, size) for kind, size, _, _ in entries.values())) >> 1
        lines = [f"total {total}"]
        for name, (kind, size, owner, target) in sorted(entries.items()):
            lines.append(_ls_line(kind, size, owner, name, target))
        sys.stdout.write("\n".join(lines) + "\n")
    return status


def _touch(fs: FileSystem, arg: str) -> str:
    """The error text of touching `arg`, "" when it works."""
    writable = os.environ.get("FAKE_VOLUME_WRITABLE") == "1"
    found = fs.lookup(arg)
    if found is not None:
        return "" if writable or found[2] is None else "Read-only file system"
    parent = fs.lookup(posixpath.dirname(canonical(arg)))
    if parent is None or parent[0] != "dir":
        return "No such file or directory"
    return "" if writable or parent[2] is None else "Read-only file system"


def exec_not_found(runtime: str, program: str) -> int:
    """An exec of a program the image does not have."""
    lookup_error = f'exec: "{program}": executable file not found in $PATH'
    if runtime == "crio":
        # runc exec.go: fatalWithCode(fmt.Errorf("exec failed: %w", err), 255);
        # libcontainer/container_linux.go "unable to start container process: %w".
        # CRI-O streams runc's stderr and exit code back to kubectl.
        sys.stderr.write(f"exec failed: unable to start container process: {lookup_error}\n")
        return 255
    # containerd fails the exec itself; the kubelet's streaming server answers
    # "error executing command in container: %v" as an InternalError, which
    # kubectl prints with "error: " (kubectl pkg/cmd/util/helpers.go checkErr).
    sys.stderr.write(
        "error: Internal error occurred: error executing command in container: failed to exec in "
        'container: failed to start exec "0000000000000000000000000000000000000000000000000000000000000000": '
        f"OCI runtime exec failed: exec failed: unable to start container process: {lookup_error}: unknown\n"
    )
    return -1  # not a remote exit code: kubectl exits 1 without "command terminated"
