"""The components' .sh files, run the way their local.Commands run them
(the fixed command line, the text and values in the environment, /bin/sh)
against the fake CLIs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from harness import FakeCli

from components.checks.component import (
    CHECK,
    READ_ONLY,
    canonical_path,
    check_environment,
    kernel_escaped,
    read_only_environment,
)
from components.cluster.component import CREATE, DELETE, PREFLIGHT, cluster_environment
from components.cluster.kind_config import render_kind_config
from components.cluster.owner import OWNER_FILE, new_owner_record
from components.kubectl import PodTarget
from components.pod.component import READY, ready_environment
from components.pod.pod_spec import CONTAINER_NAME, pod_manifest
from components.settings import parse_settings
from components.settings.grammar import KubernetesVersion
from components.settings.model import KindClusterSettings
from components.shell import ShellScript

DEV = parse_settings({}, "dev")
assert isinstance(DEV.cluster, KindClusterSettings)
CLUSTER: KindClusterSettings = DEV.cluster
TARGET = PodTarget("default", "pod", CONTAINER_NAME)


def run(
    cli: FakeCli, script: ShellScript, environment: Mapping[str, str], stdin: str = ""
) -> tuple[int, str, str]:
    """As pulumi-command runs a Command: /bin/sh -c <the fixed line>, with the
    script's text and the values in the environment."""
    result = cli.run(script.command, stdin=stdin, env={**script.environment(), **environment})
    return result.returncode, result.stdout, result.stderr


# This stack state's owner record, and another state's (another checkout).
OWNER = new_owner_record("imagevolume", "dev")
OTHER_OWNER = new_owner_record("imagevolume", "dev")


def owned_by(owner: str) -> dict[str, str]:
    return {"IMAGEVOLUME_OWNER": owner, "IMAGEVOLUME_OWNER_FILE": OWNER_FILE}


def create(
    cli: FakeCli,
    cluster: KindClusterSettings = CLUSTER,
    version: KubernetesVersion | None = None,
    owner: str = OWNER,
) -> tuple[int, str, str]:
    environment = {**PREFLIGHT.environment(), **cluster_environment(cluster, version), **owned_by(owner)}
    return run(cli, CREATE, environment, stdin=render_kind_config(cluster))


def delete(cli: FakeCli, cluster: KindClusterSettings = CLUSTER, owner: str = OWNER) -> tuple[int, str]:
    code, _, stderr = run(cli, DELETE, {**cluster_environment(cluster), **owned_by(owner)})
    return code, stderr


def check(
    cli: FakeCli, argv: Sequence[str], kubeconfig: str, target: PodTarget = TARGET
) -> tuple[int, str, str]:
    return run(cli, CHECK, {**target.environment(), **check_environment(argv)}, stdin=kubeconfig)


def read_only(cli: FakeCli, mount_path: str, kubeconfig: str) -> tuple[int, str, str]:
    return run(
        cli, READ_ONLY, {**TARGET.environment(), **read_only_environment(mount_path)}, stdin=kubeconfig
    )


def kubeconfig_of(cli: FakeCli, name: str = CLUSTER.name) -> str:
    """What `kind get kubeconfig` prints (the file and a newline), as the create step prints it."""
    return cli.kubeconfig(name) + "\n"


def test_create_prints_the_kubeconfig_and_delete_removes_the_cluster(cli: FakeCli) -> None:
    code, stdout, stderr = create(cli)
    assert code == 0, stderr
    assert cli.clusters() == [CLUSTER.name]
    assert stdout == kubeconfig_of(cli)  # stdout is the kubeconfig and nothing else
    assert 'Creating cluster "imagevolume-dev"' in stderr  # kind's progress goes to stderr
    [create_call] = [c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]
    assert create_call[create_call.index("--image") + 1] == CLUSTER.node_image
    assert create_call[create_call.index("--config") + 1] == "-"
    assert create_call[create_call.index("--wait") + 1] == "300s"
    config = (cli.cluster(CLUSTER.name).path / "config.yaml").read_text()
    assert config == render_kind_config(CLUSTER)  # the rendered config arrived on stdin
    code, stderr = delete(cli)
    assert code == 0, stderr
    assert cli.clusters() == []


def test_users_kubeconfig_is_never_touched(cli: FakeCli) -> None:
    assert create(cli)[0] == 0
    assert delete(cli)[0] == 0
    assert not (cli.home / ".kube").exists()
    for call in cli.calls("kind"):
        if call[:2] in (["create", "cluster"], ["delete", "cluster"]):
            path = call[call.index("--kubeconfig") + 1]
            assert not path.startswith(str(cli.home))
            assert not Path(path).exists(), "the private kubeconfig is removed afterwards"


def test_delete_of_a_cluster_that_is_gone_succeeds(cli: FakeCli) -> None:
    code, stderr = delete(cli)
    assert code == 0, stderr
    assert "kind cluster imagevolume-dev is already gone" in stderr


def test_create_adopts_a_cluster_it_made_from_the_same_settings(cli: FakeCli) -> None:
    assert create(cli)[0] == 0
    code, stdout, stderr = create(cli)  # e.g. an update re-running create
    assert code == 0, stderr
    assert "made from these settings; using it" in stderr
    assert stdout == kubeconfig_of(cli)
    assert len([c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]) == 1


def test_create_refuses_a_foreign_cluster_of_the_same_name_and_leaves_it(cli: FakeCli) -> None:
    foreign = cli.run(
        f"kind create cluster --name {CLUSTER.name} --config - --kubeconfig x",
        stdin="kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n",
    )
    assert foreign.returncode == 0, foreign.stderr
    before = kubeconfig_of(cli)
    code, stdout, stderr = create(cli)
    assert code == 1
    assert stdout == ""
    assert "carries no mark of this stack's settings" in stderr
    assert f"kind delete cluster --name {CLUSTER.name}" in stderr  # the half-made case's fix
    assert "pulumi config set imagevolume:clusterName" in stderr
    assert cli.clusters() == [CLUSTER.name] and kubeconfig_of(cli) == before  # untouched


def test_create_refuses_a_cluster_made_from_other_settings(cli: FakeCli) -> None:
    two_workers = parse_settings({"workers": "2"}, "dev").cluster
    assert isinstance(two_workers, KindClusterSettings)
    assert create(cli, two_workers)[0] == 0
    code, _, stderr = create(cli)
    assert code == 1 and "was made from other settings or on another engine" in stderr


def test_wait_time_out_is_caught_and_the_half_made_cluster_removed(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_NOT_READY"] = "1"
    code, stdout, stderr = create(cli)
    assert code == 1
    assert "WARNING: Timed out waiting for Ready" in stderr  # kind itself exited 0
    assert "were not all Ready within 300s" in stderr
    assert "imagevolume:clusterReadyTimeout" in stderr
    assert "NotReady" in stderr  # the node table, for diagnosis
    assert cli.clusters() == []
    assert "fake-secret" not in stdout + stderr


def test_kind_create_failure_shows_kinds_error_and_leaves_nothing(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_CREATE_ERROR"] = "failed to init node with kubeadm"
    code, stdout, stderr = create(cli)
    assert code == 1 and stdout == ""
    assert "ERROR: failed to create cluster: failed to init node with kubeadm" in stderr
    assert "kind create cluster failed" in stderr
    assert cli.clusters() == []


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("kind", "kind is not on PATH (it creates the cluster): install it, see https://kind.sigs.k8s.io"),
        ("kubectl", "kubectl is not on PATH (it checks the nodes): install it"),
        ("docker", "docker is not on PATH"),
    ],
)
def test_missing_program_is_named_before_anything_runs(cli: FakeCli, missing: str, message: str) -> None:
    cli.remove(missing)
    code, _, stderr = create(cli)
    assert code == 1
    assert message in stderr
    assert cli.calls("kind") == [] and cli.clusters() == []


def test_docker_daemon_down_is_reported_with_the_fix(cli: FakeCli) -> None:
    cli.extra_env["FAKE_DOCKER_DOWN"] = "1"
    code, _, stderr = create(cli)
    assert code == 1
    assert "cannot reach the docker daemon" in stderr and "start it" in stderr
    assert cli.calls("kind") == []


def test_delete_without_kind_says_how_to_finish(cli: FakeCli) -> None:
    cli.remove("kind")
    code, stderr = delete(cli)
    assert code == 1
    assert "cannot be deleted: install it" in stderr and "pulumi destroy again" in stderr


@pytest.fixture
def running_pod(cli: FakeCli) -> str:
    """A cluster with the dev pod on it; returns the kubeconfig."""
    code, kubeconfig, stderr = create(cli)
    assert code == 0, stderr
    cli.add_pod(pod_manifest(DEV.pod))
    return kubeconfig


def test_checks_print_the_walkthroughs_results(cli: FakeCli, running_pod: str) -> None:
    printed = {}
    for walkthrough in DEV.checks:
        code, stdout, stderr = check(cli, walkthrough.argv, running_pod)
        assert code == 0, stderr
        printed[walkthrough.command_line] = stdout.strip()
    assert printed["cat /volume/dir/file"] == "1"
    assert [line.split()[-1] for line in printed["ls -l /volume"].split("\n")[1:]] == ["dir", "file"]
    assert printed["ls -l /volume/dir"].endswith(" file")


def test_failing_check_names_the_command_and_shows_its_output(cli: FakeCli, running_pod: str) -> None:
    code, stdout, stderr = check(cli, ["cat", "/volume/missing"], running_pod)
    assert code == 1
    assert "cat: can't open '/volume/missing': No such file or directory" in stderr  # BusyBox
    assert "check failed in pod default/pod (exit 1): cat /volume/missing" in stderr
    assert "fake-secret" not in stdout + stderr


def test_check_with_a_stale_kubeconfig_fails(cli: FakeCli, running_pod: str) -> None:
    assert delete(cli)[0] == 0
    assert create(cli)[0] == 0  # a recreated cluster has new credentials
    code, _, stderr = check(cli, ["ls", "-l", "/volume"], running_pod)
    assert code == 1 and "was refused" in stderr


NASTY = [
    "; touch /tmp/pwned-semicolon",
    "$(touch pwned-subshell)",
    "`touch pwned-backtick`",
    "'single' \"double\" quotes",
    "two  spaces\tand a tab",
    "new\nline",
    "$HOME ${PATH} * ? [a] ~ & | > <",
    "",
]


def test_check_argv_arrives_intact_and_nothing_runs_on_the_host(cli: FakeCli, running_pod: str) -> None:
    argv = ["echo", *NASTY]
    code, _, stderr = check(cli, argv, running_pod)
    assert code == 0, stderr
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    assert exec_call[exec_call.index("--") + 1 :] == argv
    assert not list(cli.root.rglob("pwned*")) and not Path("/tmp/pwned-semicolon").exists()


def test_pod_target_values_arrive_intact(cli: FakeCli, running_pod: str) -> None:
    odd = PodTarget("default", "pod", "c; touch pwned-container")
    check(cli, ["ls"], running_pod, odd)
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    assert exec_call[exec_call.index("--container") + 1] == "c; touch pwned-container"
    assert not list(cli.root.rglob("pwned*"))


def test_kubeconfig_goes_through_a_private_file_that_is_removed(cli: FakeCli, running_pod: str) -> None:
    assert check(cli, ["ls", "-l", "/volume"], running_pod)[0] == 0
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    path = Path(exec_call[exec_call.index("--kubeconfig") + 1])
    assert not path.exists() and not path.parent.exists()
    assert not any(running_pod in arg for arg in exec_call)


def test_kubectl_never_writes_under_the_users_kube_folder(cli: FakeCli, running_pod: str) -> None:
    """kubectl caches discovery under ~/.kube/cache unless told otherwise."""
    assert check(cli, ["ls", "-l", "/volume"], running_pod)[0] == 0
    assert read_only(cli, "/volume", running_pod)[0] == 0
    assert delete(cli)[0] == 0 and create(cli)[0] == 0
    assert not (cli.home / ".kube").exists()
    for call in cli.calls("kubectl"):
        assert "--cache-dir" in call, call


def test_read_only_probe_reports_the_refused_write_and_the_mount_options(
    cli: FakeCli, running_pod: str
) -> None:
    code, stdout, stderr = read_only(cli, "/volume", running_pod)
    assert code == 0, stderr
    refusal, options = stdout.splitlines()
    assert refusal.startswith("write refused: touch: ") and refusal.endswith("Read-only file system")
    assert "/volume/.imagevolume-write-probe" in refusal
    assert options.startswith("mount options: ro,")


def test_read_only_probe_fails_on_a_writable_volume(cli: FakeCli, running_pod: str) -> None:
    cli.extra_env["FAKE_VOLUME_WRITABLE"] = "1"
    code, _, stderr = read_only(cli, "/volume", running_pod)
    assert code == 1
    assert "/volume is mounted without ro" in stderr


def test_read_only_probe_finds_a_mount_path_with_spaces_and_metacharacters(cli: FakeCli) -> None:
    mount_path = "/data $(x) ;`y`"
    settings = parse_settings(
        {
            "volumes": json.dumps(
                [{"name": "v", "reference": "quay.io/crio/artifact:v1", "mountPath": mount_path}]
            )
        },
        "dev",
    )
    code, kubeconfig, _ = create(cli)
    assert code == 0
    cli.add_pod(pod_manifest(settings.pod))
    code, stdout, stderr = read_only(cli, mount_path, kubeconfig)
    assert code == 0, stderr
    assert "mount options: ro," in stdout
    touch = next(c for c in cli.calls("kubectl") if "touch" in c)
    assert touch[-1] == f"{mount_path}/.imagevolume-write-probe"


def test_mount_paths_are_compared_as_the_kernel_prints_them() -> None:
    assert canonical_path("//volume/") == "/volume"  # posixpath.normpath keeps a leading //
    assert canonical_path("/a/./b/../c") == "/a/c"
    assert kernel_escaped("/a b/c\td\\e") == "/a\\040b/c\\011d\\134e"


def test_cluster_values_arrive_intact(cli: FakeCli) -> None:
    """Names and images cannot hold metacharacters (validation), but the
    scripts never parse a value as shell text."""
    odd = KindClusterSettings("name;$(x)", "image `y`", "crio", 0, (), 30)
    create(cli, odd)
    assert ["get", "clusters"] in cli.calls("kind")
    assert ["pull", "image `y`"] in cli.calls("docker")  # the preflight's pull, refused by docker
    assert not list(cli.root.rglob("pwned*"))


@pytest.mark.parametrize("knob", ["FAKE_KUBECTL_UNAUTHORIZED"])
def test_ready_wait_tells_an_unreachable_api_server_from_a_pod_that_is_not_ready(
    cli: FakeCli, running_pod: str, knob: str
) -> None:
    cli.extra_env[knob] = "1"
    code, stdout, stderr = run(cli, READY, ready_environment(DEV.pod, TARGET), stdin=running_pod)
    assert code == 1 and stdout == ""
    # kubectl's own words (tests/real/test_kubectl.py)
    assert "You must be logged in to the server (the server has asked for the client" in stderr
    assert "imagevolume: cannot reach the API server to wait for pod default/pod" in stderr
    assert "was not Ready" not in stderr


def test_ready_wait_prints_the_pods_uid(cli: FakeCli, running_pod: str) -> None:
    code, stdout, stderr = run(cli, READY, ready_environment(DEV.pod, TARGET), stdin=running_pod)
    assert code == 0, stderr
    assert stdout == cli.api(running_pod).get("Pod", "default", "pod")["metadata"]["uid"]


def ready_budget(timeout: str) -> KindClusterSettings:
    cluster = parse_settings({"clusterReadyTimeout": timeout}, "dev").cluster
    assert isinstance(cluster, KindClusterSettings)
    return cluster


def test_workers_that_get_ready_after_kinds_wait_are_waited_for_within_the_budget(cli: FakeCli) -> None:
    """kind's --wait covers the control plane only; a CRI-O worker is often Ready
    tens of seconds later (docs/fidelity.md section 3)."""
    cli.extra_env["FAKE_WORKER_READY_SECONDS"] = "40"
    code, _, stderr = create(cli)
    assert code == 0, stderr
    assert cli.clusters() == [CLUSTER.name]


def test_one_budget_covers_kinds_wait_and_every_node(cli: FakeCli) -> None:
    cli.extra_env["FAKE_CONTROL_PLANE_READY_SECONDS"] = "20"
    cli.extra_env["FAKE_WORKER_READY_SECONDS"] = "40"
    code, _, stderr = create(cli, ready_budget("30s"))
    assert code == 1
    assert "were not all Ready within 30s (imagevolume:clusterReadyTimeout covers kind's wait" in stderr
    assert cli.clusters() == []  # the half-made cluster was deleted


def test_a_stopped_cluster_is_waited_for_then_reported_unreachable_never_foreign(cli: FakeCli) -> None:
    assert create(cli)[0] == 0
    cli.stop_cluster(CLUSTER.name)  # e.g. the Docker daemon is restarting
    code, stdout, stderr = create(cli, ready_budget("30s"))  # the same cluster, a shorter wait
    assert code == 1 and stdout == ""
    assert "its API server did not answer within 30s" in stderr
    assert "carries no mark" not in stderr and "other settings" not in stderr
    assert "was left untouched" in stderr
    assert cli.clusters() == [CLUSTER.name]


def test_an_api_server_coming_back_is_waited_for_and_the_cluster_adopted(cli: FakeCli) -> None:
    assert create(cli)[0] == 0
    cli.stop_cluster(CLUSTER.name)
    cli.start_cluster(CLUSTER.name, api_down_calls=3)  # nodes back, API server still starting
    code, stdout, stderr = create(cli)
    assert code == 0, stderr
    assert "made from these settings; using it" in stderr
    assert stdout == kubeconfig_of(cli)


def test_a_create_that_left_its_nodes_is_cleaned_up(cli: FakeCli) -> None:
    """kind keeps the nodes when its final kubeconfig export fails (create.go)."""
    cli.extra_env["FAKE_KIND_EXPORT_ERROR"] = "1"
    code, stdout, stderr = create(cli)
    assert code == 1 and stdout == ""
    assert "deleted the half-made kind cluster imagevolume-dev" in stderr
    assert cli.clusters() == []


def test_the_delete_reaches_the_engine_the_create_used(cli: FakeCli) -> None:
    """The values recorded at create travel with delete, whatever the shell
    running `pulumi destroy` has set."""
    elsewhere = parse_settings({}, "dev", environ={"DOCKER_HOST": "unix:///run/other.sock"}).cluster
    assert isinstance(elsewhere, KindClusterSettings)
    assert create(cli, elsewhere)[0] == 0
    assert cli.clusters(endpoint="default") == []
    code, stderr = delete(cli, elsewhere)
    assert code == 0, stderr
    assert cli.clusters() == []


def test_read_only_proof_holds_for_an_artifact_mounted_file_by_file(cli: FakeCli) -> None:
    """CRI-O 1.33+ bind-mounts each file of an OCI artifact: the mount path is a
    plain directory, and every mount below it must be read-only."""
    cli.extra_env["FAKE_OCI_ARTIFACTS"] = "quay.io/crio/artifact:v1"
    crio_133 = parse_settings({"nodeImage": "ghcr.io/carlory/kindnode-crio:v1.33.0"}, "dev")
    assert isinstance(crio_133.cluster, KindClusterSettings)
    code, kubeconfig, _ = create(cli, crio_133.cluster)
    assert code == 0
    cli.add_pod(pod_manifest(crio_133.pod))
    code, stdout, stderr = read_only(cli, "/volume", kubeconfig)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith("write refused: touch: /volume/") and "Read-only file system" in lines[0]
    assert sorted(line.split()[2] for line in lines[1:]) == ["/volume/dir/file", "/volume/file"]
    assert all(line.split()[3].startswith("ro,") for line in lines[1:])


def test_read_only_proof_compares_mount_paths_as_the_kernel_prints_them(cli: FakeCli) -> None:
    """Settings refuse a non-canonical mount path; the proof holds even so."""
    volume = replace(DEV.pod.volumes[0], mount_path="//volume/")
    code, kubeconfig, _ = create(cli)
    assert code == 0
    cli.add_pod(pod_manifest(replace(DEV.pod, volumes=(volume,))))
    code, stdout, stderr = read_only(cli, "//volume/", kubeconfig)
    assert code == 0, stderr
    assert stdout.splitlines()[1].startswith("mount options: ro,")


def test_an_empty_image_volume_fails_naming_the_runtime(cli: FakeCli, running_pod: str) -> None:
    cli.extra_env["FAKE_VOLUME_EMPTY"] = "1"
    code, stdout, stderr = read_only(cli, "/volume", running_pod)
    assert code == 1 and stdout == ""
    assert "the image volume at /volume is empty: the runtime mounted nothing of the image" in stderr
