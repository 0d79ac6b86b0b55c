"""The lifecycle model (tests/lifecycle.py) against tiny synthetic programs: what the
engine does over a sequence of deployments (up; change config; up; preview; destroy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s
import pytest
import yaml
from lifecycle import Deployment, Engine, RecordingHooks, ResourceInitError, Step

PROJECT, STACK = "lc", "dev"
POD_TYPE = "kubernetes:core/v1:Pod"


def up(
    engine: Engine,
    program: Any,
    *,
    preview: bool = False,
    secret_keys: tuple[str, ...] = (),
    config: Mapping[str, str] | None = None,
    **settings: str,
) -> Deployment:
    """`pulumi up` (or preview) of `program` with `config` and `settings` as stack config."""
    return engine.up(
        program,
        project=PROJECT,
        stack=STACK,
        config={**(config or {}), **settings},
        secret_keys=secret_keys,
        preview=preview,
    )


def command_calls(hooks: RecordingHooks, which: str) -> list[tuple[str, dict[str, Any]]]:
    """(script, inputs) of every run of `which` (create/update/delete)."""
    return [(script, inputs) for kind, script, inputs in hooks.calls if kind == "run_command:" + which]


# ---- a source command, one consumer replaced with it, one updated with it ------------


def commands() -> dict[str, Any]:
    cfg = pulumi.Config()
    if cfg.get_bool("dropAll"):
        return {}
    source = command.local.Command(
        "source",
        create="make-source",
        delete="delete-source",
        triggers=[cfg.get("trigger") or "t1"],
        environment={"LEVEL": cfg.get("level") or "1"},
        opts=pulumi.ResourceOptions(delete_before_replace=cfg.get_bool("dbr")),
    )
    # `pinned` is replaced whenever source's stdout changes (a trigger); `reader` is
    # only updated (stdin).
    pinned = command.local.Command(
        "pinned", create="make-pinned", delete="delete-pinned", triggers=[source.stdout]
    )
    reader = command.local.Command(
        "reader", create="make-reader", update="update-reader", delete="delete-reader", stdin=source.stdout
    )
    return {"source": source.stdout, "pinned": pinned.stdout, "reader": reader.stdout}


def test_equal_inputs_are_same_run_nothing_and_keep_the_old_stdout() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    first = up(engine, commands)
    assert sorted(first.changes()) == [("create", "pinned"), ("create", "reader"), ("create", "source")]
    calls = len(hooks.calls)

    again = up(engine, commands)

    assert again.error is None and again.changes() == []
    assert {s.op for s in again.steps} == {"same"} and len(again.steps) == 3
    assert len(hooks.calls) == calls  # nothing ran
    assert (
        again.outputs
        == first.outputs
        == {
            "source": "make-source#1",
            "pinned": "make-pinned#1",
            "reader": "make-reader#1",
        }
    )


def test_a_non_trigger_change_updates_by_running_create_with_the_new_inputs() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands)
    hooks.calls.clear()

    deployment = up(engine, commands, level="2")

    assert deployment.ops("source") == ["update"]
    [(_, inputs)] = [c for c in command_calls(hooks, "create") if c[0] == "make-source"]
    # `update` is unset: `create` runs again, with the NEW inputs and the previous
    # output in the environment (addPreviousOutputInEnv defaults to true).
    assert inputs["environment"] == {"LEVEL": "2", "PULUMI_COMMAND_STDOUT": "make-source#1"}
    assert deployment.outputs["source"] == "make-source#2"
    # reader's stdin changed: update runs `update` with the new stdin.
    assert deployment.ops("reader") == ["update"]
    [(_, reader_inputs)] = command_calls(hooks, "update")
    assert reader_inputs["stdin"] == "make-source#2"
    # pinned's trigger changed: replaced.
    assert deployment.ops("pinned") == ["create-replacement", "replace", "delete-replaced"]


def test_a_trigger_change_replaces_create_before_delete_and_deletes_with_the_old_inputs() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands)
    hooks.calls.clear()

    deployment = up(engine, commands, trigger="t2", level="2")

    assert deployment.ops("source") == ["create-replacement", "replace", "delete-replaced"]
    # The new one first; dependents next; the old one deleted with the deletes at the end.
    assert deployment.index("create-replacement", "source") < deployment.index("update", "reader")
    assert deployment.index("update", "reader") < deployment.index("delete-replaced", "source")
    assert deployment.steps[-1].op == "delete-replaced"
    deletes = dict(command_calls(hooks, "delete"))
    assert deletes["delete-source"]["environment"] == {"LEVEL": "1", "PULUMI_COMMAND_STDOUT": "make-source#1"}
    assert engine.resource("source").plain_inputs()["triggers"] == ["t2"]
    assert engine.pending_deletes == []


def test_delete_before_replace_deletes_replaced_dependents_first_then_recreates() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands, dbr="true")
    hooks.calls.clear()

    deployment = up(engine, commands, dbr="true", trigger="t2", level="2")

    order = [
        deployment.index("delete-replaced", "pinned"),  # its trigger depends on source: replaced
        deployment.index("delete-replaced", "source"),
        deployment.index("replace", "source"),
        deployment.index("create-replacement", "source"),
        deployment.index("replace", "pinned"),  # re-created when the program registers it
        deployment.index("create-replacement", "pinned"),
    ]
    assert order == sorted(order)
    assert deployment.ops("reader") == ["update"]  # stdin does not replace: not deleted early
    deletes = command_calls(hooks, "delete")
    assert [script for script, _ in deletes] == ["delete-pinned", "delete-source"]
    assert deletes[0][1]["triggers"] == ["make-source#1"]  # the OLD inputs
    assert deletes[1][1]["environment"]["LEVEL"] == "1"
    assert [kind for kind, *_ in hooks.calls].index("run_command:delete") == 0  # deletes before creates
    assert engine.resource("pinned").plain_inputs()["triggers"] == ["make-source#2"]


def test_removed_resources_are_deleted_at_the_end_dependents_first() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands)
    hooks.calls.clear()

    deployment = up(engine, commands, dropAll="true")

    assert {s.op for s in deployment.steps} == {"delete"}
    assert [script for script, _ in command_calls(hooks, "delete")][-1] == "delete-source"
    assert engine.state == {}


def test_preview_runs_nothing_changes_no_state_and_shows_unknown_stdout() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands)
    calls, state = len(hooks.calls), {u: s.outputs for u, s in engine.state.items()}

    preview = up(engine, commands, level="2", preview=True)

    assert len(hooks.calls) == calls
    assert {u: s.outputs for u, s in engine.state.items()} == state
    assert preview.ops("source") == ["update"]
    # A changed Command's outputs are all unknown in preview, so dependents see unknowns.
    assert {"source", "reader", "pinned"} <= preview.unknown_outputs
    assert preview.ops("reader") == ["update"]
    assert preview.ops("pinned") == ["create-replacement", "replace", "delete-replaced"]
    assert up(engine, commands, level="2").changes() == preview.changes()


def test_destroy_deletes_everything_dependents_first_with_the_last_inputs() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, commands)
    up(engine, commands, level="2")
    hooks.calls.clear()

    deployment = engine.destroy()

    assert [s.op for s in deployment.steps] == ["delete"] * 3
    assert deployment.steps[-1].name == "source"
    deletes = command_calls(hooks, "delete")
    assert deletes[-1][1]["environment"] == {"LEVEL": "2", "PULUMI_COMMAND_STDOUT": "make-source#2"}
    assert engine.state == {}
    assert engine.destroy().steps == []


# ---- failure -------------------------------------------------------------------------


def chain() -> dict[str, Any]:
    cfg = pulumi.Config()
    first = command.local.Command("first", create="make-first", delete="delete-first")
    second = command.local.Command(
        "second",
        create="make-second",
        delete="delete-second",
        stdin=first.stdout,
        environment={"LEVEL": cfg.get("level") or "1"},
    )
    if cfg.get_bool("dropThird"):
        return {"second": second.stdout}
    third = command.local.Command("third", create="make-third", delete="delete-third", stdin=second.stdout)
    return {"third": third.stdout}


def test_a_failed_create_stops_the_update_and_leaves_the_state_consistent() -> None:
    hooks = RecordingHooks(failing={"make-second"})
    engine = Engine(hooks)

    failed = up(engine, chain)

    assert failed.error is not None and "make-second" in str(failed.error)
    assert failed.changes() == [("create", "first"), ("create", "second")]
    assert failed.steps[-1].failed
    assert [s.name for s in engine.state.values()] == ["first"]  # no state for the failed one

    hooks.failing.clear()
    fixed = up(engine, chain)
    assert fixed.error is None
    assert fixed.changes() == [("create", "second"), ("create", "third")]
    assert fixed.ops("first") == ["same"]


def test_a_failed_update_keeps_the_old_state_and_deletes_nothing() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, chain)
    hooks.failing.add("make-second")

    failed = up(engine, chain, level="2", dropThird="true")

    assert failed.error is not None
    assert failed.changes() == [("update", "second")]  # third's delete never runs
    second = engine.resource("second")
    assert second.plain_inputs()["environment"] == {"LEVEL": "1"}
    assert second.outputs["stdout"] == "make-second#1"
    assert {s.name for s in engine.state.values()} == {"first", "second", "third"}


# ---- kubernetes: provider and pod ----------------------------------------------------


def kubeconfig(server: str, identity: str = "t") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "kind-a",
            "contexts": [{"name": "kind-a", "context": {"cluster": "kind-a", "user": "kind-a"}}],
            "clusters": [{"name": "kind-a", "cluster": {"server": server}}],
            "users": [{"name": "kind-a", "user": {"token": identity}}],
        }
    )


KUBECONFIG_A, KUBECONFIG_B = kubeconfig("https://127.0.0.1:1111"), kubeconfig("https://127.0.0.1:2222")


def cluster() -> dict[str, Any]:
    cfg = pulumi.Config()
    source: pulumi.Input[str]
    if cfg.get_bool("fromCommand"):
        # the kubeconfig printed by a command whose other inputs may change
        source = command.local.Command(
            "kubeconfig", create="print-kubeconfig", environment={"WAIT": cfg.get("wait") or "5m"}
        ).stdout
    else:
        source = cfg.require("kubeconfig")
    provider = k8s.Provider("k8s", kubeconfig=source, cluster_identifier=cfg.get("clusterId"))
    metadata: Any = {"labels": {"tier": cfg.get("tier") or "a"}}
    if cfg.get_bool("skipAwait"):
        metadata["annotations"] = {"pulumi.com/skipAwait": "true"}
    if not cfg.get_bool("autoname"):
        metadata["name"] = "pod"
    container: dict[str, Any] = {
        "name": "test",
        "image": cfg.get("image") or "echoserver:2.3",
        "imagePullPolicy": cfg.get("imagePullPolicy") or "IfNotPresent",
        "volumeMounts": [{"name": "volume", "mountPath": cfg.get("mountPath") or "/volume"}],
    }
    volume: dict[str, Any] = {"name": "volume", "image": {"reference": cfg.get("reference") or "artifact:v1"}}
    spec: Any = {"containers": [container], "volumes": [volume]}
    pod = k8s.core.v1.Pod(
        "pod",
        metadata=metadata,
        spec=spec,
        opts=pulumi.ResourceOptions(provider=provider),
    )
    return {"uid": pod.metadata.apply(lambda m: m["uid"] if m else None), "name": pod.metadata["name"]}


def pod_calls(hooks: RecordingHooks, kind: str) -> list[dict[str, Any]]:
    return [details for call, type_, details in hooks.calls if call == kind and type_ == POD_TYPE]


REPLACED = ["create-replacement", "replace", "delete-replaced"]


@pytest.mark.parametrize(
    ("identifier", "provider_ops", "pod_ops"),
    [(None, REPLACED, REPLACED), ("cluster-1", ["update"], ["same"])],
)
def test_an_unknown_kubeconfig_in_preview_replaces_the_provider_only_without_identifier(
    identifier: str | None, provider_ops: list[str], pod_ops: list[str]
) -> None:
    hooks = RecordingHooks(stdout={"print-kubeconfig": KUBECONFIG_A})
    engine = Engine(hooks)
    config = {"fromCommand": "true"} | ({"clusterId": identifier} if identifier else {})
    up(engine, cluster, config=config)
    calls = len(hooks.calls)

    preview = up(engine, cluster, preview=True, wait="10m", config=config)

    assert len(hooks.calls) == calls
    assert preview.ops("kubeconfig") == ["update"]
    assert preview.ops("k8s") == provider_ops
    assert preview.ops("pod") == pod_ops
    assert ("uid" in preview.unknown_outputs) == (identifier is None)
    # The real update prints the same kubeconfig: nothing is replaced after all.
    assert up(engine, cluster, wait="10m", config=config).changes() == [("update", "kubeconfig")]


def test_a_changed_cluster_identifier_replaces_the_provider_and_the_pod() -> None:
    engine = Engine(RecordingHooks())
    up(engine, cluster, kubeconfig=KUBECONFIG_A, clusterId="one")
    same_cluster_elsewhere = up(engine, cluster, kubeconfig=KUBECONFIG_B, clusterId="one")
    assert same_cluster_elsewhere.changes() == [("update", "k8s")]

    deployment = up(engine, cluster, kubeconfig=KUBECONFIG_B, clusterId="two")

    assert deployment.ops("k8s")[0] == "create-replacement"
    assert deployment.ops("pod")[0] == "create-replacement"


def test_a_replaced_provider_replaces_the_pod_and_deletes_the_old_one_through_the_old_provider() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    first = up(engine, cluster, kubeconfig=KUBECONFIG_A, secret_keys=("kubeconfig",))
    # Same active cluster, other credentials: an update of the provider, nothing else.
    assert up(engine, cluster, kubeconfig=kubeconfig("https://127.0.0.1:1111", "t2")).changes() == [
        ("update", "k8s")
    ]
    hooks.calls.clear()

    deployment = up(engine, cluster, kubeconfig=KUBECONFIG_B)

    # Engine-driven (provider) replacement: create-before-delete, even for a fixed name.
    assert deployment.changes() == [
        ("create-replacement", "k8s"),
        ("replace", "k8s"),
        ("create-replacement", "pod"),
        ("replace", "pod"),
        ("delete-replaced", "pod"),
        ("delete-replaced", "k8s"),
    ]
    [created] = pod_calls(hooks, "create_object")
    [deleted] = pod_calls(hooks, "delete_object")
    assert "2222" in created["provider"]["kubeconfig"]
    assert "1111" in deleted["provider"]["kubeconfig"]  # the old provider's (updated) config
    assert deleted["provider"]["kubeconfig"].endswith("token: t2\n")
    assert deleted["outputs"]["metadata"]["uid"] == first.outputs["uid"]
    assert deployment.outputs["uid"] != first.outputs["uid"]


@pytest.mark.parametrize(("setting", "value", "replaced"), [
    ("image", "echoserver:2.4", True),
    ("reference", "artifact:v2", True),  # .spec.volumes
    ("mountPath", "/data", True),  # a container's volumeMounts
    ("imagePullPolicy", "Always", True),
    ("tier", "b", False),  # a label: update in place
])  # fmt: skip
def test_pod_fields_that_replace_and_provider_requested_delete_before_replace(
    setting: str, value: str, replaced: bool
) -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    up(engine, cluster, kubeconfig=KUBECONFIG_A)

    deployment = up(engine, cluster, config={"kubeconfig": KUBECONFIG_A, setting: value})

    if replaced:  # a fixed metadata.name: the provider asks for delete-before-replace
        assert deployment.changes() == [
            ("delete-replaced", "pod"),
            ("replace", "pod"),
            ("create-replacement", "pod"),
        ]
    else:
        assert deployment.changes() == [("update", "pod")]
        assert pod_calls(hooks, "update_object")[0]["inputs"]["metadata"]["labels"] == {"tier": "b"}


def test_an_autonamed_pod_is_replaced_create_before_delete_under_a_new_name() -> None:
    engine = Engine(RecordingHooks())
    first = up(engine, cluster, kubeconfig=KUBECONFIG_A, autoname="true")
    assert str(first.outputs["name"]).startswith("pod-")
    assert up(engine, cluster, kubeconfig=KUBECONFIG_A, autoname="true").changes() == []

    deployment = up(engine, cluster, kubeconfig=KUBECONFIG_A, autoname="true", image="echoserver:2.4")

    assert deployment.changes() == [
        ("create-replacement", "pod"),
        ("replace", "pod"),
        ("delete-replaced", "pod"),
    ]
    assert deployment.outputs["name"] != first.outputs["name"]


@pytest.mark.parametrize(("skip_await", "wait"), [(True, False), (False, True)])
def test_skip_await_also_skips_the_wait_on_delete(skip_await: bool, wait: bool) -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    config = {"kubeconfig": KUBECONFIG_A} | ({"skipAwait": "true"} if skip_await else {})
    up(engine, cluster, config=config)

    up(engine, cluster, image="echoserver:2.4", config=config)
    engine.destroy()

    assert [call["wait"] for call in pod_calls(hooks, "delete_object")] == [wait, wait]


# ---- Stash and replacement_trigger ---------------------------------------------------


def engine_options() -> dict[str, Any]:
    cfg = pulumi.Config()
    stash = pulumi.Stash(
        "stash",
        input=cfg.require("value"),
        opts=pulumi.ResourceOptions(replacement_trigger=cfg.get("stashGeneration")),
    )
    probe = command.local.Command(
        "probe",
        create="probe",
        delete="unprobe",
        opts=pulumi.ResourceOptions(
            replacement_trigger=cfg.get("generation"), additional_secret_outputs=["stdout"]
        ),
    )
    return {"first": stash.output, "latest": stash.input, "probe": probe.stdout}


def test_a_stash_keeps_its_first_value_until_it_is_replaced() -> None:
    engine = Engine(RecordingHooks())
    up(engine, engine_options, value="a", stashGeneration="1")

    later = up(engine, engine_options, value="b", stashGeneration="1")
    assert later.ops("stash") == ["update"]
    assert (later.outputs["first"], later.outputs["latest"]) == ("a", "b")

    replaced = up(engine, engine_options, value="c", stashGeneration="2")
    assert replaced.ops("stash")[0] == "create-replacement"
    assert (replaced.outputs["first"], replaced.outputs["latest"]) == ("c", "c")


def test_a_replacement_trigger_replaces_when_its_value_changes() -> None:
    hooks = RecordingHooks()
    engine = Engine(hooks)
    first = up(engine, engine_options, value="a")
    assert "probe" in first.secret_outputs  # additional_secret_outputs, applied by the engine
    # No trigger recorded before: setting one is not a change.
    assert up(engine, engine_options, value="a", generation="1").changes() == []

    bumped = up(engine, engine_options, value="a", generation="2")
    assert bumped.ops("probe") == ["create-replacement", "replace", "delete-replaced"]
    assert [script for script, _ in command_calls(hooks, "create")] == ["probe", "probe"]
    assert [script for script, _ in command_calls(hooks, "delete")] == ["unprobe"]
    assert up(engine, engine_options, value="a", generation="2").changes() == []

    preview = up(engine, engine_options, value="a", generation="3", preview=True)
    assert preview.ops("probe")[0] == "create-replacement" and "probe" in preview.unknown_outputs


class UnreadyPodHooks(RecordingHooks):
    """The pod is created but never becomes ready: the provider's partial failure."""

    def create_object(
        self, type_: str, provider_inputs: dict[str, Any], inputs: dict[str, Any], /
    ) -> dict[str, Any]:
        outputs = super().create_object(type_, provider_inputs, inputs)
        raise ResourceInitError("timed out waiting for the pod to be ready", outputs)


def test_a_pod_that_never_became_ready_stays_in_state_and_is_updated_next_time() -> None:
    hooks = UnreadyPodHooks()
    engine = Engine(hooks)

    failed = up(engine, cluster, kubeconfig=KUBECONFIG_A)

    assert failed.error is not None
    assert failed.steps[-1] == Step("create", engine.resource("pod").urn, POD_TYPE, "pod", failed=True)
    assert engine.resource("pod").init_errors == ["timed out waiting for the pod to be ready"]
    # Unchanged inputs, but init errors: an update (the provider awaits it again).
    again = up(engine, cluster, kubeconfig=KUBECONFIG_A)
    assert again.changes() == [("update", "pod")]
    assert again.error is None and engine.resource("pod").init_errors == []
