"""The local.Command scripts, executed by /bin/sh against the fake CLIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import FakeCli

from components.cluster.kind_config import cluster_fingerprint, render_kind_config
from components.settings.model import KindClusterSettings
from components.pod.pod_spec import CONTAINER_NAME, pod_manifest
from components.scripts import (
    PodTarget,
    kind_create_script,
    kind_delete_script,
    kubectl_exec_script,
    proc_mounts_path,
    read_only_probe_script,
)
from components.settings import parse_settings

DEV = parse_settings({}, "dev")
assert isinstance(DEV.cluster, KindClusterSettings)
CLUSTER: KindClusterSettings = DEV.cluster
TARGET = PodTarget("default", "pod", CONTAINER_NAME)


def create(cli: FakeCli, cluster: KindClusterSettings = CLUSTER) -> tuple[int, str, str]:
    result = cli.run(
        kind_create_script(cluster, cluster_fingerprint(cluster)), stdin=render_kind_config(cluster)
    )
    return result.returncode, result.stdout, result.stderr


def delete(cli: FakeCli, name: str = CLUSTER.name) -> tuple[int, str]:
    result = cli.run(kind_delete_script(name))
    return result.returncode, result.stderr


def kubeconfig_of(cli: FakeCli, name: str = CLUSTER.name) -> str:
    return (cli.state / "clusters" / name / "kubeconfig").read_text()


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
    config = (cli.state / "clusters" / CLUSTER.name / "config.yaml").read_text()
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
    assert 'Deleting cluster "imagevolume-dev"' in stderr


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
    assert "already exists and was not created from this stack's settings" in stderr
    assert "pulumi config set imagevolume:clusterName" in stderr
    assert cli.clusters() == [CLUSTER.name] and kubeconfig_of(cli) == before  # untouched


def test_create_refuses_a_cluster_made_from_other_settings(cli: FakeCli) -> None:
    two_workers = parse_settings({"workers": "2"}, "dev").cluster
    assert isinstance(two_workers, KindClusterSettings)
    assert create(cli, two_workers)[0] == 0
    code, _, stderr = create(cli)
    assert code == 1 and "not created from this stack's settings" in stderr


def test_wait_time_out_is_caught_and_the_half_made_cluster_removed(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_NOT_READY"] = "1"
    code, stdout, stderr = create(cli)
    assert code == 1
    assert "WARNING: Timed out waiting for Ready" in stderr  # kind itself exited 0
    assert "were not Ready within 300s" in stderr
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
    for check in DEV.checks:
        result = cli.run(kubectl_exec_script(TARGET, check.argv), stdin=running_pod)
        assert result.returncode == 0, result.stderr
        printed[check.command_line] = result.stdout.strip()
    assert printed["cat /volume/dir/file"] == "1"
    assert printed["ls -l /volume"].split("\n")[1:] == [
        "drwxr-xr-x 2 1000 users 4096 Jun  3 12:00 dir",
        "-rw-r--r-- 1 1000 users 2 Jun  3 12:00 file",
    ]
    assert printed["ls -l /volume/dir"].endswith(" file")


def test_failing_check_names_the_command_and_shows_its_output(cli: FakeCli, running_pod: str) -> None:
    result = cli.run(kubectl_exec_script(TARGET, ["cat", "/volume/missing"]), stdin=running_pod)
    assert result.returncode == 1
    assert "cat: /volume/missing: No such file or directory" in result.stderr
    assert "check cat /volume/missing failed in pod default/pod" in result.stderr
    assert "fake-secret" not in result.stdout + result.stderr


def test_check_with_a_stale_kubeconfig_fails(cli: FakeCli, running_pod: str) -> None:
    assert delete(cli)[0] == 0
    assert create(cli)[0] == 0  # a recreated cluster has new credentials
    result = cli.run(kubectl_exec_script(TARGET, ["ls", "-l", "/volume"]), stdin=running_pod)
    assert result.returncode == 1 and "was refused" in result.stderr


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
    result = cli.run(kubectl_exec_script(TARGET, argv), stdin=running_pod)
    assert result.returncode == 0, result.stderr
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    assert exec_call[exec_call.index("--") + 1 :] == argv
    assert not list(cli.root.rglob("pwned*")) and not Path("/tmp/pwned-semicolon").exists()


def test_pod_target_values_arrive_intact(cli: FakeCli, running_pod: str) -> None:
    target = PodTarget("default", "pod", CONTAINER_NAME, context="kind-imagevolume-dev")
    assert cli.run(kubectl_exec_script(target, ["ls", "-l", "/volume"]), stdin=running_pod).returncode == 0
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    assert exec_call[exec_call.index("--context") + 1] == "kind-imagevolume-dev"


def test_kubeconfig_goes_through_a_private_file_that_is_removed(cli: FakeCli, running_pod: str) -> None:
    assert cli.run(kubectl_exec_script(TARGET, ["ls", "-l", "/volume"]), stdin=running_pod).returncode == 0
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    path = Path(exec_call[exec_call.index("--kubeconfig") + 1])
    assert not path.exists() and not path.parent.exists()
    assert not any(running_pod in arg for arg in exec_call)
    assert not (cli.home / ".kube").exists()


def test_read_only_probe_reports_the_refused_write_and_the_mount_options(
    cli: FakeCli, running_pod: str
) -> None:
    result = cli.run(read_only_probe_script(TARGET, "/volume"), stdin=running_pod)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "write refused: touch: cannot touch '/volume/.imagevolume-write-probe': Read-only file system",
        "mount options: ro,nosuid,nodev,noexec,relatime",
    ]


def test_read_only_probe_fails_on_a_writable_volume(cli: FakeCli, running_pod: str) -> None:
    cli.extra_env["FAKE_VOLUME_WRITABLE"] = "1"
    result = cli.run(read_only_probe_script(TARGET, "/volume"), stdin=running_pod)
    assert result.returncode == 1
    assert "succeeded: the volume at /volume is not read-only" in result.stderr


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
    result = cli.run(read_only_probe_script(TARGET, mount_path), stdin=kubeconfig)
    assert result.returncode == 0, result.stderr
    assert "mount options: ro," in result.stdout
    touch = next(c for c in cli.calls("kubectl") if "touch" in c)
    assert touch[-1] == f"{mount_path}/.imagevolume-write-probe"


def test_proc_mounts_escaping_matches_the_kernels() -> None:
    assert proc_mounts_path("/a b/c\td\\e/") == "/a\\040b/c\\011d\\134e"


def test_cluster_values_arrive_intact(cli: FakeCli) -> None:
    """Names and images cannot hold metacharacters (validation), but quoting
    holds even so: the script passes them as single words."""
    odd = KindClusterSettings("name;$(x)", "image `y`", "crio", 0, (), 30)
    create(cli, odd)
    [call] = [c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]
    assert call[call.index("--name") + 1] == "name;$(x)"
    assert call[call.index("--image") + 1] == "image `y`"


def test_a_context_name_with_metacharacters_arrives_intact(cli: FakeCli, running_pod: str) -> None:
    """`context` (existing clusters) is free text in kubeconfig files: quoting carries it."""
    odd = "ctx; touch pwned-context $(touch pwned-sub) `x` 'q'"
    config = json.loads(running_pod)
    config["contexts"].append({"name": odd, "context": config["contexts"][0]["context"]})
    target = PodTarget("default", "pod", CONTAINER_NAME, context=odd)
    result = cli.run(kubectl_exec_script(target, ["cat", "/volume/dir/file"]), stdin=json.dumps(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1\n"
    exec_call = next(c for c in cli.calls("kubectl") if "exec" in c)
    assert exec_call[exec_call.index("--context") + 1] == odd
    assert not list(cli.root.rglob("pwned*"))
