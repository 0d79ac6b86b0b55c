"""scripts/real-tools.sh's bookkeeping (which program is built, what tools.sha256
keeps), with a stand-in `go` that writes a file where the real one would put a
binary: `go install` into $GOBIN/<name>, `go build -o <path>`. The builds
themselves run for real in make test-real."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from harness import ROOT

SCRIPT = ROOT / "scripts" / "real-tools.sh"
STAND_IN_GO = """#!/bin/sh
# Writes the files a build would: go install -> $GOBIN/<last path element> of each
# MODULE/PATH@VERSION; go build -o PATH -> PATH, or -o DIR/ -> DIR/<last path element>
# of each package named.
write() { printf 'binary\\n' >"$1"; chmod +x "$1"; }
case "$1" in
  install)
    for arg; do
      case $arg in *@*) name=${arg%@*}; write "$GOBIN/${name##*/}" ;; esac
    done ;;
  build)
    out= previous=
    for arg; do [ "$previous" = -o ] && out=$arg; previous=$arg; done
    case $out in
      */) for arg; do case $arg in k8s.io/*) write "$out${arg##*/}" ;; esac; done ;;
      *) write "$out" ;;
    esac ;;
esac
exit 0
"""


def real_tools(cache: Path, bin_dir: Path, *programs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *programs],
        env={**os.environ, "IMAGEVOLUME_CACHE": str(cache), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )


def stand_in_go(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(STAND_IN_GO)
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def test_building_one_program_keeps_the_others_checksums(tmp_path: Path) -> None:
    bin_dir = stand_in_go(tmp_path)
    cache = tmp_path / "cache"
    assert real_tools(cache, bin_dir, "kind").returncode == 0
    second = real_tools(cache, bin_dir, "pulumi")
    assert second.returncode == 0, second.stderr
    names = [line.split()[0] for line in (cache / "tools.sha256").read_text().splitlines()]
    assert names == ["kind", "pulumi"]


def test_an_unknown_program_is_named_with_the_known_ones(tmp_path: Path) -> None:
    result = real_tools(tmp_path / "cache", tmp_path, "kubectl")
    assert result.returncode == 2
    known = "kind pulumi pulumi-resource-kubernetes kubernetes containerd crictl etcd coredns pause"
    assert f"unknown program 'kubectl': the programs are {known}" in result.stderr


def test_the_node_programs_are_kept_off_path(tmp_path: Path) -> None:
    # A containerd in $cache/bin (first on PATH in make test-real) would be the
    # one a dockerd started there runs.
    bin_dir = stand_in_go(tmp_path)
    cache = tmp_path / "cache"
    result = real_tools(cache, bin_dir, "kubernetes", "containerd", "crictl", "etcd", "coredns", "pause")
    assert result.returncode == 0, result.stderr
    node_bin = sorted(path.name for path in (cache / "node-bin").iterdir())
    kubernetes = [
        "kubelet",
        "kubeadm",
        "kubectl",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ]
    others = [
        "kube-proxy",
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
        "crictl",
        "etcd",
        "coredns",
        "pause",
    ]
    assert node_bin == sorted(kubernetes + others)
    assert list((cache / "bin").iterdir()) == []
    names = [line.split()[0] for line in (cache / "tools.sha256").read_text().splitlines()]
    assert names == ["containerd", "coredns", "crictl", "etcd", "kubelet", "pause"]


def test_the_test_real_recipe_is_shell_that_parses(tmp_path: Path) -> None:
    # A comma in the text of a make $(if ...) once cut the recipe in two.
    printed = subprocess.run(
        ["make", "-n", "--no-print-directory", "test-real"],
        cwd=ROOT,
        env={**os.environ, "IMAGEVOLUME_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    parsed = subprocess.run(["sh", "-n"], input=printed.stdout, capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, f"{parsed.stderr}\n{printed.stdout}"


def test_the_node_image_build_stops_before_building_when_no_docker_answers(tmp_path: Path) -> None:
    # A build takes many minutes: an engine that cannot take the image is named first.
    bin_dir = stand_in_go(tmp_path)
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(0o755)
    cache = tmp_path / "cache"
    result = subprocess.run(
        [str(ROOT / "images" / "node" / "build.sh")],
        env={**os.environ, "IMAGEVOLUME_CACHE": str(cache), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    if os.geteuid() != 0:
        assert "needs root" in result.stderr
    elif os.uname().machine != "x86_64":
        assert "amd64 only" in result.stderr
    else:
        assert "no Docker daemon answers" in result.stderr
        assert "IMAGEVOLUME_NODE_IMPORT=0" in result.stderr
    assert not cache.exists()
