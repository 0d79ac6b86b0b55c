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
# Writes the file a build would: go install -> $GOBIN/<last path element>, go build -o PATH -> PATH.
out=
case "$1" in
  install) name=${3%@*}; out=$GOBIN/${name##*/} ;;
  build) while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done ;;
  *) exit 0 ;;
esac
printf 'binary\\n' >"$out"
chmod +x "$out"
"""


def real_tools(cache: Path, bin_dir: Path, *programs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *programs],
        env={**os.environ, "IMAGEVOLUME_CACHE": str(cache), "PATH": f"{bin_dir}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_building_one_program_keeps_the_others_checksums(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(STAND_IN_GO)
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    cache = tmp_path / "cache"
    assert real_tools(cache, bin_dir, "kind").returncode == 0
    second = real_tools(cache, bin_dir, "pulumi")
    assert second.returncode == 0, second.stderr
    names = [line.split()[0] for line in (cache / "tools.sha256").read_text().splitlines()]
    assert names == ["kind", "pulumi"]


def test_an_unknown_program_is_named_with_the_known_ones(tmp_path: Path) -> None:
    result = real_tools(tmp_path / "cache", tmp_path, "kubectl")
    assert result.returncode == 2
    known = "kind pulumi pulumi-resource-kubernetes"
    assert f"unknown program 'kubectl': the programs are {known}" in result.stderr
