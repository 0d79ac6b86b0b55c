"""Images the real tiers need, built here (nothing can be pulled): a root
filesystem folder of Debian's own binaries, `docker import`ed with the
Dockerfile instructions the image needs.

- busybox: Debian's busybox-static with a link per applet (sh, cat, sleep, ...).
- registry: Debian's docker-registry (CNCF distribution 2.8.2), its libc and
  loader, a config that stores under /var/lib/registry and listens on :5000,
  and `VOLUME /var/lib/registry`, as the registry:3 image declares
  (distribution-library-image Dockerfile); it stands in for
  `imagevolume:registryImage`'s default.
- slow registry: the same, started after a few seconds, as a registry that
  is slow to listen (the published port resets connections until it does).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from real.docker_engine import LABEL, DockerEngine

BUSYBOX = "imagevolume-test/busybox:1"
REGISTRY = "imagevolume-test/registry:2.8.2"
SLOW_REGISTRY = "imagevolume-test/registry:slow"
SLOW_REGISTRY_SECONDS = 3

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
"""


def _shared_libraries(binary: str) -> list[Path]:
    """The files `ldd` lists for `binary` (none for a static one)."""
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    found = []
    for line in result.stdout.splitlines():
        for word in line.split():
            if word.startswith("/"):
                found.append(Path(word))
    return found


def _copy(source: Path, root: Path) -> None:
    target = root / source.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.resolve(), target)


def _busybox_into(root: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox is not on PATH (apt-get install busybox-static)")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    for folder in ("tmp", "proc", "sys", "dev", "etc"):
        (root / folder).mkdir(exist_ok=True)


def _registry_into(root: Path) -> None:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not on PATH (apt-get install docker-registry)")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, root / "bin" / "registry")
    for library in _shared_libraries(binary):
        _copy(library, root)
    config = root / "etc" / "docker" / "registry" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text(REGISTRY_CONFIG)
    (root / "var" / "lib" / "registry").mkdir(parents=True)
    (root / "tmp").mkdir(exist_ok=True)


def _import(engine: DockerEngine, root: Path, tag: str, changes: list[str]) -> None:
    archive = root.parent / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        for child in sorted(root.iterdir()):
            tar.add(child, arcname=child.name)
    args = ["import"]
    for change in [*changes, f"LABEL {LABEL}=image"]:
        args += ["--change", change]
    engine.run(*args, str(archive), tag)


def build(engine: DockerEngine, tag: str) -> str:
    """Build `tag` (one of this module's names) unless the daemon has it; returns the tag."""
    if engine.run("image", "inspect", tag, check=False).returncode == 0:
        return tag
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "rootfs"
        root.mkdir()
        if tag == BUSYBOX:
            _busybox_into(root)
            _import(engine, root, tag, ['CMD ["sh"]'])
        elif tag == REGISTRY:
            _registry_into(root)
            _import(
                engine,
                root,
                tag,
                [
                    'VOLUME ["/var/lib/registry"]',
                    "EXPOSE 5000",
                    'ENTRYPOINT ["/bin/registry"]',
                    'CMD ["serve", "/etc/docker/registry/config.yml"]',
                ],
            )
        elif tag == SLOW_REGISTRY:
            _registry_into(root)
            _busybox_into(root)
            _import(
                engine,
                root,
                tag,
                [
                    'VOLUME ["/var/lib/registry"]',
                    'ENTRYPOINT ["/bin/sh", "-c"]',
                    f'CMD ["sleep {SLOW_REGISTRY_SECONDS}; exec /bin/registry serve '
                    '/etc/docker/registry/config.yml"]',
                ],
            )
        else:
            raise ValueError(f"no recipe for {tag}")
    return tag
