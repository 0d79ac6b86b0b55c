"""What a pod's node runtime does with image volumes, and what its BusyBox
container (echoserver:2.3) prints.

Image catalogue (references a test may use):
- quay.io/crio/artifact:v1: an image whose config has no rootfs.diff_ids.
  CRI-O mounts it; containerd's unpacker refuses it (FIDELITY.md section 5).
- quay.io/crio/artifact:v2: the same files as a proper image; both mount it.
  Both hold dir/file = "1\\n" and file = "2\\n" (REFERENCE.md section 1).
- any reference listed in FAKE_OCI_ARTIFACTS (comma-separated): an OCI
  artifact with the same two files as layers titled "dir/file" and "file".
  CRI-O 1.33+ bind-mounts each file read-only; containerd cannot mount it.
- any reference listed in FAKE_MISSING_IMAGES (comma-separated): not in the
  registry (manifest unknown): the pull fails.
- any other well-formed reference: an image holding README = "an image\\n".
- a malformed reference: InvalidImageName.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from fakes.world import Cluster, now

ARTIFACT_FILES = {"dir/file": "1\n", "file": "2\n"}
GENERIC_FILES = {"README": "an image\n"}
# A file's time as BusyBox ls prints one younger than six months.
MTIME = "Jun  3 12:00"


@dataclass(frozen=True)
class Image:
    kind: str  # "image", "image-no-diffids", "artifact"
    files: dict[str, str]
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


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = pod["spec"]["containers"]
    return containers


def _image_volumes(pod: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["image"]["reference"] for v in pod["spec"].get("volumes") or [] if "image" in v}


def _tree(files: dict[str, str], sub_path: str | None) -> dict[str, str] | None:
    if not sub_path:
        return dict(files)
    prefix = posixpath.normpath(sub_path).strip("/") + "/"
    tree = {path[len(prefix) :]: text for path, text in files.items() if path.startswith(prefix)}
    return tree or None


def pod_status(cluster: Cluster, pod: dict[str, Any]) -> PodStatus:
    """What the kubelet and the node's runtime make of the pod (FIDELITY.md
    section 5; REFERENCE.md section 2, "How a failure shows")."""
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
        image = lookup(reference)
        refused = failure == "pull" or image is None
        refused = refused or (runtime == "containerd" and image is not None and image.kind != "image")
        # kubelet pkg/kubelet/images/image_manager.go: "Pulling image %q",
        # "Failed to pull image %q: %v", "Back-off pulling image %q"; the
        # container's event "Error: %v" with ErrImagePull / ImagePullBackOff
        # (pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer).
        events.append(("Normal", "Pulling", "kubelet", f'Pulling image "{reference}"'))
        if refused:
            error = _pull_error(runtime, reference, None if failure == "pull" else image)
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
        image = lookup(reference)
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
    tree: dict[str, str]  # for "tree": relative path -> content; for "file": {"": content}
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
        image = lookup(reference)
        assert image is not None
        tree = _tree(image.files, volume_mount.get("subPath")) or {}
        if os.environ.get("FAKE_VOLUME_EMPTY") == "1":
            # A runtime that mounts an empty folder where the image should be,
            # without an error (reported with k3s's bundled containerd:
            # ../shared/docs/REFERENCE.md section 5, "no silent empty mount").
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
        # mounts read-only; no noexec (FIDELITY.md section 5). containerd binds
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

    def lookup(self, raw: str) -> tuple[str, Any, Mount | None] | None:
        """("dir", {name: (kind, size, owner)}, mount) or ("file", content, mount) or None."""
        path = canonical(raw)
        if path == "/proc/mounts":
            return "file", self.proc_mounts(), Mount(path, "file", {}, "", "proc", "proc", ("root", "root"))
        for mount in self.mounts:
            if mount.kind == "file" and mount.path == path:
                return "file", mount.tree[""], mount
        found = self._tree_mount(path)
        if found is not None:
            mount, inside = found
            if inside in mount.tree:
                return "file", mount.tree[inside], mount
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
                    ("dir", 4096, ("root", "root")) if rest else ("file", len(mount.tree[""]), mount.owner)
                )
        if entries or path in ("/", "/tmp"):
            return "dir", entries, None
        return None


def _entries(
    tree: dict[str, str], inside: str, owner: tuple[str, str]
) -> dict[str, tuple[str, int, tuple[str, str]]] | None:
    prefix = inside + "/" if inside else ""
    entries: dict[str, tuple[str, int, tuple[str, str]]] = {}
    for path, text in tree.items():
        if path.startswith(prefix):
            head, _, rest = path[len(prefix) :].partition("/")
            entries[head] = ("dir", 4096, owner) if rest else ("file", len(text), owner)
    if not entries and inside:
        return None
    return entries


def _ls_line(kind: str, size: int, owner: tuple[str, str], name: str, subdirs: int = 0) -> str:
    """busybox coreutils/ls.c display_single: "%-10s " mode, "%4lu " links,
    "%-8s %-8s " user and group, "%9u " size, "%.12s " ctime's "mmm dd hh:mm"."""
    mode = "drwxr-xr-x" if kind == "dir" else "-rw-r--r--"
    links = 2 + subdirs if kind == "dir" else 1
    return f"{mode:<10} {links:>4} {owner[0]:<8} {owner[1]:<8} {size:>9} {MTIME} {name}"


def _blocks(kind: str, size: int) -> int:
    """512-byte blocks of a 4 KiB-block file system."""
    return 0 if kind == "file" and size == 0 else 8 * ((size + 4095) // 4096 if kind == "file" else 1)


def run(fs: FileSystem, runtime: str, argv: list[str]) -> int:
    """Run argv in the BusyBox container; the exit status."""
    program, args = argv[0], argv[1:]
    out, err = sys.stdout, sys.stderr
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
                out.write(found[1])
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
        status = 0
        for arg in args:
            found = fs.lookup(arg)
            if found is None:
                err.write(f"sha256sum: can't open '{arg}': No such file or directory\n")
                status = 1
            elif found[0] == "dir":
                # busybox coreutils/md5_sha1_sum.c: "can't read '%s'"
                err.write(f"sha256sum: can't read '{arg}': Is a directory\n")
                status = 1
            else:
                # busybox coreutils/md5_sha1_sum.c: "%s  %s\n"
                out.write(f"{hashlib.sha256(found[1].encode()).hexdigest()}  {arg}\n")
        return status
    return exec_not_found(runtime, program)


def _ls(fs: FileSystem, args: list[str]) -> int:
    status = 0
    for arg in args:
        found = fs.lookup(arg)
        if found is None:
            # busybox coreutils/ls.c: bb_simple_perror_msg(fullname), exit_code = EXIT_FAILURE
            sys.stderr.write(f"ls: {arg}: No such file or directory\n")
            status = 1
            continue
        if found[0] == "file":
            mount = found[2]
            owner = mount.owner if mount else ("root", "root")
            sys.stdout.write(_ls_line("file", len(found[1]), owner, arg) + "\n")
            continue
        entries: dict[str, tuple[str, int, tuple[str, str]]] = found[1]
        # busybox coreutils/ls.c: "total %u" of calculate_blocks ((1 + sum of st_blocks) >> 1)
        total = (1 + sum(_blocks(kind, size) for kind, size, _ in entries.values())) >> 1
        lines = [f"total {total}"]
        for name, (kind, size, owner) in sorted(entries.items()):
            lines.append(_ls_line(kind, size, owner, name))
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
