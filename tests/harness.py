"""Test harness: fake CLIs on a private PATH, and the Pulumi program under mocks
with every local.Command executed for real against those fakes."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from fakes.cli import ApiUnreachableError
from fakes.cli import FakeCli as FakeCli  # noqa: PLC0414 - re-exported: tests import it from here
from fakes.world import ApiError
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from components.settings import load_settings
from components.stack import deploy

ROOT = Path(__file__).resolve().parent.parent


class CommandFailedError(Exception):
    pass


def is_secret(value: object) -> bool:
    """Whether a mock-deserialized input value is a secret (wire form)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def reveal(value: Any) -> Any:
    """An input value with every secret wrapper removed."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def run_like_command_provider(
    cli: FakeCli, inputs: Mapping[str, Any], which: str = "create"
) -> tuple[str, str]:
    """Execute a local.Command's script the way pulumi-command does (run.go):
    interpreter (default /bin/sh -c), stdin when non-empty, the environment
    added to the process's, trailing newline trimmed; a failure's error holds
    the command and its combined output."""
    inputs = reveal(inputs)
    script = inputs[which]
    interpreter = list(inputs.get("interpreter") or ["/bin/sh", "-c"])
    result = subprocess.run(
        [*interpreter, script],
        input=inputs.get("stdin") or "",
        capture_output=True,
        text=True,
        env={**cli.env, **dict(inputs.get("environment") or {})},
        cwd=inputs.get("dir") or cli.root,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise CommandFailedError(
            f"exit status {result.returncode}: running {script!r}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout.removesuffix("\n"), result.stderr.removesuffix("\n")


def run_invoke(cli: FakeCli, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """`command:local:run`, as pulumi-command runs it (run.go, as for a Command's
    create): its stdout and stderr, trailing newline trimmed."""
    if token != "command:local:run":  # noqa: S105 - a function token, not a password
        raise NotImplementedError(f"no such invoke is modelled: {token}")
    stdout, stderr = run_like_command_provider(cli, {**args, "create": args["command"]})
    return {**reveal(dict(args)), "stdout": stdout, "stderr": stderr}


def logged_by_invoke(result: Mapping[str, Any]) -> list[str]:
    """What the engine prints of a `command:local:run`: its stdout and stderr,
    unless `logging` leaves them out (pulumi-command v1.2.1
    provider/pkg/provider/local/runController.go runs it with input.Logging;
    logging.go: unset logs both)."""
    logging = result.get("logging")
    streams = {
        None: ("stdout", "stderr"),
        "stdoutAndStderr": ("stdout", "stderr"),
        "stdout": ("stdout",),
        "stderr": ("stderr",),
        "none": (),
    }[logging]
    return [line for stream in streams for line in str(result.get(stream) or "").splitlines()]


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    provider: str
    inputs: dict[str, Any]
    delete_before_replace: bool
    additional_secret_outputs: list[str]
    dependencies: list[str]


STACK_TYPE = "pulumi:pulumi:Stack"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping the resource options it is sent, which
    MockResourceArgs leaves out (parent, delete-before-replace, secret outputs,
    dependencies)."""

    def __init__(self, mocks: pulumi.runtime.Mocks, project: str, stack: str) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.project = project
        self.stack = stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them (pulumi sdk/go/common/resource/urn.go
        NewURN): the parent's qualified type, then `$` and the type, except under
        the root stack. The SDK's mock keeps only the parent's last type and
        reads the project and stack from settings its registration threads do
        not see (`urn:pulumi:stack::project::...`)."""
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    provider=request.provider,
                    inputs=rpc.deserialize_properties(request.object),
                    delete_before_replace=request.deleteBeforeReplace,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    dependencies=list(request.dependencies),
                )
            )
        return response


class ProgramMocks(pulumi.runtime.Mocks):
    """Resources as their providers would answer; in update mode each
    local.Command runs for real against the fakes (in preview none runs)."""

    def __init__(self, cli: FakeCli | None, preview: bool) -> None:
        self.cli = cli
        self.preview = preview
        self.minted_uids: set[str] = set()
        self.console: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = reveal(dict(args.inputs))
        if args.typ == "pulumi:index:Stash":
            outputs["output"] = self.stashed(args.name, outputs["input"])
        if args.typ == "command:local:Command" and not self.preview:
            if self.cli is None:
                raise CommandFailedError("no fake CLI given for a command")
            outputs["stdout"], outputs["stderr"] = run_like_command_provider(self.cli, args.inputs)
        if args.typ == "kubernetes:core/v1:Pod" and not self.preview:
            uid = str(uuid.uuid4())  # the API server gives every pod a new uid
            self.minted_uids.add(uid)
            outputs["metadata"] = {**outputs["metadata"], "uid": uid}
            outputs["status"] = {"phase": "Running"}
            if self.cli is not None:
                self.cli.add_pod(outputs)
        # A resource about to be created has no id in a preview: the SDK reads ""
        # as unknown, and an invoke that depends on it does not run.
        return ("" if self.preview else f"{args.name}-id"), outputs

    def stashed(self, name: str, value: Any) -> Any:
        """A Stash keeps the first value it was given (pulumi builtins). The runs
        of one FakeCli stand for one stack state: its stashes live beside the
        fake world, as they would in the state."""
        if self.cli is None:
            return value
        path = self.cli.state / "pulumi-stash.json"
        stash = json.loads(path.read_text()) if path.exists() else {}
        if name not in stash and not self.preview:
            stash[name] = value
            path.write_text(json.dumps(stash))
        return stash.get(name, value)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        # An invoke runs in preview and update alike (pulumi-command local.run).
        if self.cli is None:
            return {}, []
        result = run_invoke(self.cli, args.token, dict(args.args))
        self.console.extend(logged_by_invoke(result))
        return result, []


@dataclass
class ProgramRun:
    registrations: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str] = field(default_factory=set)
    known_outputs: set[str] = field(default_factory=set)
    minted_uids: set[str] = field(default_factory=set)
    # What the engine would print of the program's invokes (logged_by_invoke).
    console: list[str] = field(default_factory=list)

    def comparable_inputs(self) -> dict[str, Any]:
        """Every resource's inputs by URN, secrets revealed, with the pod uids
        the mocks minted (a real second run keeps the same pod) as one token."""

        def neutral(value: Any) -> Any:
            if isinstance(value, str) and value in self.minted_uids:
                return "<pod uid>"
            if isinstance(value, dict):
                return {k: neutral(v) for k, v in value.items()}
            if isinstance(value, list):
                return [neutral(v) for v in value]
            return value

        # A Stash registered with ignore_changes=["input"] (the owner record)
        # diffs as unchanged whatever input a run mints.
        return {
            r.urn: {} if r.type == "pulumi:index:Stash" else neutral(reveal(r.inputs))
            for r in self.registrations
        }

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, got {[r.name for r in found]}"
        return found[0]


def wire_config(config: Mapping[str, object]) -> dict[str, str]:
    """Config values as the Pulumi CLI hands them to a program: strings, with
    lists and maps JSON-encoded."""
    wired = {}
    for key, value in config.items():
        if isinstance(value, str):
            wired[key] = value
        elif isinstance(value, bool):
            wired[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            wired[key] = str(value)
        else:
            wired[key] = json.dumps(value)
    return wired


def stack_file_config(stack: str) -> dict[str, str]:
    """The imagevolume: settings of a shipped Pulumi.<stack>.yaml, as wired config."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    prefix = "imagevolume:"
    values = {k[len(prefix) :]: v for k, v in (document.get("config") or {}).items() if k.startswith(prefix)}
    return wire_config(values)


def run_program(
    config: Mapping[str, str],
    *,
    stack: str = "dev",
    preview: bool = False,
    cli: FakeCli | None = None,
    secret_keys: tuple[str, ...] = (),
    foreign: Mapping[str, str] | None = None,
) -> ProgramRun:
    """Evaluate the stack's program (settings, components, outputs) under mocks.

    `secret_keys`: config keys to mark as set with `pulumi config set --secret`.
    `foreign`: config in other namespaces, by full key (kubernetes:context).
    """
    mocks = ProgramMocks(cli, preview)
    monitor = RecordingMonitor(mocks, "imagevolume", stack)
    pulumi.runtime.set_mocks(mocks, project="imagevolume", stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(
        {**{f"imagevolume:{k}": v for k, v in config.items()}, **(foreign or {})},
        [f"imagevolume:{k}" for k in secret_keys],
    )
    run = ProgramRun(
        registrations=monitor.registrations, outputs={}, minted_uids=mocks.minted_uids, console=mocks.console
    )
    unknown: set[str] = set()
    evaluate_program(lambda: deploy(load_settings()), run.outputs, run.secret_outputs, unknown)
    run.known_outputs = set(run.outputs) - unknown
    return run


def evaluate_program(
    program: Callable[[], Mapping[str, Any]],
    outputs: dict[str, Any],
    secret: set[str],
    unknown: set[str],
) -> None:
    """Run `program` under the mocks already set and collect its stack outputs
    into `outputs`, naming the secret and the unknown ones; raise what it raised."""

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def evaluate() -> pulumi.Output[Any]:
        exported = program()

        async def collect() -> None:
            for name, value in exported.items():
                output = pulumi.Output.from_input(value)
                outputs[name] = await output.future()
                if await output.is_secret():
                    secret.add(name)
                if not await output.is_known():
                    unknown.add(name)

        return pulumi.Output.from_input(asyncio.ensure_future(collect()))

    try:
        evaluate()
    finally:
        # A failed resource leaves its dependents' futures failed too: collect
        # them now (tests/conftest.py silences asyncio's "never retrieved").
        gc.collect()


def walk_strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from walk_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk_strings(item)


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1 (for a stack's registryPort)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_kubeconfig(
    folder: Path, contexts: tuple[str, ...] = ("prod", "other"), current: str = "other"
) -> str:
    """A user's kubeconfig with several contexts (each its own cluster and
    user), `current` the current-context; returns its path."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": f"{c}-cluster", "cluster": {"server": f"https://{c}.example:6443"}} for c in contexts
        ],
        "users": [{"name": f"{c}-user", "user": {"token": f"token-of-{c}"}} for c in contexts],
        "contexts": [
            {"name": c, "context": {"cluster": f"{c}-cluster", "user": f"{c}-user"}} for c in contexts
        ],
        "current-context": current,
    }
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return str(path)


class FakeWorldHooks:
    """The lifecycle model's side effects on the fake world: Commands run for
    real by /bin/sh against the fake CLIs; Kubernetes objects go to the fake
    API server that the provider's kubeconfig reaches."""

    def __init__(self, cli: FakeCli) -> None:
        self.cli = cli

    def run_command(self, inputs: dict[str, Any], which: str, /) -> tuple[str, str]:
        return run_like_command_provider(self.cli, inputs, which)

    def create_object(
        self, type_: str, provider_inputs: dict[str, Any], inputs: dict[str, Any], /
    ) -> dict[str, Any]:
        return self.cli.api(str(provider_inputs["kubeconfig"])).create(inputs)

    def update_object(
        self,
        type_: str,
        provider_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
        inputs: dict[str, Any],
        /,
    ) -> dict[str, Any]:
        # A patch of what may change in place (annotations, labels): the object
        # keeps its identity.
        metadata = {**old_outputs.get("metadata", {}), **inputs.get("metadata", {})}
        return {**old_outputs, **inputs, "metadata": metadata}

    def delete_object(
        self, type_: str, provider_inputs: dict[str, Any], outputs: dict[str, Any], wait: bool, /
    ) -> None:
        metadata = outputs["metadata"]
        kind = type_.rsplit(":", 1)[-1]
        try:
            api = self.cli.api(str(provider_inputs["kubeconfig"]))
        except ApiUnreachableError:
            # deleteUnreachable: the provider drops what an unreachable cluster held.
            if str(provider_inputs.get("deleteUnreachable")) == "true":
                return
            raise
        try:
            api.delete(kind, str(metadata.get("namespace") or "default"), str(metadata["name"]), wait)
        except ApiError as error:
            # pulumi-kubernetes provider.go Delete: an object already gone is deleted.
            if error.reason != "NotFound":
                raise

    def invoke(self, token: str, args: dict[str, Any], preview: bool, /) -> dict[str, Any]:
        return run_invoke(self.cli, token, args)


def secret_of(cli: FakeCli, cluster: str = "imagevolume-dev") -> str:
    """The credential in a fake cluster's kubeconfig: it must never show."""
    return str(cli.cluster(cluster).data["token"])
