"""scripts/pulumi-stack.sh, behind `make up|preview|destroy`, against fake CLIs."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from harness import ROOT, FakeCli


@pytest.fixture
def checkout(cli: FakeCli) -> Path:
    """A copy of the files the script reads, so .pulumi/ is made in a temp dir."""
    work = cli.root / "checkout"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "pulumi-stack.sh", work / "scripts")
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, work)
    return work


def make(cli: FakeCli, checkout: Path, action: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(checkout / "scripts" / "pulumi-stack.sh"), action],
        capture_output=True,
        text=True,
        env={**cli.env, **env},
        timeout=60,
        check=False,
    )


def test_up_uses_a_local_backend_and_a_private_generated_passphrase(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up")
    assert result.returncode == 0, result.stderr
    records = cli.records("pulumi")
    assert [r["argv"] for r in records] == [
        ["stack", "select", "--create", "dev", "--non-interactive"],
        ["up", "--stack", "dev", "--yes"],
    ]
    env = records[-1]["env"]
    assert env["PULUMI_BACKEND_URL"] == f"file://{checkout}/.pulumi"
    passphrase = Path(env["PULUMI_CONFIG_PASSPHRASE_FILE"])
    assert passphrase == checkout / ".pulumi" / "passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(passphrase.read_text()) == 64
    first = passphrase.read_text()
    assert make(cli, checkout, "destroy").returncode == 0
    assert passphrase.read_text() == first  # generated once, then reused
    assert cli.calls("pulumi")[-1] == ["destroy", "--stack", "dev", "--yes"]


def test_users_backend_and_passphrase_are_respected(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", PULUMI_BACKEND_URL="s3://bucket", PULUMI_CONFIG_PASSPHRASE="mine")
    assert result.returncode == 0, result.stderr
    env = cli.records("pulumi")[-1]["env"]
    assert env["PULUMI_BACKEND_URL"] == "s3://bucket"
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert not (checkout / ".pulumi" / "passphrase").exists()


def test_stack_is_chosen_with_the_stack_variable(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "preview", STACK="containerd").returncode == 0
    assert cli.calls("pulumi")[-1] == ["preview", "--stack", "containerd"]


def test_outputs_reads_the_same_local_state_without_secrets(cli: FakeCli, checkout: Path) -> None:
    cli.remove("kind")
    assert make(cli, checkout, "outputs").returncode == 0
    record = cli.records("pulumi")[-1]
    assert record["argv"] == ["stack", "output", "--stack", "dev", "--json"]
    assert record["env"]["PULUMI_BACKEND_URL"] == f"file://{checkout}/.pulumi"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("pulumi", "make up: pulumi is not installed: install the Pulumi CLI"),
        ("kubectl", "make up: kubectl is not installed"),
        ("kind", "make up: kind is not installed"),
        ("docker", "make up: docker is not installed"),
    ],
)
def test_missing_prerequisite_stops_first_with_one_line(
    cli: FakeCli, checkout: Path, missing: str, message: str
) -> None:
    cli.remove(missing)
    result = make(cli, checkout, "up")
    assert result.returncode == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert cli.calls("pulumi") == []


def test_docker_daemon_down_stops_up(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 1
    assert "the docker daemon is not reachable" in result.stderr
    assert cli.calls("pulumi") == []


def test_preview_needs_only_pulumi(cli: FakeCli, checkout: Path) -> None:
    for program in ("kind", "kubectl", "docker"):
        cli.remove(program)
    assert make(cli, checkout, "preview").returncode == 0


def test_existing_stack_needs_no_kind_or_docker(cli: FakeCli, checkout: Path) -> None:
    cli.remove("kind")
    cli.remove("docker")
    result = make(cli, checkout, "up", STACK="existing")
    assert result.returncode == 0, result.stderr
