"""The whole program under Pulumi mocks, in update and preview mode, with every
local.Command executed for real against the fake CLIs."""

from __future__ import annotations

import json
import os
import runpy
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from harness import (
    ROOT,
    FakeCli,
    ProgramMocks,
    ProgramRun,
    free_port,
    is_secret,
    reveal,
    run_like_command_provider,
    run_program,
    secret_of,
    stack_file_config,
    walk_strings,
)

from components.settings import SettingsError
from components.shell import ShellScript
from components.versions import KIND_DEFAULT_NODE_IMAGE, REGISTRY_IMAGE

COMMAND = "command:local:Command"
MINIMAL_KIND_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
POD = "kubernetes:core/v1:Pod"
PROVIDER = "pulumi:providers:kubernetes"


def dev(cli: FakeCli, preview: bool = False) -> ProgramRun:
    return run_program(stack_file_config("dev"), stack="dev", cli=cli, preview=preview)


def test_dev_stack_outputs_the_walkthroughs_proof(cli: FakeCli) -> None:
    run = dev(cli)
    assert run.outputs["verification"]["cat /volume/dir/file"] == "1"
    # BusyBox ls -l, as echoserver:2.3 prints it (owner uid 1000, group users).
    assert run.outputs["verification"]["ls -l /volume"].splitlines()[1:] == [
        "drwxr-xr-x    2 1000     users         4096 Jun  3 12:00 dir",
        "-rw-r--r--    1 1000     users            2 Jun  3 12:00 file",
    ]
    assert run.outputs["verification"]["ls -l /volume/dir"].splitlines()[1:] == [
        "-rw-r--r--    1 1000     users            2 Jun  3 12:00 file"
    ]
    refusal, options = run.outputs["readOnly"]["/volume"].splitlines()
    assert refusal == "write refused: touch: /volume/.imagevolume-write-probe: Read-only file system"
    assert options.startswith("mount options: ro,") and "noexec" not in options
    assert run.outputs["clusterName"] == "imagevolume-dev"
    assert run.outputs["namespace"] == "default" and run.outputs["podName"] == "pod"
    assert run.outputs["nodeImage"] == "ghcr.io/carlory/kindnode-crio:v1.31.0"
    assert run.outputs["volumes"] == [
        {
            "name": "volume",
            "reference": "quay.io/crio/artifact:v1",
            "pullPolicy": "IfNotPresent",
            "mountPath": "/volume",
        }
    ]
    assert cli.clusters() == ["imagevolume-dev"]


def test_graph_types_parents_and_provider_wiring(cli: FakeCli) -> None:
    run = dev(cli)
    names = {r.urn: r for r in run.registrations}
    component = {r.type: r for r in run.registrations if r.type.startswith("imagevolume:index:")}
    assert set(component) == {
        "imagevolume:index:KindCluster",
        "imagevolume:index:ImageVolumePod",
        "imagevolume:index:VolumeCheck",
    }
    cluster_command = next(r for r in run.of_type(COMMAND) if r.name == "cluster-kind")
    assert cluster_command.parent == component["imagevolume:index:KindCluster"].urn
    provider = run.one(PROVIDER)
    pod = run.one(POD)
    assert provider.parent == pod.parent == component["imagevolume:index:ImageVolumePod"].urn
    assert pod.provider.startswith(provider.urn + "::")  # the pod is on the cluster's provider
    checks = [r for r in run.of_type(COMMAND) if r.name.startswith("verify-")]
    assert len(checks) == 4  # three walkthrough checks and one read-only probe
    assert {r.parent for r in checks} == {component["imagevolume:index:VolumeCheck"].urn}
    for registration in run.registrations:
        if not registration.type.startswith("imagevolume:index:"):
            assert names[registration.parent].type.startswith("imagevolume:index:")


def test_cluster_command_is_replaced_not_updated_and_deleted_first(cli: FakeCli) -> None:
    run = dev(cli)
    command = next(r for r in run.of_type(COMMAND) if r.name == "cluster-kind")
    assert command.delete_before_replace
    triggers = command.inputs["triggers"]
    assert triggers[:2] == ["imagevolume-dev", "ghcr.io/carlory/kindnode-crio:v1.31.0"]
    assert triggers[2] == command.inputs["stdin"]  # the rendered kind config
    assert triggers[3:] == ["docker", "", ""]  # the engine: provider, DOCKER_HOST, DOCKER_CONTEXT
    assert command.inputs["addPreviousOutputInEnv"] is False


def test_commands_are_short_fixed_lines_and_the_shell_travels_in_the_environment(cli: FakeCli) -> None:
    """An edited script is an update; delete runs the recorded text; a failure's
    error (which quotes the command line) starts with one short line."""
    run = dev(cli)
    for command in run.of_type(COMMAND):
        for which in ("create", "delete"):
            line = command.inputs.get(which)
            if line is None:
                continue
            assert line.startswith('exec /bin/sh -c "$IMAGEVOLUME_') and len(line) < 70, line
            variable = line.split('"$')[1].split('"')[0]
            shipped = {ShellScript(path).text() for path in (ROOT / "components").glob("*/*.sh")}
            assert command.inputs["environment"][variable] in shipped, line


def test_no_command_logs_its_stdout(cli: FakeCli) -> None:
    """pulumi-command reads logged output with a 64 KiB line scanner and blocks
    on a longer line (util.go LogOutput): stdout is an output, never logged."""
    run = dev(cli)
    assert {r.inputs["logging"] for r in run.of_type(COMMAND)} == {"stderr"}


def test_an_invoke_prints_nothing_to_the_console(cli: FakeCli) -> None:
    """The cluster probe's answer is for the program, not the user: the real
    engine printed a bare 'unknown' (no Docker at hand) in every kind-mode
    preview, as the stack's own line, because local.run logs both streams
    unless told otherwise (seen with pulumi v3.259.0 and
    pulumi-resource-command v1.2.1). That engine ran the probe in a preview of
    a new stack; the mocks do not (an unknown id stops an invoke there), so the
    update is where this is checked."""
    run = dev(cli)
    assert run.console == []


def test_the_engine_kind_ran_on_is_pinned_for_delete(cli: FakeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "bogus")  # kind ignores it and finds docker
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    run = dev(cli)
    command = next(r for r in run.of_type(COMMAND) if r.name == "cluster-kind")
    environment = command.inputs["environment"]
    assert environment["KIND_EXPERIMENTAL_PROVIDER"] == "docker"
    assert environment["DOCKER_HOST"] == "unix:///run/user/1000/docker.sock"
    assert "DOCKER_CONTEXT" not in environment
    assert command.inputs["triggers"][3:] == ["docker", "unix:///run/user/1000/docker.sock", ""]
    assert all("fake-secret-" not in value for value in reveal(environment).values())


def test_kubeconfig_is_secret_everywhere(cli: FakeCli) -> None:
    run = dev(cli)
    command = next(r for r in run.of_type(COMMAND) if r.name == "cluster-kind")
    assert command.additional_secret_outputs == ["stdout"]
    assert command.inputs["logging"] == "stderr"  # stdout (the kubeconfig) not logged
    assert "kubeconfig" in run.secret_outputs
    assert "fake-secret-" in run.outputs["kubeconfig"]
    assert is_secret(run.one(PROVIDER).inputs["kubeconfig"])
    for check in (r for r in run.of_type(COMMAND) if r.name.startswith("verify-")):
        assert is_secret(check.inputs["stdin"])
        assert all("fake-secret-" not in s for s in walk_strings(reveal(check.inputs["create"])))
    public = {k: v for k, v in run.outputs.items() if k != "kubeconfig"}
    assert run.secret_outputs == {"kubeconfig"}
    assert all("fake-secret-" not in s for s in walk_strings(public))


def test_pod_readiness_is_awaited_by_a_command_with_the_configured_time_out(cli: FakeCli) -> None:
    run = run_program({**stack_file_config("dev"), "podReadyTimeout": "90s"}, cli=cli)
    pod = run.one(POD)
    # The provider's await is met once the pod exists; the ready command waits
    # for Ready. Not skipAwait: that also skips the wait on delete.
    assert pod.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "jsonpath={.metadata.uid}"}
    ready = next(r for r in run.of_type(COMMAND) if r.name == "image-volume-ready")
    assert ready.inputs["environment"]["IMAGEVOLUME_READY_TIMEOUT"] == "90"
    assert is_secret(ready.inputs["stdin"])
    assert pod.urn in ready.dependencies
    wait = next(c for c in cli.calls("kubectl") if "wait" in c and "pod/pod" in c)
    assert "--timeout=90s" in wait


def test_checks_run_after_the_pod_is_ready_and_re_run_when_it_is_replaced(cli: FakeCli) -> None:
    run = dev(cli)
    ready = next(r for r in run.of_type(COMMAND) if r.name == "image-volume-ready")
    assert ready.inputs["triggers"] == [next(iter(run.minted_uids))]
    for check in (r for r in run.of_type(COMMAND) if r.name.startswith("verify-")):
        assert check.inputs["triggers"] == ready.inputs["triggers"]  # the pod's uid
        assert ready.urn in check.dependencies
    calls = cli.calls("kubectl")
    first_exec = next(i for i, c in enumerate(calls) if "exec" in c)
    assert any("wait" in c and "pod/pod" in c for c in calls[:first_exec])


SUB_PATH_AT_VOLUME_DIR = [
    {"name": "volume", "reference": "quay.io/crio/artifact:v2", "mountPath": "/volume"},
    {"name": "missing", "reference": "quay.io/crio/artifact:v2", "mountPath": "/m", "subPath": "nope"},
]


# (stack, extra config, fake world, the reason the error must give): each from
# the strings the runtimes really report (docs/runtimes.md section 3).
POD_FAILURES = [
    (
        "dev",
        {},
        {"FAKE_MISSING_IMAGES": "quay.io/crio/artifact:v1"},
        "an image could not be pulled (reason above). Image volumes: volume=quay.io/crio/artifact:v1",
    ),
    (
        "dev",
        {},
        {"FAKE_POD_FAILURE": "hostpath"},
        "the node's container runtime does not support image volumes",
    ),
    (
        "containerd",
        {},
        {"FAKE_POD_FAILURE": "hostpath"},
        "the node's container runtime does not support image volumes",
    ),
    (
        "containerd",
        {"volumes": json.dumps(SUB_PATH_AT_VOLUME_DIR)},
        {},
        "a volume's subPath is not in its image",
    ),
    (
        "dev",
        {},
        {"FAKE_POD_FAILURE": "subpath"},  # a subPath string, yet no volume has one: not named
        "the runtime could not mount an image volume",
    ),
]


@pytest.mark.parametrize(("stack", "config", "world", "expected"), POD_FAILURES)
def test_a_pod_that_never_gets_ready_fails_up_with_the_reason(
    cli: FakeCli, stack: str, config: dict[str, str], world: dict[str, str], expected: str
) -> None:
    cli.extra_env.update(world)
    with pytest.raises(Exception) as raised:
        run_program({**stack_file_config(stack), **config}, stack=stack, cli=cli)
    text = str(raised.value)
    reason = (
        f"imagevolume: pod default/pod was not Ready within 300s (imagevolume:podReadyTimeout): {expected}"
    )
    assert reason in text
    if "subPath" not in expected:
        assert "subPath" not in text.split("podReadyTimeout): ", 1)[1]
    assert not [c for c in cli.calls("kubectl") if "exec" in c]  # no check ran
    assert secret_of(cli, f"imagevolume-{stack}") not in text
    assert (
        text.splitlines()[0] == "exit status 1: running 'exec /bin/sh -c \"$IMAGEVOLUME_READY_SH\" ready.sh':"
    )


def test_preview_declares_the_same_resources_and_runs_nothing(cli: FakeCli) -> None:
    preview = dev(cli, preview=True)
    assert cli.calls() == [] and cli.clusters() == []
    update = dev(FakeCli(cli.root / "second"))
    assert sorted((r.type, r.name) for r in preview.registrations) == sorted(
        (r.type, r.name) for r in update.registrations
    )
    assert "verification" not in preview.known_outputs and "kubeconfig" not in preview.known_outputs
    assert preview.outputs["clusterName"] == "imagevolume-dev"


def test_a_second_evaluation_declares_identical_inputs(tmp_path: Path) -> None:
    """`pulumi up` twice with nothing changed: every resource gets the same inputs,
    so the engine has nothing to change (the kubeconfig is the same cluster's)."""
    cli = FakeCli(tmp_path)
    first = dev(cli)
    second = dev(cli)  # the cluster exists now: create adopts it
    assert len([c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]) == 1
    assert first.comparable_inputs() == second.comparable_inputs()
    assert first.outputs == second.outputs


def test_the_registry_image_setting_runs_the_registry_and_replaces_it_when_changed(cli: FakeCli) -> None:
    """imagevolume:registryImage reaches run.sh and the container's triggers (a
    new image is a new container: the engine replaces a Command whose triggers
    change); unset, the pinned registry:3."""
    source = [{"name": "data", "source": "examples/content", "mountPath": "/data"}]
    config = {**stack_file_config("dev"), "volumes": json.dumps(source), "checks": '[["ls", "/data"]]'}

    def container(**more: str) -> dict[str, Any]:
        run = run_program({**config, **more}, cli=cli, preview=True)
        return next(r for r in run.of_type(COMMAND) if r.name == "registry-container").inputs

    pinned = container()
    mirror = "127.0.0.1:5000/registry@sha256:" + "0" * 64
    mirrored = container(registryImage=mirror)
    assert pinned["environment"]["IMAGEVOLUME_REGISTRY_IMAGE"] == REGISTRY_IMAGE
    assert mirrored["environment"]["IMAGEVOLUME_REGISTRY_IMAGE"] == mirror
    assert REGISTRY_IMAGE in pinned["triggers"]
    assert mirror in mirrored["triggers"] and REGISTRY_IMAGE not in mirrored["triggers"]
    assert [t for t in mirrored["triggers"] if t != mirror] == [
        t for t in pinned["triggers"] if t != REGISTRY_IMAGE
    ]
    assert cli.calls() == []  # a preview runs nothing


def test_containerd_stack_mounts_and_checks_two_volumes(cli: FakeCli) -> None:
    run = run_program(stack_file_config("containerd"), stack="containerd", cli=cli)
    verification = run.outputs["verification"]
    assert list(verification) == [
        "ls -l /volume",
        "ls -l /volume/dir",
        "cat /volume/dir/file",
        "ls -l /volume-dir",
        "cat /volume-dir/file",
    ]
    assert verification["cat /volume/dir/file"] == verification["cat /volume-dir/file"] == "1"
    # The subPath volume shows dir's content at its root, not the image root.
    assert [line.split()[-1] for line in verification["ls -l /volume-dir"].splitlines()[1:]] == ["file"]
    assert [line.split()[-1] for line in verification["ls -l /volume"].splitlines()[1:]] == ["dir", "file"]
    assert set(run.outputs["readOnly"]) == {"/volume", "/volume-dir"}
    assert cli.clusters() == ["imagevolume-containerd"]
    [create] = [c for c in cli.calls("kind") if c[:2] == ["create", "cluster"]]
    assert create[create.index("--image") + 1] == KIND_DEFAULT_NODE_IMAGE  # the pinned kind's own


SHIPPED_STACKS = sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml"))


def test_the_four_stacks_are_shipped() -> None:
    assert SHIPPED_STACKS == ["containerd", "content", "dev", "existing"]


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_stack_evaluates_cleanly(
    cli: FakeCli, monkeypatch: pytest.MonkeyPatch, stack: str, preview: bool
) -> None:
    monkeypatch.setenv("HOME", str(cli.home))  # the existing stack names ~/.kube/config
    made = cli.run("kind create cluster --name mine --config -", stdin=MINIMAL_KIND_CONFIG)
    assert made.returncode == 0, made.stderr
    setup_calls = cli.calls()
    config = stack_file_config(stack)
    if stack == "existing":
        # Shipped without a context, deliberately: it must be named.
        with pytest.raises(SettingsError) as raised:
            run_program(config, stack=stack, cli=cli, preview=preview)
        assert [p.key for p in raised.value.problems] == ["context"]
        config["context"] = "kind-mine"
    if stack == "content":
        if shutil.which("docker-registry") is None and os.environ.get("CI") != "true":
            pytest.skip(
                "Debian's docker-registry is not installed: the fake docker runs it as the stack's registry"
            )
        config["registryPort"] = str(free_port())  # tests run side by side
    try:
        run = run_program(config, stack=stack, cli=cli, preview=preview)
    finally:
        cli.stop_processes()
    assert run.one(POD).inputs["spec"]["volumes"]
    if preview:
        assert "verification" not in run.known_outputs
        assert cli.calls() == setup_calls  # preview runs no command
    else:
        verification = run.outputs["verification"]
        assert verification and all(isinstance(text, str) for text in verification.values())
        assert all("mount options: ro," in v for v in run.outputs["readOnly"].values())


def test_dev_and_containerd_stacks_are_isolated(tmp_path: Path) -> None:
    cli = FakeCli(tmp_path)
    dev_run = dev(cli)
    containerd_run = run_program(stack_file_config("containerd"), stack="containerd", cli=cli)
    assert cli.clusters() == ["imagevolume-containerd", "imagevolume-dev"]  # both up at once
    assert dev_run.outputs["kubeconfig"] != containerd_run.outputs["kubeconfig"]
    kubeconfig_paths = [c[c.index("--kubeconfig") + 1] for c in cli.calls("kind") if "--kubeconfig" in c]
    assert len(kubeconfig_paths) == len(set(kubeconfig_paths))
    # Destroying one stack runs its own delete: the other cluster stays.
    command = next(r for r in dev_run.of_type(COMMAND) if r.name == "cluster-kind")
    run_like_command_provider(cli, command.inputs, "delete")
    assert cli.clusters() == ["imagevolume-containerd"]
    other = next(r for r in containerd_run.of_type(COMMAND) if r.name == "cluster-kind")
    assert other.inputs["environment"]["IMAGEVOLUME_CLUSTER_NAME"] == "imagevolume-containerd"


def existing_config(cli: FakeCli) -> dict[str, str]:
    """The existing stack on the fake cluster `prod`, whose kubeconfig also
    holds another cluster's context, current."""
    for name in ("prod", "other"):
        made = cli.run(
            f"kind create cluster --name {name} --config - --kubeconfig kc", stdin=MINIMAL_KIND_CONFIG
        )
        assert made.returncode == 0, made.stderr
    return {**stack_file_config("existing"), "kubeconfig": str(cli.root / "kc"), "context": "kind-prod"}


def test_existing_stack_runs_no_kind_and_uses_only_the_chosen_context(cli: FakeCli) -> None:
    config = existing_config(cli)
    kind_calls_before = len(cli.calls("kind"))
    run = run_program(config, stack="existing", cli=cli)
    assert len(cli.calls("kind")) == kind_calls_before
    assert not [r for r in run.registrations if r.type == "imagevolume:index:KindCluster"]
    assert run.outputs["verification"]["cat /volume/dir/file"] == "1"
    assert "kubeconfig" in run.secret_outputs
    chosen = yaml.safe_load(run.outputs["kubeconfig"])
    assert chosen["current-context"] == "kind-prod" and len(chosen["contexts"]) == 1
    provider = run.one(PROVIDER)
    assert is_secret(provider.inputs["kubeconfig"])
    assert reveal(provider.inputs["kubeconfig"]) == run.outputs["kubeconfig"]
    assert "context" not in provider.inputs  # the kubeconfig holds only that context
    assert provider.inputs["clusterIdentifier"].startswith("existing-")
    # Unset unless true: an explicit false disables PULUMI_K8S_DELETE_UNREACHABLE.
    assert "deleteUnreachable" not in provider.inputs
    assert run.outputs["clusterName"] == "kind-prod" and run.outputs["nodeImage"] is None


def test_existing_mode_pushes_a_source_to_its_registry_and_starts_none(cli: FakeCli) -> None:
    config = {
        **existing_config(cli),
        "registry": "registry.example.com/team",
        "volumes": json.dumps([{"name": "data", "source": "examples/content", "mountPath": "/data"}]),
    }
    run = run_program(config, stack="existing", cli=cli, preview=True)
    types = {r.type for r in run.registrations}
    assert "imagevolume:index:LocalRegistry" not in types
    assert not [r for r in run.registrations if r.type == "kubernetes:core/v1:ConfigMap"]
    [push] = [r for r in run.registrations if r.name == "content-0-push"]
    assert push.inputs["environment"]["IMAGEVOLUME_TARGET"] == "registry.example.com/team/data"
    reference = run.one(POD).inputs["spec"]["volumes"][0]["image"]["reference"]
    assert reference == f"registry.example.com/team/data@{run.outputs['contentDigests']['/data']}"
    assert push.urn in run.one(POD).dependencies


def test_kind_mode_lets_destroy_drop_what_an_unreachable_cluster_held(cli: FakeCli) -> None:
    assert dev(cli).one(PROVIDER).inputs["deleteUnreachable"] == "true"


def test_other_namespace_is_created_in_kind_mode(cli: FakeCli) -> None:
    run = run_program({**stack_file_config("dev"), "namespace": "image-volumes"}, cli=cli)
    namespace = run.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "image-volumes"
    assert namespace.urn in run.one(POD).dependencies


def test_failing_run_never_prints_the_kubeconfig(cli: FakeCli) -> None:
    """A check fails: the error names the command and shows the output, and
    nothing the run printed holds the kubeconfig's secret."""
    config = {**stack_file_config("dev"), "checks": '[["cat", "/volume/missing"]]'}
    with pytest.raises(Exception) as raised:
        run_program(config, cli=cli)
    text = str(raised.value)
    assert "check failed in pod default/pod (exit 1): cat /volume/missing" in text
    assert "No such file or directory" in text
    assert cli.clusters() == ["imagevolume-dev"]
    assert secret_of(cli) not in text


def test_cluster_create_failure_surfaces_kinds_error_and_declares_no_pod(cli: FakeCli) -> None:
    cli.extra_env["FAKE_KIND_CREATE_ERROR"] = "could not pull ghcr.io/carlory/kindnode-crio:v1.31.0"
    with pytest.raises(Exception) as raised:
        dev(cli)
    assert "could not pull ghcr.io/carlory/kindnode-crio:v1.31.0" in str(raised.value)
    assert cli.clusters() == []
    assert not [c for c in cli.calls("kubectl") if "exec" in c]


def test_main_module_exports_the_documented_outputs(cli: FakeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """__main__.py, as the Pulumi CLI runs it (runpy on the project directory)."""
    exported: dict[str, object] = {}
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    pulumi.runtime.set_mocks(
        ProgramMocks(cli, preview=True), project="imagevolume", stack="dev", preview=True
    )
    pulumi.runtime.set_all_config({f"imagevolume:{k}": v for k, v in stack_file_config("dev").items()})

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def evaluate() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    evaluate()
    assert sorted(exported) == sorted(
        [
            "clusterName",
            "kubeconfig",
            "namespace",
            "podName",
            "nodeImage",
            "volumes",
            "verification",
            "readOnly",
        ]
    )
    assert cli.calls() == []
