"""The tier's own daemon and its cleanup: privileged containers through the
runtime wrapper, and make clean-real after a crashed run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from real.docker_engine import LABEL, DockerEngine
from real.prerequisites import require
from real.run_script import PROJECT

pytestmark = pytest.mark.real_docker

CAP_SYS_ADMIN = 21  # linux/capability.h
CAP_SYS_RESOURCE = 24


def test_a_privileged_container_runs_through_the_runtime_wrapper(
    docker: DockerEngine, busybox_image: str
) -> None:
    require(docker.own is not None, "a dockerd the tier started (with the runc wrapper)")
    # This VM's bounding set lacks CAP_SYS_RESOURCE; plain runc refuses a
    # privileged container ("unable to apply caps"), the wrapper drops it.
    result = docker.run("run", "--rm", "--privileged", busybox_image, "grep", "CapEff", "/proc/self/status")
    effective = int(result.stdout.split()[1], 16)
    assert effective & (1 << CAP_SYS_ADMIN), "privileged: CAP_SYS_ADMIN"
    assert not effective & (1 << CAP_SYS_RESOURCE)


def test_a_privileged_exec_runs_through_the_runtime_wrapper(docker: DockerEngine, busybox_image: str) -> None:
    require(docker.own is not None, "a dockerd the tier started (with the runc wrapper)")
    # kind runs every command in a node with docker exec --privileged: runc
    # exec gets the process (with every capability) in a --process file.
    container = docker.container("--privileged", "--init", busybox_image, "sleep", "600")
    result = docker.run("exec", "--privileged", container, "grep", "CapEff", "/proc/self/status")
    effective = int(result.stdout.split()[1], 16)
    assert effective & (1 << CAP_SYS_ADMIN), "privileged: CAP_SYS_ADMIN"
    assert not effective & (1 << CAP_SYS_RESOURCE)


def test_clean_real_removes_what_a_crashed_run_left(
    docker: DockerEngine, busybox_image: str, tmp_path: Path
) -> None:
    crashed = f"{LABEL}=crashed-run"
    container = docker.out("run", "-d", "--label", crashed, "--init", busybox_image, "sleep", "600")
    volume = docker.out("volume", "create", "--label", crashed)
    network = docker.out("network", "create", "--label", crashed, docker.name("crashed"))
    # Nodes of kind clusters carry kind's label only (their image is not ours):
    # the real_cluster tier's cluster (ivt<run id>-kind) goes, somebody else's stays.
    root = tmp_path / "rootfs"
    root.mkdir()
    shutil.copy(shutil.which("busybox") or "/bin/busybox", root / "busybox")
    plain_image = docker.track("image", f"{docker.prefix}plain:1")
    docker.run_bytes_in(
        "import",
        "-",
        plain_image,
        data=subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True, check=True).stdout,
    )
    kind = "io.x-k8s.kind.cluster"
    node = docker.out("create", "--label", f"{kind}=ivt0123abcd-kind", plain_image, "/busybox", "true")
    theirs = docker.track(
        "container", docker.out("create", "--label", f"{kind}=dev", plain_image, "/busybox", "true")
    )
    # A pid file of a daemon that is gone: removed, nothing killed.
    state = tmp_path / "state"
    state.mkdir()
    (state / "dockerd-999999999.pid").write_text(f"999999999\n{tmp_path / 'gone'}\n")
    result = subprocess.run(
        [str(PROJECT / "scripts" / "clean-real.sh")],
        env={**docker.environment(), "IMAGEVOLUME_REAL_STATE": str(state)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not docker.exists("container", container)
    assert not docker.exists("volume", volume)
    assert not docker.exists("network", network)
    assert not docker.exists("container", node)
    assert docker.exists("container", theirs)
    assert list(state.iterdir()) == []
    assert os.path.exists(docker.host.removeprefix("unix://")) or not docker.host.startswith("unix://")
