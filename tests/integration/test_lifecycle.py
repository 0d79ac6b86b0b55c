"""The program over a sequence of deployments (up; change; up; destroy) under
the lifecycle model of the engine (tests/lifecycle.py), with every Command run
against the fake CLIs and every Kubernetes object in the fake API server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.world import docker_endpoint
from harness import ROOT, FakeCli, FakeWorldHooks, stack_file_config
from integration.test_make_targets import HEALING_URNS, NAMESPACE_URN
from lifecycle import Deployment, Engine

from components.pod import pod_spec
from components.settings import load_settings
from components.shell import ShellScript
from components.stack import deploy

# Readable names for the resources a change touches.
LABELS = {
    "cluster-kind": "cluster",
    "image-volume-provider": "provider",
    "image-volume-namespace": "namespace",
    "image-volume-pod": "pod",
    "image-volume-ready": "ready wait",
    "image-volume-local-registry-hosting": "registry ConfigMap",
    "registry-container": "registry",
    "registry-nodes": "nodes' registry config",
}


class Stack:
    """One stack's state across deployments."""

    def __init__(self, cli: FakeCli, name: str = "dev") -> None:
        self.cli = cli
        self.name = name
        self.engine = Engine(FakeWorldHooks(cli))
        self.config = stack_file_config(name)

    def up(self, **changes: str) -> Deployment:
        self.config = {**self.config, **changes}
        return self.engine.up(
            lambda: deploy(load_settings()), project="imagevolume", stack=self.name, config=self.config
        )

    def up_replacing(self, urns: list[str]) -> Deployment:
        """`pulumi up --replace URN ...`, as `make up` runs it to heal."""
        return self.engine.up(
            lambda: deploy(load_settings()),
            project="imagevolume",
            stack=self.name,
            config=self.config,
            replace=urns,
        )

    def preview(self, **changes: str) -> Deployment:
        return self.engine.up(
            lambda: deploy(load_settings()),
            project="imagevolume",
            stack=self.name,
            config={**self.config, **changes},
            preview=True,
        )

    def destroy(self) -> Deployment:
        return self.engine.destroy()


def label(name: str) -> str:
    if name.startswith("verify-"):
        return "checks"
    if name.startswith("content-") and name.endswith("-push"):
        return "push"
    return LABELS.get(name, name)


def summary(deployment: Deployment) -> str:
    """What a deployment does, in the words of README's lifecycle table."""
    assert deployment.error is None, deployment.error
    done: dict[str, list[str]] = {}
    for verb, ops in (
        ("replaces", {"replace"}),
        ("creates", {"create"}),
        ("updates", {"update"}),
        ("deletes", {"delete"}),
    ):
        done[verb] = sorted({label(s.name) for s in deployment.steps if s.op in ops}, key=order)
    return "; ".join(f"{verb} {', '.join(names)}" for verb, names in done.items() if names) or "nothing"


def order(name: str) -> int:
    sequence = [
        "cluster",
        "registry",
        "nodes' registry config",
        "push",
        "provider",
        "namespace",
        "registry ConfigMap",
        "pod",
        "ready wait",
        "checks",
    ]
    return sequence.index(name) if name in sequence else len(sequence)


def test_a_second_up_with_nothing_changed_does_nothing(cli: FakeCli) -> None:
    stack = Stack(cli)
    first = stack.up()
    assert first.error is None, first.error
    assert first.outputs["verification"]["cat /volume/dir/file"] == "1"
    again = stack.up()
    assert again.changes() == []
    assert again.outputs == first.outputs
    assert stack.preview().changes() == []


def test_a_volume_change_replaces_the_pod_and_re_runs_the_checks(cli: FakeCli) -> None:
    """The fixed-name pod is deleted (and waited for) before its successor is made."""
    stack = Stack(cli)
    first = stack.up()
    moved = '[{"name": "volume", "reference": "quay.io/crio/artifact:v1", "mountPath": "/data"}]'
    second = stack.up(volumes=moved, checks='[["cat", "/data/dir/file"]]')
    assert second.error is None, second.error
    assert summary(second) == "replaces pod, ready wait, checks"
    assert second.index("delete-replaced", "image-volume-pod") < second.index(
        "create-replacement", "image-volume-pod"
    )
    assert second.outputs["verification"]["cat /data/dir/file"] == "1"
    assert "/data" in second.outputs["readOnly"]
    assert first.outputs["kubeconfig"] == second.outputs["kubeconfig"]  # the same cluster


def test_skip_await_would_break_every_pod_replacement(cli: FakeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the pod carries waitFor, not skipAwait: skipAwait also skips the wait
    on delete, so the successor meets the old pod Terminating (docs/fidelity.md section 2)."""
    monkeypatch.setattr(pod_spec, "POD_ANNOTATIONS", {"pulumi.com/skipAwait": "true"})
    stack = Stack(cli)
    assert stack.up().error is None
    second = stack.up(podImage="registry.k8s.io/e2e-test-images/agnhost:2.52")
    assert second.error is not None
    assert "already exists" in str(second.error)


@pytest.mark.parametrize(
    "change",
    [{"clusterReadyTimeout": "10m"}, {"podReadyTimeout": "10m"}],
    ids=["clusterReadyTimeout", "podReadyTimeout"],
)
def test_preview_announces_no_replacement_for_a_time_out(cli: FakeCli, change: dict[str, str]) -> None:
    """The provider keys on the cluster identifier, not on a kubeconfig that a
    preview cannot know while the cluster command is updated."""
    stack = Stack(cli)
    assert stack.up().error is None
    preview = stack.preview(**change)
    assert not [s for s in preview.steps if s.op in ("replace", "delete", "create")], preview.changes()
    applied = stack.up(**change)
    assert not [s for s in applied.steps if s.op in ("replace", "delete", "create")], applied.changes()


def test_an_edited_script_is_an_update_and_delete_runs_the_recorded_text(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from components.cluster import component as cluster_component  # noqa: PLC0415

    stack = Stack(cli)
    assert stack.up().error is None
    edited = tmp_path / "delete.sh"
    edited.write_text("#!/bin/sh\necho 'the edited delete ran' >&2\nexit 1\n")
    monkeypatch.setattr(cluster_component, "DELETE", ShellScript(edited))
    preview = stack.preview()
    assert [s.op for s in preview.steps if s.name == "cluster-kind"] == ["update"]
    assert not [s for s in preview.steps if s.op == "replace"]
    # Destroy (the edit not applied): the delete recorded at create runs, not
    # the file as it is now, which would fail.
    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    assert cli.clusters() == []
    # Applied, the edit is recorded, and the next delete is the edited one.
    assert stack.up().error is None
    failed = stack.destroy()
    assert failed.error is not None and "the edited delete ran" in str(failed.error)


def test_another_engine_replaces_the_cluster_and_deletes_it_where_it_ran(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    assert cli.clusters(provider="docker", endpoint="default") == ["imagevolume-dev"]
    other, _ = docker_endpoint({"DOCKER_HOST": "unix:///run/other.sock"})
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    moved = stack.up()
    assert summary(moved) == "replaces cluster, provider, pod, ready wait, checks"
    assert cli.clusters(provider="docker", endpoint="default") == []  # deleted on the old engine
    assert cli.clusters(provider="docker", endpoint=other) == ["imagevolume-dev"]
    assert moved.outputs["verification"]["cat /volume/dir/file"] == "1"
    assert stack.destroy().error is None  # with the recorded engine
    assert cli.clusters(provider="docker", endpoint=other) == []


def test_destroy_removes_the_cluster(cli: FakeCli) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    destroyed = stack.destroy()
    assert destroyed.error is None, destroyed.error
    assert cli.clusters() == []
    assert destroyed.index("delete", "image-volume-pod") < destroyed.index("delete", "cluster-kind")


# README's lifecycle table: each row's change, applied to the dev stack after a
# first `up`, must do what the row says.
TABLE = re.compile(r"^\| `(?P<key>\w+)` \| `(?P<value>[^`]*)` \| (?P<effect>[^|]+) \|$", re.MULTILINE)


def readme_rows() -> Iterator[tuple[str, str, str]]:
    section = (ROOT / "README.md").read_text().split("### What a change does", 1)[1].split("\n#", 1)[0]
    for row in TABLE.finditer(section):
        yield row["key"], row["value"], row["effect"].strip()


def test_readme_has_a_lifecycle_row_for_every_kind_mode_key() -> None:
    keys = {key for key, _, _ in readme_rows()}
    assert keys == {
        "clusterName",
        "nodeImage",
        "workers",
        "featureGates",
        "clusterReadyTimeout",
        "registryPort",
        "registryImage",
        "podName",
        "namespace",
        "podImage",
        "volumes",
        "checks",
        "podReadyTimeout",
    }


@pytest.mark.parametrize(("key", "value", "effect"), list(readme_rows()), ids=lambda v: str(v)[:20])
def test_readme_lifecycle_row(cli: FakeCli, key: str, value: str, effect: str) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    assert summary(stack.up(**{key: value})) == effect


def test_a_cluster_deleted_behind_pulumis_back_is_healed_in_one_up(cli: FakeCli) -> None:
    stack = Stack(cli)
    first = stack.up()
    assert first.error is None
    cli.delete_cluster("imagevolume-dev")  # kind delete cluster, by hand
    # The trap: local.Command has no read, so a plain up sees nothing to do.
    assert stack.up().changes() == []
    # make up's path: --replace the cluster command and the provider.
    healed = stack.up_replacing(HEALING_URNS)
    assert healed.error is None, healed.error
    assert summary(healed) == "replaces cluster, pod, ready wait, checks; updates provider"
    assert cli.clusters() == ["imagevolume-dev"]
    assert healed.outputs["verification"] == first.outputs["verification"]
    pod = cli.api(healed.outputs["kubeconfig"]).get("Pod", "default", "pod")
    assert pod["metadata"]["uid"] != first.outputs["verification"]  # a pod in the new cluster
    # Converged: the next up changes nothing.
    assert stack.up().changes() == []


def test_replacing_the_cluster_and_its_provider_would_leave_the_pod_behind(cli: FakeCli) -> None:
    """Why healing replaces the pod, not the provider: a provider replaced with
    an unchanged cluster identifier does not replace what is on it (pulumi
    step_generator.go providerChanged asks the new provider's DiffConfig)."""
    stack = Stack(cli)
    assert stack.up().error is None
    cli.delete_cluster("imagevolume-dev")
    provider = next(urn for urn in stack.engine.state if urn.endswith("::image-volume-provider"))
    partial = stack.up_replacing([HEALING_URNS[0], provider])
    assert partial.ops("image-volume-pod") == ["same"]
    assert partial.error is not None and 'pods "pod" not found' in str(partial.error)


def test_healing_a_stack_with_its_own_namespace(cli: FakeCli) -> None:
    stack = Stack(cli)
    assert stack.up(namespace="image-volumes").error is None
    cli.delete_cluster("imagevolume-dev")
    healed = stack.up_replacing([*HEALING_URNS, NAMESPACE_URN])
    assert healed.error is None, healed.error
    assert "namespace" in {label(s.name) for s in healed.steps if s.op == "replace"}
    assert stack.up().changes() == []


def gone_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is gone" in r.getMessage()]


def test_a_plain_up_says_the_cluster_is_gone_and_the_one_command_that_repairs_it(
    cli: FakeCli, caplog: pytest.LogCaptureFixture
) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    assert gone_warnings(caplog) == []  # the first up: created, then probed
    cli.delete_cluster("imagevolume-dev")
    assert stack.preview().changes() == []
    assert stack.up().changes() == []
    warnings = gone_warnings(caplog)
    assert len(warnings) == 2  # the preview and the up
    assert "kind cluster imagevolume-dev is gone" in warnings[-1]
    fix = warnings[-1].split("or: ", 1)[1]
    assert fix == "pulumi up " + " ".join(f"--replace '{urn}'" for urn in HEALING_URNS)
    # That command converges.
    assert stack.up_replacing(HEALING_URNS).error is None
    caplog.clear()
    assert stack.up().changes() == [] and gone_warnings(caplog) == []


def test_a_preview_without_docker_works_and_changes_nothing(
    cli: FakeCli, caplog: pytest.LogCaptureFixture
) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    cli.extra_env["FAKE_DOCKER_DOWN"] = "1"
    preview = stack.preview()
    assert preview.error is None and preview.changes() == []
    assert gone_warnings(caplog) == []  # the probe said "unknown", not "absent"


def test_a_stopped_cluster_is_not_called_gone(cli: FakeCli, caplog: pytest.LogCaptureFixture) -> None:
    stack = Stack(cli)
    assert stack.up().error is None
    cli.stop_cluster("imagevolume-dev")
    assert stack.preview().changes() == []
    assert gone_warnings(caplog) == []
