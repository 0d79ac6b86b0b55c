"""End to end: `pulumi up` the dev settings on a real kind cluster, read the
proof from the stack outputs, check a second run changes nothing, destroy.

Marked real_cluster (not in make test-real until a kind cluster runs on a
fresh clone): `pytest -p no:xdist -m real_cluster tests/real/test_e2e.py -s`.
Needs Docker (with a reachable daemon), kind, kubectl and the pulumi CLI;
a missing one fails under CI=true and skips elsewhere. Takes several minutes (CRI-O nodes
start with an empty image store). State lives in a temporary file backend; the
stack gets a throwaway name, so its cluster (imagevolume-<stack>) never meets
one of yours.

The stack gets only the `config:` block of Pulumi.dev.yaml: a salt that a
local `make up` (or a plain `pulumi` run) may have left in that file belongs
to another passphrase and would fail the throwaway stack with `incorrect
passphrase` (pulumi pkg/secrets/passphrase/manager.go).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from harness import ROOT
from pulumi import automation as auto
from real.prerequisites import require

PROGRAMS = ("docker", "kind", "kubectl", "pulumi")
# The pinned tools of `make tools`, first, as the make targets use them.
SEARCH_PATH = os.pathsep.join([str(ROOT / ".tools" / "bin"), os.environ.get("PATH", "")])


def missing_prerequisites() -> list[str]:
    missing = [program for program in PROGRAMS if shutil.which(program, path=SEARCH_PATH) is None]
    if "docker" not in missing:
        info = subprocess.run(
            ["docker", "info"],
            capture_output=True,
            check=False,
            timeout=30,
            env={**os.environ, "PATH": SEARCH_PATH},
        )
        if info.returncode != 0:
            missing.append("a reachable docker daemon (docker info fails)")
    return missing


pytestmark = pytest.mark.real_cluster


@pytest.fixture
def e2e_tools() -> None:
    missing = missing_prerequisites()
    require(not missing, "the end-to-end test needs " + ", ".join(missing))


def copy_stack_config(source: Path, target: Path) -> None:
    """Write target as a stack config file with only source's `config:` block:
    no encryptionsalt/secretsprovider/encryptedkey, which are per checkout."""
    document = yaml.safe_load(source.read_text()) or {}
    target.write_text(yaml.safe_dump({"config": document.get("config") or {}}, sort_keys=False))


def project_copy(work: Path, stack: str, settings: str = "dev") -> None:
    """The program with a shipped stack's settings under a throwaway stack name."""
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / "components", work / "components")
    shutil.copytree(ROOT / "examples", work / "examples", symlinks=True)
    (work / ".venv").symlink_to(ROOT / ".venv")
    copy_stack_config(ROOT / f"Pulumi.{settings}.yaml", work / f"Pulumi.{stack}.yaml")


def workspace_options(state: Path) -> auto.LocalWorkspaceOptions:
    state.mkdir()
    return auto.LocalWorkspaceOptions(
        env_vars={
            "PATH": SEARCH_PATH,
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": "e2e-" + uuid.uuid4().hex,
        },
        pulumi_command=auto.PulumiCommand(root=str(ROOT / ".tools"))
        if (ROOT / ".tools" / "bin" / "pulumi").exists()
        else None,
    )


def kind(*args: str) -> str:
    result = subprocess.run(
        ["kind", *args], capture_output=True, text=True, check=True, env={**os.environ, "PATH": SEARCH_PATH}
    )
    return result.stdout


def kind_clusters() -> list[str]:
    return kind("get", "clusters").split()


def test_copy_stack_config_keeps_only_the_config_block(tmp_path: Path) -> None:
    source = tmp_path / "Pulumi.dev.yaml"
    source.write_text(
        (ROOT / "Pulumi.dev.yaml").read_text()
        + "encryptionsalt: v1:c2FsdA==:v1:aaaa:bbbb\nsecretsprovider: passphrase\n"
    )
    target = tmp_path / "Pulumi.e2e-1.yaml"
    copy_stack_config(source, target)
    assert "encryptionsalt" not in target.read_text()
    copied = yaml.safe_load(target.read_text())
    assert copied == {"config": yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]}
    assert copied["config"]["imagevolume:checks"] == [
        ["ls", "-l", "/volume"],
        ["ls", "-l", "/volume/dir"],
        ["cat", "/volume/dir/file"],
    ]


@pytest.mark.usefixtures("e2e_tools")
def test_up_proves_the_image_volume_then_destroy_removes_the_cluster(tmp_path: Path) -> None:
    stack_name = f"e2e-{uuid.uuid4().hex[:8]}"
    cluster_name = f"imagevolume-{stack_name}"
    work = tmp_path / "project"
    work.mkdir()
    project_copy(work, stack_name)
    stack = auto.create_stack(stack_name, work_dir=str(work), opts=workspace_options(tmp_path / "state"))
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

        # Healing: the cluster deleted behind Pulumi's back. A preview says so
        # and names the repair; `pulumi up --replace` (what make up runs) converges.
        kind("delete", "cluster", "--name", cluster_name)
        printed: list[str] = []
        stack.preview(on_output=printed.append)
        warning = next(line for line in "".join(printed).splitlines() if "is gone" in line)
        urns = [word.strip("'") for word in warning.split("--replace ")[1:]]
        assert any(urn.endswith("::cluster-kind") for urn in urns), warning
        healed = stack.up(on_output=print, replace=[urn.split()[0] for urn in urns])
        assert healed.outputs["verification"].value["cat /volume/dir/file"] == "1"
        assert cluster_name in kind_clusters()
        settled = stack.preview(on_output=print)
        assert set(settled.change_summary) <= {"same"}, settled.change_summary
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
    assert cluster_name not in kind_clusters()


def docker_container_exists(name: str) -> bool:
    found = subprocess.run(
        ["docker", "inspect", "--format", "{{.Id}}", name],
        capture_output=True,
        check=False,
        env={**os.environ, "PATH": SEARCH_PATH},
    )
    return found.returncode == 0


@pytest.mark.usefixtures("e2e_tools")
def test_a_folder_is_mounted_proven_changed_and_cleaned_up(tmp_path: Path) -> None:
    """The content stack: examples/content pushed to the stack's registry,
    mounted on containerd, every file's sha256 proven in the pod; a changed
    file replaces the pod; destroy removes the registry container too."""
    stack_name = f"e2e-{uuid.uuid4().hex[:8]}"
    cluster_name = f"imagevolume-{stack_name}"
    work = tmp_path / "project"
    work.mkdir()
    project_copy(work, stack_name, settings="content")
    stack = auto.create_stack(stack_name, work_dir=str(work), opts=workspace_options(tmp_path / "state"))
    folder = work / "examples" / "content"
    try:
        first = stack.up(on_output=print).outputs
        files = len([p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()])
        assert first["content"].value == {"/data": f"{files} files, all match"}
        assert docker_container_exists(f"{cluster_name}-registry")
        again = stack.preview(on_output=print)
        assert set(again.change_summary) <= {"same"}, again.change_summary

        (folder / "config" / "app.yaml").write_text("greeting: changed by the end-to-end test\n")
        changed = stack.up(on_output=print).outputs
        assert changed["contentDigests"].value != first["contentDigests"].value
        assert changed["content"].value == {"/data": f"{files} files, all match"}
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
    assert cluster_name not in kind_clusters()
    assert not docker_container_exists(f"{cluster_name}-registry")
