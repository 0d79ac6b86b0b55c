"""End to end: `pulumi up` the dev settings on a real kind cluster, read the
proof from the stack outputs, check a second run changes nothing, destroy.

Runs only where Docker (with a reachable daemon), kind, kubectl and the pulumi
CLI are present and IMAGEVOLUME_E2E=1; takes several minutes (CRI-O nodes
start with an empty image store). State lives in a temporary file backend; the
stack gets a throwaway name, so its cluster (imagevolume-<stack>) never meets
one of yours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from harness import ROOT
from pulumi import automation as auto

PROGRAMS = ("docker", "kind", "kubectl", "pulumi")


def missing_prerequisites() -> list[str]:
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if "docker" not in missing:
        info = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
        if info.returncode != 0:
            missing.append("a reachable docker daemon (docker info fails)")
    if os.environ.get("IMAGEVOLUME_E2E") != "1":
        missing.append("IMAGEVOLUME_E2E=1 (the opt-in: it creates a kind cluster for minutes)")
    return missing


MISSING = missing_prerequisites()
pytestmark = pytest.mark.skipif(bool(MISSING), reason="end-to-end test needs " + ", ".join(MISSING))


def project_copy(work: Path, stack: str) -> None:
    """The program with the dev stack's settings under a throwaway stack name."""
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / "components", work / "components")
    (work / ".venv").symlink_to(ROOT / ".venv")
    shutil.copy(ROOT / "Pulumi.dev.yaml", work / f"Pulumi.{stack}.yaml")


def kind_clusters() -> list[str]:
    result = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_up_proves_the_image_volume_then_destroy_removes_the_cluster(tmp_path: Path) -> None:
    stack_name = f"e2e-{uuid.uuid4().hex[:8]}"
    cluster_name = f"imagevolume-{stack_name}"
    work = tmp_path / "project"
    work.mkdir()
    project_copy(work, stack_name)
    (tmp_path / "state").mkdir()
    options = auto.LocalWorkspaceOptions(
        env_vars={
            "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "e2e-" + uuid.uuid4().hex,
        }
    )
    stack = auto.create_stack(stack_name, work_dir=str(work), opts=options)
    try:
        result = stack.up(on_output=print)
        outputs = result.outputs
        verification = outputs["verification"].value
        assert verification["cat /volume/dir/file"] == "1"
        assert [line.split()[-1] for line in verification["ls -l /volume"].splitlines()[1:]] == [
            "dir",
            "file",
        ]
        assert [line.split()[-1] for line in verification["ls -l /volume/dir"].splitlines()[1:]] == ["file"]
        assert "Read-only file system" in outputs["readOnly"].value["/volume"]
        assert outputs["kubeconfig"].secret
        assert outputs["clusterName"].value == cluster_name
        assert cluster_name in kind_clusters()
        assert (
            not (Path.home() / ".kube" / "config").exists()
            or cluster_name not in (Path.home() / ".kube" / "config").read_text()
        )
        again = stack.preview(on_output=print)  # nothing changed: nothing to do
        assert set(again.change_summary) <= {"same"}, again.change_summary
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
    assert cluster_name not in kind_clusters()
