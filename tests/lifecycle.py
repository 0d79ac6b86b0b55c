"""A lifecycle model of the Pulumi engine: the steps of a SEQUENCE of deployments
(up, change config, up, preview, destroy) for a Pulumi program run under
`pulumi.runtime.set_mocks`, with the side effects (commands, Kubernetes objects)
delegated to hooks.

The harness (tests/harness.py) models "create everything once". This module keeps
the engine's STATE across calls (URN -> inputs, outputs, id, options, dependencies,
provider reference) and decides, for every registration, the step the engine would
take. The rules were read from upstream at the versions docs/fidelity.md names; each rule
cites its file. Repositories: pulumi/pulumi (engine), pulumi/pulumi-command,
pulumi/pulumi-go-provider (the `infer` framework pulumi-command is built on),
pulumi/pulumi-kubernetes.

Modelled:
- Step kinds and their order: same, create, update, create-replacement + replace
  (create-before-delete, the old one deleted with the deletes at the END of the
  deployment), delete-replaced + replace + create-replacement (delete-before-replace,
  dependents that would be replaced deleted first, in reverse dependency order, and
  re-created when the program registers them), delete (removed resources, at the end,
  dependents first) -- pulumi `pkg/resource/deploy/step_generator.go`
  (`continueStepsFromDiff`, `GenerateDeletes`, `ScheduleDeletes`,
  `calculateDependentReplacements`).
- `same` returns the OLD outputs (a Command's stdout stays what it was) and records
  the new inputs and options.
- `replaceOnChanges` (any resource), `delete_before_replace` (overrides the provider),
  `replacement_trigger` (Pulumi 3.208+, sent as `RegisterResourceRequest.replacement_trigger`),
  `ignore_changes` (dict paths), `retain_on_delete`, `additional_secret_outputs`.
- A changed provider reference: the new provider's DiffConfig decides whether every
  resource on it is replaced (`step_generator.go` `providerChanged`).
- Type rules: `command:local:Command` (pulumi-command), `pulumi:providers:kubernetes`
  (DiffConfig), `kubernetes:*` objects (force-new fields, provider-requested DBR,
  autonaming, skipAwait on delete), `pulumi:index:Stash` (engine builtin), component
  resources (record only), and a generic rule for any other custom type (any input
  change updates; CRUD through the object hooks).
- Preview: the same step decisions, no hook runs, no state changes; outputs the
  provider would not know are returned to the program as unknowns.
- Failure: the first failed step stops the deployment; steps already done stay in
  state, a failed create leaves no state (unless the hook raises `ResourceInitError`,
  the provider's partial-failure answer), a failed update keeps the old state, no
  end-of-run delete runs, create-before-delete leftovers stay pending deletion and
  are deleted at the end of the next successful `up`.

Not modelled: refresh (`pulumi refresh`, `--refresh`, a provider's Read), imports and
`ReadResource`, aliases, `--target`/`--replace`/`--exclude`, protect errors,
parallelism (steps run one at a time in registration order; the real engine runs
independent steps concurrently and may have started independent steps before a
failure stops it), retries and resource hooks, custom timeouts, `deleted_with` and
`replace_with`, plans, policy packs, `--continue-on-error`, destroy with
`--run-program`, default providers' configuration (a resource without an explicit
provider gets empty provider inputs), a kubeconfig given as a file path (its text
is parsed as YAML), the Kubernetes API's own validation, and every Kubernetes kind's
own force-new list except Pod (other kinds replace on metadata name/namespace only).
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import yaml
from harness import RecordingMonitor, Registration, evaluate_program, is_secret, reveal
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

COMMAND = "command:local:Command"
STASH = "pulumi:index:Stash"
STACK = "pulumi:pulumi:Stack"
K8S_PROVIDER = "pulumi:providers:kubernetes"
PROVIDER_PREFIX = "pulumi:providers:"
UNKNOWN = rpc.UNKNOWN

PathKey = str | int
PropertyPath = tuple[PathKey, ...]


# --------------------------------------------------------------------------------------
# Hooks: the side effects of the providers.
# --------------------------------------------------------------------------------------


class Hooks(Protocol):
    """The side effects the model delegates. Every value is plain (wire form,
    camelCase keys, secrets revealed). A hook signals failure by raising."""

    def run_command(self, inputs: dict[str, Any], which: str, /) -> tuple[str, str]:
        """Run a `command:local:Command`'s `inputs[which]` script; which is "create",
        "update" or "delete" (for delete: the OLD state's inputs). `environment`
        already holds PULUMI_COMMAND_STDOUT/STDERR where pulumi-command adds them.
        Returns (stdout, stderr) with the trailing newline trimmed."""
        ...

    def create_object(
        self, type_: str, provider_inputs: dict[str, Any], inputs: dict[str, Any], /
    ) -> dict[str, Any]:
        """Create an object (e.g. a Pod through the kubernetes provider configured
        with `provider_inputs`); returns its outputs (e.g. with metadata.uid)."""
        ...

    def update_object(
        self,
        type_: str,
        provider_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
        inputs: dict[str, Any],
        /,
    ) -> dict[str, Any]:
        """Update an object in place; returns its new outputs."""
        ...

    def delete_object(
        self, type_: str, provider_inputs: dict[str, Any], outputs: dict[str, Any], wait: bool, /
    ) -> None:
        """Delete an object; `wait` is False when the provider would not wait for it
        to be gone (pulumi.com/skipAwait on a kind that allows it)."""
        ...

    def invoke(self, token: str, args: dict[str, Any], preview: bool, /) -> dict[str, Any]:
        """A provider function (e.g. `command:local:run`); runs in preview too."""
        ...


class ResourceInitError(Exception):
    """Raised by a create/update hook when the object exists but failed to become
    ready: the provider's partial failure (pulumi `ErrorResourceInitFailed`; e.g.
    pulumi-kubernetes' await timing out). The resource stays in state with these
    outputs and init errors; the next `up` updates it even without changes
    (`step_generator.go`: "unchanged, but there were initialization errors")."""

    def __init__(self, message: str, outputs: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.outputs = dict(outputs)


class UpdateCanceledError(Exception):
    """A registration that arrived after a step failed: the engine stops there."""


@dataclass
class RecordingHooks:
    """Hooks that only record. A command's stdout is `stdout[script]` if given, else
    `<script>#<n>` (n counts the runs of that script), so a test sees whether it ran
    again; scripts listed in `failing` raise; objects get a fresh metadata.uid."""

    failing: set[str] = field(default_factory=set)
    stdout: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)

    def run_command(self, inputs: dict[str, Any], which: str, /) -> tuple[str, str]:
        script = str(inputs[which])
        self.calls.append(("run_command:" + which, script, copy.deepcopy(inputs)))
        if script in self.failing:
            raise RuntimeError(f"exit status 1: running {script!r}:\n")
        self.runs[script] = self.runs.get(script, 0) + 1
        return self.stdout.get(script, f"{script}#{self.runs[script]}"), ""

    def create_object(
        self, type_: str, provider_inputs: dict[str, Any], inputs: dict[str, Any], /
    ) -> dict[str, Any]:
        self.calls.append(
            ("create_object", type_, copy.deepcopy({"provider": provider_inputs, "inputs": inputs}))
        )
        outputs = copy.deepcopy(inputs)
        metadata = outputs.get("metadata")
        if isinstance(metadata, dict):
            metadata["uid"] = str(uuid.uuid4())
        return outputs

    def update_object(
        self,
        type_: str,
        provider_inputs: dict[str, Any],
        old_outputs: dict[str, Any],
        inputs: dict[str, Any],
        /,
    ) -> dict[str, Any]:
        self.calls.append(
            ("update_object", type_, copy.deepcopy({"provider": provider_inputs, "inputs": inputs}))
        )
        outputs = copy.deepcopy(inputs)
        old_metadata = old_outputs.get("metadata")
        if (
            isinstance(outputs.get("metadata"), dict)
            and isinstance(old_metadata, dict)
            and "uid" in old_metadata
        ):
            outputs["metadata"]["uid"] = old_metadata["uid"]
        return outputs

    def delete_object(
        self, type_: str, provider_inputs: dict[str, Any], outputs: dict[str, Any], wait: bool, /
    ) -> None:
        self.calls.append(
            (
                "delete_object",
                type_,
                copy.deepcopy({"provider": provider_inputs, "outputs": outputs, "wait": wait}),
            )
        )

    def invoke(self, token: str, args: dict[str, Any], preview: bool, /) -> dict[str, Any]:
        self.calls.append(("invoke", token, copy.deepcopy(args)))
        return {}

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]


# --------------------------------------------------------------------------------------
# State, steps, deployments.
# --------------------------------------------------------------------------------------


@dataclass
class ResourceState:
    """One resource as the engine keeps it in the stack's state."""

    urn: str
    type: str
    name: str
    custom: bool
    id: str
    parent: str
    provider: str  # provider reference "<urn>::<id>", "" for none/default
    inputs: dict[str, Any]  # wire form: secret wrappers kept, unknowns as UNKNOWN
    outputs: dict[str, Any]  # plain
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    replace_on_changes: list[str]
    ignore_changes: list[str]
    delete_before_replace: bool | None
    replacement_trigger: Any
    additional_secret_outputs: list[str]
    retain_on_delete: bool
    init_errors: list[str] = field(default_factory=list)
    autonamed: bool = False

    @property
    def provider_urn(self) -> str:
        return split_provider_ref(self.provider)[0]

    def plain_inputs(self) -> dict[str, Any]:
        inputs: dict[str, Any] = plain(self.inputs)
        return inputs

    def edges(self) -> set[str]:
        """URNs this resource depends on (dependencies, property dependencies,
        provider); the parent is handled separately."""
        found = set(self.dependencies)
        for urns in self.property_dependencies.values():
            found.update(urns)
        if self.provider:
            found.add(self.provider_urn)
        return found


@dataclass(frozen=True)
class Step:
    op: str  # same | create | update | replace | create-replacement | delete-replaced | delete
    urn: str
    type: str
    name: str
    keys: tuple[str, ...] = ()  # the diff's replace (or changed) keys
    failed: bool = False


@dataclass
class Deployment:
    preview: bool
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    unknown_outputs: set[str] = field(default_factory=set)
    error: BaseException | None = None
    registrations: list[Registration] = field(default_factory=list)

    def ops(self, name: str) -> list[str]:
        """The ops of every step on resources named `name` (logical name)."""
        return [s.op for s in self.steps if s.name == name]

    def changes(self) -> list[tuple[str, str]]:
        """(op, name) of every step that is not `same`, in order."""
        return [(s.op, s.name) for s in self.steps if s.op != "same"]

    def index(self, op: str, name: str) -> int:
        for i, step in enumerate(self.steps):
            if step.op == op and step.name == name:
                return i
        raise ValueError(f"no {op} step for {name}: {self.changes()}")


@dataclass
class DiffResult:
    changed: list[PropertyPath]  # detailed diff paths
    replace_keys: list[str]
    delete_before_replace: bool = False

    @property
    def changes(self) -> bool:
        return bool(self.changed)


# --------------------------------------------------------------------------------------
# Property values and paths.
# --------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A wire value with secrets revealed and unknowns as the UNKNOWN sentinel."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def normalize_wire(value: Any) -> Any:
    """A wire value as stored: unknowns as the UNKNOWN sentinel, secrets kept."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: normalize_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_wire(v) for v in value]
    return value


def has_unknown(value: Any) -> bool:
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_unknown(v) for v in value)
    return False


def contains_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def parse_path(text: str) -> PropertyPath:
    """A property path as `resource.ParsePropertyPath` reads it: `a.b[0]["x.y"][*]`."""
    elements: list[PathKey] = []
    i, token = 0, ""
    while i < len(text):
        char = text[i]
        if char == ".":
            if token:
                elements.append(token)
            token = ""
        elif char == "[":
            if token:
                elements.append(token)
            token = ""
            end = text.index("]", i)
            inner = text[i + 1 : end]
            if inner.startswith('"') and inner.endswith('"'):
                elements.append(inner[1:-1])
            elif inner == "*":
                elements.append("*")
            else:
                elements.append(int(inner))
            i = end
        else:
            token += char
        i += 1
    if token:
        elements.append(token)
    return tuple(elements)


def path_contains(pattern: PropertyPath, other: PropertyPath) -> bool:
    """`PropertyPath.Contains` (pulumi sdk/go/common/resource/properties_path.go):
    `other` is at `pattern` or below it; "*" matches any key or index."""
    if len(other) < len(pattern):
        return False
    return all(p in ("*", o) for p, o in zip(pattern, other, strict=False))


def path_text(path: PropertyPath) -> str:
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        elif any(c in element for c in '."[]'):
            text += f'["{element}"]'
        else:
            text += f".{element}" if text else element
    return text


def diff_paths(old: Any, new: Any, prefix: PropertyPath = ()) -> list[PropertyPath]:
    """The detailed diff of two plain values (the engine's object diff): the paths of
    every added, deleted or updated leaf; an unknown new value is always a change."""
    if isinstance(new, str) and new == UNKNOWN:
        return [prefix]
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[PropertyPath] = []
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new or new[key] is None:
                if old.get(key) is not None:
                    found.append((*prefix, key))
            elif key not in old or old[key] is None:
                found.append((*prefix, key))
            else:
                found.extend(diff_paths(old[key], new[key], (*prefix, key)))
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            if index >= len(old) or index >= len(new):
                found.append((*prefix, index))
            else:
                found.extend(diff_paths(old[index], new[index], (*prefix, index)))
        return found
    return [] if old == new else [prefix]


def values_at(value: Any, path: PropertyPath) -> list[Any]:
    """Every value under `path` ("*" over all list elements / keys)."""
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*":
        children = (
            value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        )
        return [found for child in children for found in values_at(child, rest)]
    if isinstance(head, int):
        return values_at(value[head], rest) if isinstance(value, list) and head < len(value) else []
    return values_at(value[head], rest) if isinstance(value, dict) and head in value else []


def _value_to_python(value: Any) -> Any:
    """A google.protobuf.Value (e.g. RegisterResourceRequest.replacement_trigger) as
    a Python value, in wire form (secret wrappers and UNKNOWN kept)."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _value_to_python(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value_to_python(v) for v in value.list_value.values]
    if kind in (None, "null_value"):
        return None
    return getattr(value, kind)


def split_provider_ref(ref: str) -> tuple[str, str]:
    """A provider reference `<urn>::<id>` (the SDK builds it in `_create_provider_ref`)."""
    if not ref:
        return "", ""
    urn, _, id_ = ref.rpartition("::")
    return urn, id_


def should_trigger_replace(new: Any, old: Any) -> bool:
    """pulumi `pkg/resource/deploy/step_generator.go` `shouldTriggerReplace`: unknowns
    always trigger; a missing trigger on either side never does; else inequality
    (secretness ignored)."""
    new, old = plain(new), plain(old)
    if has_unknown(new) or has_unknown(old):
        return True
    if new is None or old is None:
        return False
    return bool(new != old)


def without_nulls(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as the engine keeps them: null properties are dropped."""
    return {k: v for k, v in inputs.items() if v is not None}


# --------------------------------------------------------------------------------------
# Type rules (the providers' Diff, and what their Create/Update answer in preview).
# --------------------------------------------------------------------------------------

# pulumi-kubernetes provider/pkg/provider/diff.go: `metadataForceNewProperties`,
# the Pod entry of `forceNew`, and `containerForceNewProperties`.
_K8S_METADATA_FORCE_NEW = (".metadata.name", ".metadata.namespace")
_POD_SPEC_FORCE_NEW = tuple(
    ".spec." + f
    for f in [
        "affinity",
        "automountServiceAccountToken",
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "hostAliases",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "hostname",
        "imagePullSecrets",
        "nodeName",
        "nodeSelector",
        "overhead",
        "preemptionPolicy",
        "priority",
        "priorityClassName",
        "readinessGates",
        "restartPolicy",
        "runtimeClassName",
        "schedulerName",
        "securityContext",
        "serviceAccount",
        "serviceAccountName",
        "shareProcessNamespace",
        "subdomain",
        "terminationGracePeriodSeconds",
        "volumes",
    ]
)
_CONTAINER_FORCE_NEW = [
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
]
_POD_FORCE_NEW = (
    _K8S_METADATA_FORCE_NEW
    + _POD_SPEC_FORCE_NEW
    + tuple(
        f"{prefix}[*].{f}"
        for prefix in (".spec.containers", ".spec.initContainers")
        for f in _CONTAINER_FORCE_NEW
    )
)
# pulumi-kubernetes provider/pkg/metadata/overrides.go `allowsSkipAwaitWithDelete`:
# the kinds whose delete skipAwait also skips waiting.
_SKIP_AWAIT_DELETE_KINDS = {
    "core/v1:Namespace",
    "core/v1:Pod",
    "core/v1:ReplicationController",
    "apps/v1:DaemonSet",
    "apps/v1beta1:DaemonSet",
    "apps/v1beta2:DaemonSet",
    "apps/v1:Deployment",
    "apps/v1beta1:Deployment",
    "apps/v1beta2:Deployment",
    "apps/v1:StatefulSet",
    "apps/v1beta1:StatefulSet",
    "apps/v1beta2:StatefulSet",
    "batch/v1:Job",
}
# pulumi `pkg/resource/deploy/providers` `FilterProviderConfig`: internal keys are not config.
_PROVIDER_INTERNAL_KEYS = {"version", "pluginDownloadURL", "pluginChecksums", "parameterization", "name"}


def is_kubernetes_object(type_: str) -> bool:
    return type_.startswith("kubernetes:") and not type_.startswith(PROVIDER_PREFIX)


def _k8s_kind(type_: str) -> str:
    return type_.removeprefix("kubernetes:")


def _k8s_force_new(type_: str) -> tuple[str, ...]:
    if _k8s_kind(type_) == "core/v1:Pod":
        return _POD_FORCE_NEW
    return _K8S_METADATA_FORCE_NEW


def _k8s_replaces(
    type_: str, old: dict[str, Any], new: dict[str, Any], changed: list[PropertyPath]
) -> list[str]:
    """pulumi-kubernetes provider.go `convertPatchToDiff` + openapi `PatchPropertiesChanged`:
    a change at path P replaces when a force-new field F is at or above P, or when P is
    above F and the new (or deleted old) value holds F's rest. An unknown at or above F
    is taken as a replace (conservative: it may change F)."""
    replaces: list[str] = []
    for path in changed:
        for force in _k8s_force_new(type_):
            pattern = parse_path(force)
            hit = path_contains(pattern, path)
            if not hit and path_contains(path, pattern[: len(path)]) and len(path) < len(pattern):
                rest = pattern[len(path) :]
                new_values, old_values = values_at(new, path), values_at(old, path)
                hit = any(has_unknown(v) for v in new_values) or any(
                    values_at(v, rest) for v in new_values + old_values
                )
            if hit:
                replaces.append(path_text(path))
                break
    return replaces


def _canonical_namespace(value: Any) -> Any:
    return value or "default"


def _diff_kubernetes_object(
    type_: str, old: dict[str, Any], new: dict[str, Any], old_state: ResourceState | None, new_autonamed: bool
) -> DiffResult:
    changed = diff_paths(old, new)
    replaces = _k8s_replaces(type_, old, new, changed)
    old_meta = old.get("metadata") if isinstance(old.get("metadata"), dict) else {}
    new_meta = new.get("metadata") if isinstance(new.get("metadata"), dict) else {}
    assert isinstance(old_meta, dict) and isinstance(new_meta, dict)
    # pulumi-kubernetes provider.go Diff: delete-before-replace when the object must be
    # replaced, is named by the user (not autonamed), keeps its name and namespace.
    dbr = (
        bool(replaces)
        and not new_autonamed
        and new_meta.get("name") == old_meta.get("name")
        and _canonical_namespace(new_meta.get("namespace")) == _canonical_namespace(old_meta.get("namespace"))
    )
    return DiffResult(changed, replaces, dbr)


def _active_cluster(inputs: Mapping[str, Any]) -> tuple[Any, bool]:
    """pulumi-kubernetes provider/pkg/provider/util.go `getActiveClusterFromConfig`:
    the cluster entry of the current context (or of the `context`/`cluster` overrides)."""
    text = inputs.get("kubeconfig")
    try:
        config = yaml.safe_load(text) if isinstance(text, str) else text
    except yaml.YAMLError:
        return None, False
    if not isinstance(config, dict) or not config.get("clusters"):
        return None, False
    context_name = inputs.get("context") or config.get("current-context")
    contexts = {
        c.get("name"): c.get("context") or {} for c in config.get("contexts") or [] if isinstance(c, dict)
    }
    clusters = {c.get("name"): c.get("cluster") for c in config.get("clusters") or [] if isinstance(c, dict)}
    if context_name not in contexts:
        return None, False
    cluster_name = inputs.get("cluster") or contexts[context_name].get("cluster")
    cluster = clusters.get(cluster_name)
    return (cluster, True) if cluster is not None else (None, False)


def diff_kubernetes_provider_config(old: Mapping[str, Any], new: Mapping[str, Any]) -> DiffResult:
    """pulumi-kubernetes provider/pkg/provider/provider.go `DiffConfig`."""
    olds = {k: v for k, v in old.items() if k not in _PROVIDER_INTERNAL_KEYS and v is not None}
    news = {k: v for k, v in new.items() if k not in _PROVIDER_INTERNAL_KEYS and v is not None}
    changed = diff_paths(olds, news)
    if not changed:
        return DiffResult([], [])
    changed_keys = sorted({str(p[0]) for p in changed if p})
    identifier = "clusterIdentifier"
    replaces: list[str] = []
    # Replaced when the identifier is updated (not when added or removed) ...
    if identifier in olds and identifier in news and olds[identifier] != news[identifier]:
        replaces.append(identifier)
    # ... and never otherwise while it stays the same (the deferred `resp.Replaces = nil`).
    suppressed = identifier in olds and identifier in news and olds[identifier] == news[identifier]
    unknown = [k for k in ("kubeconfig", "context", "cluster") if has_unknown(news.get(k))]
    if unknown:
        # An unknown kubeconfig/context/cluster may point anywhere: replace.
        replaces.append(unknown[0])
    else:
        old_cluster, old_found = _active_cluster(olds)
        new_cluster, new_found = _active_cluster(news)
        if old_found and new_found and old_cluster != new_cluster:
            replaces.extend(k for k in ("kubeconfig", "context", "cluster") if k in changed_keys)
        if "renderYamlToDirectory" in changed_keys:
            replaces.append("renderYamlToDirectory")
    return DiffResult(changed, [] if suppressed else replaces)


def diff_provider_config(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> DiffResult:
    if type_ == K8S_PROVIDER:
        return diff_kubernetes_provider_config(old, new)
    # Other providers: any config change is an in-place update of the provider.
    olds = {k: v for k, v in old.items() if k not in _PROVIDER_INTERNAL_KEYS}
    news = {k: v for k, v in new.items() if k not in _PROVIDER_INTERNAL_KEYS}
    return DiffResult(diff_paths(olds, news), [])


def diff_by_type(
    type_: str,
    old: dict[str, Any],
    new: dict[str, Any],
    old_state: ResourceState | None,
    new_autonamed: bool = False,
) -> DiffResult:
    """The provider's Diff for a custom resource, on plain inputs (unknowns allowed)."""
    if type_.startswith(PROVIDER_PREFIX):
        return diff_provider_config(type_, old, new)
    if type_ == COMMAND:
        # pulumi-command provider/pkg/provider/common/inputs.go: `triggers` carries
        # `provider:"replaceOnChanges"`; every other input change is an update
        # (go-provider infer/resource.go diff).
        changed = diff_paths(old, new)
        return DiffResult(changed, sorted({"triggers" for p in changed if p and p[0] == "triggers"}))
    if type_ == STASH:
        # pulumi pkg/resource/deploy/builtins.go Diff: a changed `input` is an update.
        return DiffResult(diff_paths({"input": old.get("input")}, {"input": new.get("input")}), [])
    if is_kubernetes_object(type_):
        return _diff_kubernetes_object(type_, old, new, old_state, new_autonamed)
    return DiffResult(diff_paths(old, new), [])


def apply_replace_on_changes(diff: DiffResult, replace_on_changes: Sequence[str]) -> DiffResult:
    """pulumi step_generator.go `applyReplaceOnChanges`: a changed path under a
    replaceOnChanges path becomes a replace."""
    patterns = [parse_path(p) for p in replace_on_changes]
    extra = [path_text(path) for path in diff.changed if any(path_contains(p, path) for p in patterns)]
    top = {str(path[0]) for path in diff.changed if path}
    extra += [key for key in top if any(path_contains(p, (key,)) for p in patterns)]
    keys = list(dict.fromkeys([*diff.replace_keys, *extra]))
    return DiffResult(diff.changed, keys, diff.delete_before_replace)


# --------------------------------------------------------------------------------------
# The engine.
# --------------------------------------------------------------------------------------


@dataclass
class _Goal:
    """A registration as the engine receives it (RegisterResourceRequest)."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    replace_on_changes: list[str]
    ignore_changes: list[str]
    delete_before_replace: bool | None
    replacement_trigger: Any
    additional_secret_outputs: list[str]
    retain_on_delete: bool

    def state(self, id_: str, outputs: dict[str, Any], autonamed: bool = False) -> ResourceState:
        return ResourceState(
            urn=self.urn,
            type=self.type,
            name=self.name,
            custom=self.custom,
            id=id_,
            parent=self.parent,
            provider=self.provider,
            inputs=copy.deepcopy(self.inputs),
            outputs=copy.deepcopy(outputs),
            dependencies=list(self.dependencies),
            property_dependencies={k: list(v) for k, v in self.property_dependencies.items()},
            replace_on_changes=list(self.replace_on_changes),
            ignore_changes=list(self.ignore_changes),
            delete_before_replace=self.delete_before_replace,
            replacement_trigger=copy.deepcopy(self.replacement_trigger),
            additional_secret_outputs=list(self.additional_secret_outputs),
            retain_on_delete=self.retain_on_delete,
            autonamed=autonamed,
        )


@dataclass
class _Run:
    """One deployment in progress."""

    preview: bool
    deployment: Deployment
    olds: dict[str, ResourceState]  # the state at the start, in state order
    pending: list[ResourceState]  # old states to delete at the end (delete-replaced)
    news: dict[str, ResourceState] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)  # URNs the program registered
    deleted: set[str] = field(default_factory=set)  # deleted by a delete-before-replace chain
    # provider reference -> the provider's current config (a provider updated in place
    # keeps its reference; deletes use the configuration behind their reference).
    provider_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: BaseException | None = None
    replace_targets: set[str] = field(default_factory=set)  # `pulumi up --replace URN`
    request: Any = None  # the RegisterResourceRequest being handled
    urn: str = ""  # its URN

    def step(self, op: str, state: ResourceState | _Goal, keys: Iterable[str] = ()) -> None:
        self.deployment.steps.append(Step(op, state.urn, state.type, state.name, tuple(keys)))

    def fail_last(self) -> None:
        last = self.deployment.steps[-1]
        self.deployment.steps[-1] = Step(last.op, last.urn, last.type, last.name, last.keys, failed=True)


class Engine:
    """The engine's steps over a sequence of deployments of one stack.

    `up` runs a program under mocks and applies the step rules against the state
    kept from earlier calls; `destroy` deletes everything. See the module docstring
    for what is and is not modelled."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self._state: dict[str, ResourceState] = {}
        self._pending: list[ResourceState] = []
        self._lock = threading.Lock()
        self._run: _Run | None = None

    # ---- public API ---------------------------------------------------------------

    @property
    def state(self) -> Mapping[str, ResourceState]:
        """URN -> the resource's state after the last non-preview deployment."""
        return dict(self._state)

    @property
    def pending_deletes(self) -> list[ResourceState]:
        """Old states replaced create-before-delete whose delete has not run yet."""
        return list(self._pending)

    def resource(self, name: str) -> ResourceState:
        found = [s for s in self._state.values() if s.name == name]
        assert len(found) == 1, f"expected one resource named {name}, got {[s.urn for s in found]}"
        return found[0]

    def up(
        self,
        program: Callable[[], Mapping[str, Any]],
        *,
        project: str,
        stack: str,
        config: Mapping[str, str],
        secret_keys: Iterable[str] = (),
        preview: bool = False,
        replace: Iterable[str] = (),
    ) -> Deployment:
        """`pulumi up` (or `pulumi preview` with preview=True) of `program`.
        Config keys without a namespace get the project's. `replace`: the URNs
        given as `--replace`."""
        deployment = Deployment(preview=preview)
        run = self._new_run(deployment, preview)
        run.replace_targets = set(replace)
        self._run = run
        mocks = _EngineMocks(self)
        monitor = _EngineMonitor(mocks, self, project, stack)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)

        def key(name: str) -> str:
            return name if ":" in name else f"{project}:{name}"

        pulumi.runtime.set_all_config({key(k): v for k, v in config.items()}, [key(k) for k in secret_keys])

        try:
            evaluate_program(
                program, deployment.outputs, deployment.secret_outputs, deployment.unknown_outputs
            )
        except Exception as exc:  # the program (or a step) failed
            if run.error is None:
                run.error = exc
        finally:
            self._run = None
        deployment.registrations = list(monitor.registrations)
        if run.error is None:
            self._end_of_update_deletes(run)
        # The traceback would keep the SDK's failed futures alive past the silenced
        # collection above; the message is what a test reads.
        deployment.error = run.error.with_traceback(None) if run.error is not None else None
        if not preview:
            self._commit(run)
        return deployment

    def _new_run(self, deployment: Deployment, preview: bool) -> _Run:
        """A run over a copy of the state; providers' configs as recorded."""
        run = _Run(
            preview=preview,
            deployment=deployment,
            olds=copy.deepcopy(self._state),
            pending=copy.deepcopy(self._pending),
        )
        for state in [*run.olds.values(), *run.pending]:
            if state.type.startswith(PROVIDER_PREFIX):
                run.provider_configs.setdefault(f"{state.urn}::{state.id}", state.plain_inputs())
        return run

    def destroy(self, *, preview: bool = False) -> Deployment:
        """`pulumi destroy`: delete every resource (and pending delete), dependents
        first, with the inputs and outputs kept in state; the program is not run."""
        deployment = Deployment(preview=preview)
        run = self._new_run(deployment, preview)
        self._run_deletes(
            run, [("delete-replaced", s) for s in run.pending] + [("delete", s) for s in run.olds.values()]
        )
        deployment.error = run.error
        if not preview:
            self._state = {u: s for u, s in run.olds.items() if u not in run.deleted}
            self._pending = run.pending
        return deployment

    # ---- registration ---------------------------------------------------------------

    def _goal(self, request: Any, urn: str) -> _Goal:
        trigger = None
        if request.HasField("replacement_trigger"):
            trigger = _value_to_python(request.replacement_trigger)
        return _Goal(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            custom=bool(request.custom),
            provider=request.provider,
            inputs=without_nulls(
                normalize_wire(rpc.deserialize_properties(request.object, keep_unknowns=True))
            ),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            replace_on_changes=list(request.replaceOnChanges),
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            replacement_trigger=trigger,
            additional_secret_outputs=list(request.additionalSecretOutputs),
            retain_on_delete=bool(request.retainOnDelete),
        )

    def _register(self, args: pulumi_mocks.MockResourceArgs, urn: str) -> tuple[str, dict[str, Any]]:
        run = self._run
        assert run is not None and run.request is not None, "a registration outside a deployment"
        if run.error is not None:
            raise UpdateCanceledError(f"update canceled after an earlier failure: {run.error}")
        goal = self._goal(run.request, urn)
        run.registered.add(urn)
        try:
            state = self._generate_and_execute(run, goal)
        except Exception as exc:
            if run.error is None:
                run.error = exc
            raise
        return (state.id, self._program_outputs(state))

    def _apply_ignore_changes(self, goal: _Goal, old: ResourceState) -> None:
        """step_generator.go `processIgnoreChanges` (dict paths only)."""
        for text in goal.ignore_changes:
            path = parse_path(text)
            old_values = values_at(old.inputs, path)
            target: Any = goal.inputs
            for element in path[:-1]:
                target = target.setdefault(element, {}) if isinstance(target, dict) else None
            if isinstance(target, dict):
                if old_values:
                    target[path[-1]] = copy.deepcopy(old_values[0])
                else:
                    target.pop(path[-1], None)

    def _autoname(self, goal: _Goal, old: ResourceState | None) -> bool:
        """pulumi-kubernetes Check: an object without metadata.name gets
        `<name>-<random>`, kept from the old state while it is not replaced."""
        if not is_kubernetes_object(goal.type):
            return False
        metadata = goal.inputs.setdefault("metadata", {})
        if not isinstance(metadata, dict) or metadata.get("name"):
            return False
        if old is not None and old.autonamed:
            metadata["name"] = old.plain_inputs()["metadata"]["name"]
        else:
            metadata["name"] = f"{goal.name}-{uuid.uuid4().hex[:8]}"
        return True

    def _generate_and_execute(self, run: _Run, goal: _Goal) -> ResourceState:
        old = run.olds.get(goal.urn)
        if old is not None:
            self._apply_ignore_changes(goal, old)
        autonamed = self._autoname(goal, old)

        # Case 1: deleted earlier in this deployment by a delete-before-replace chain:
        # now it is re-created (step_generator.go generateSteps, "recreating").
        if goal.urn in run.deleted:
            assert old is not None
            run.deleted.discard(goal.urn)
            run.step("replace", goal)
            return self._create(
                run, goal, "create-replacement", old, autonamed=self._autoname_fresh(goal, autonamed)
            )

        if old is None:
            return self._create(run, goal, "create", None, autonamed=autonamed)

        # Case 3: an old state exists: diff.
        # step_generator.go generateStepsFromDiff: unknown trigger only in preview.
        if not run.preview and has_unknown(goal.replacement_trigger):
            raise RuntimeError(f"replacement trigger contains unknowns for {goal.urn}")
        # A changed replacement trigger, or `--replace URN`, replaces whatever the
        # diff says (step_generator.go generateStepsFromDiff, sg.isTargetedReplace).
        forced = (
            "replacementTrigger"
            if should_trigger_replace(goal.replacement_trigger, old.replacement_trigger)
            else "--replace"
            if goal.urn in run.replace_targets
            else None
        )
        if forced is not None:
            return self._replace(run, goal, old, DiffResult([()], [forced]), autonamed)
        diff = self._diff(run, goal, old, autonamed)
        if diff.replace_keys:
            return self._replace(run, goal, old, diff, autonamed)
        if diff.changes or old.init_errors:
            return self._update(run, goal, old, diff)
        run.step("same", goal)
        state = goal.state(old.id, old.outputs, autonamed=autonamed)
        state.init_errors = []
        run.news[goal.urn] = state
        return state

    def _autoname_fresh(self, goal: _Goal, autonamed: bool) -> bool:
        """A replacement is checked without the old inputs: a fresh autoname."""
        if autonamed:
            goal.inputs["metadata"]["name"] = f"{goal.name}-{uuid.uuid4().hex[:8]}"
        return autonamed

    def _diff(self, run: _Run, goal: _Goal, old: ResourceState, autonamed: bool) -> DiffResult:
        if not goal.custom:
            # step_generator.go diff: a component with changed inputs is an update.
            return DiffResult(diff_paths(old.plain_inputs(), plain(goal.inputs)), [])
        # step_generator.go diff/providerChanged: a changed provider reference is a
        # replace when the NEW provider's DiffConfig says the config needs one.
        if old.provider != goal.provider:
            if not old.provider or not goal.provider:
                return DiffResult([("provider",)], ["provider"])
            old_config = run.provider_configs.get(old.provider)
            if old_config is None:
                old_urn = split_provider_ref(old.provider)[0]
                old_config = run.olds[old_urn].plain_inputs() if old_urn in run.olds else {}
            new_urn = split_provider_ref(goal.provider)[0]
            new_provider = run.news.get(new_urn)
            new_config = new_provider.plain_inputs() if new_provider else {}
            provider_type = new_provider.type if new_provider else ""
            if diff_provider_config(provider_type, old_config, new_config).replace_keys:
                return DiffResult([("provider",)], ["provider"])
        diff = diff_by_type(goal.type, old.plain_inputs(), plain(goal.inputs), old, autonamed)
        return apply_replace_on_changes(diff, goal.replace_on_changes)

    # ---- steps ----------------------------------------------------------------------

    def _create(
        self, run: _Run, goal: _Goal, op: str, old: ResourceState | None, *, autonamed: bool
    ) -> ResourceState:
        run.step(op, goal)
        try:
            id_, outputs = self._provider_create(run, goal)
        except ResourceInitError as exc:
            state = goal.state(self._new_id(goal, exc.outputs), exc.outputs, autonamed=autonamed)
            state.init_errors = [str(exc)]
            run.news[goal.urn] = state
            run.fail_last()
            raise
        except Exception:
            run.fail_last()
            raise
        state = goal.state(id_, outputs, autonamed=autonamed)
        run.news[goal.urn] = state
        if goal.type.startswith(PROVIDER_PREFIX) and id_:
            run.provider_configs[f"{goal.urn}::{id_}"] = plain(goal.inputs)
        return state

    def _update(self, run: _Run, goal: _Goal, old: ResourceState, diff: DiffResult) -> ResourceState:
        run.step("update", goal, sorted({path_text(p[:1]) for p in diff.changed if p}))
        try:
            outputs = self._provider_update(run, goal, old)
        except ResourceInitError as exc:
            state = goal.state(old.id, exc.outputs, autonamed=old.autonamed)
            state.init_errors = [str(exc)]
            run.news[goal.urn] = state
            run.fail_last()
            raise
        except Exception:
            run.fail_last()
            raise  # the old state stays
        state = goal.state(old.id, outputs, autonamed=old.autonamed)
        run.news[goal.urn] = state
        if goal.type.startswith(PROVIDER_PREFIX):
            # pulumi pkg/resource/deploy/providers/registry.go Update: the same reference
            # is re-configured with the new inputs (later deletes through it use them).
            run.provider_configs[f"{goal.urn}::{old.id}"] = plain(goal.inputs)
        return state

    def _replace(
        self, run: _Run, goal: _Goal, old: ResourceState, diff: DiffResult, autonamed: bool
    ) -> ResourceState:
        """step_generator.go continueStepsFromDiff, the replacement branch."""
        autonamed = self._autoname_fresh(goal, autonamed)
        dbr = diff.delete_before_replace
        if goal.delete_before_replace is not None:  # the user's option overrides the provider
            dbr = goal.delete_before_replace
        if not dbr:
            # Create-before-delete: create the new one now; the old one is deleted with
            # the deletes at the end ("the delete step is generated later on").
            state = self._create(run, goal, "create-replacement", old, autonamed=autonamed)
            run.step("replace", goal, diff.replace_keys)
            run.pending.append(old)
            return state
        # Delete-before-replace: first delete the dependents that would be replaced
        # (calculateDependentReplacements), in reverse dependency order, then the
        # resource itself, then create it.
        for dependent in reversed(self._dependent_replacements(run, old)):
            if dependent.urn in run.deleted:
                continue
            run.step("delete-replaced", dependent)
            try:
                self._delete(run, dependent)
            except Exception:
                run.fail_last()
                raise
            run.deleted.add(dependent.urn)
        run.step("delete-replaced", old)
        try:
            self._delete(run, old)
        except Exception:
            run.fail_last()
            raise
        run.deleted.add(old.urn)  # gone from state unless the create below succeeds
        run.step("replace", goal, diff.replace_keys)
        return self._create(run, goal, "create-replacement", None, autonamed=autonamed)

    def _dependent_replacements(self, run: _Run, root: ResourceState) -> list[ResourceState]:
        """pulumi step_generator.go `calculateDependentReplacements`: walk the OLD
        state's transitive dependents of `root` (not those the program registered
        already), in dependency order; one is replaced when its provider is in the
        replace set, or when its diff with the properties that depend on the replace
        set made unknown (propertyDependencies) says replace (its recorded
        replaceOnChanges applied)."""
        replace_set = {root.urn}
        reached = {root.urn}
        found: list[ResourceState] = []
        for candidate in run.olds.values():
            if candidate.urn in reached or candidate.urn in run.registered:
                continue
            if not (candidate.edges() & reached):
                continue
            reached.add(candidate.urn)
            if self._requires_replacement(candidate, replace_set):
                replace_set.add(candidate.urn)
                found.append(candidate)
        return found

    def _requires_replacement(self, resource: ResourceState, replace_set: set[str]) -> bool:
        if not resource.custom:
            return False
        if resource.provider and resource.provider_urn in replace_set:
            return True
        inputs = resource.plain_inputs()
        touched = False
        for key, urns in resource.property_dependencies.items():
            if key in inputs and replace_set.intersection(urns):
                inputs[key] = UNKNOWN
                touched = True
        if not touched:
            return False
        diff = diff_by_type(resource.type, resource.plain_inputs(), inputs, resource, resource.autonamed)
        return bool(apply_replace_on_changes(diff, resource.replace_on_changes).replace_keys)

    # ---- provider CRUD ----------------------------------------------------------------

    def _provider_inputs(self, run: _Run, ref: str) -> dict[str, Any]:
        if not ref:
            return {}  # the default provider: ambient configuration
        if ref in run.provider_configs:
            return copy.deepcopy(run.provider_configs[ref])
        urn = split_provider_ref(ref)[0]
        state = run.news.get(urn) or run.olds.get(urn)
        return state.plain_inputs() if state else {}

    def _new_id(self, goal: _Goal, outputs: Mapping[str, Any]) -> str:
        if is_kubernetes_object(goal.type):
            metadata = outputs.get("metadata") or {}
            if _k8s_kind(goal.type) == "core/v1:Namespace":
                return str(metadata.get("name"))
            return f"{_canonical_namespace(metadata.get('namespace'))}/{metadata.get('name')}"
        return str(uuid.uuid4())

    def _provider_create(self, run: _Run, goal: _Goal) -> tuple[str, dict[str, Any]]:  # noqa: PLR0911 - one per type
        inputs: dict[str, Any] = plain(goal.inputs)
        if not goal.custom:
            return "", {}
        if goal.type.startswith(PROVIDER_PREFIX):
            return ("" if run.preview else str(uuid.uuid4())), inputs
        if goal.type == STASH:
            # pulumi pkg/resource/deploy/builtins.go Create: output := input.
            return ("" if run.preview else str(uuid.uuid4())), {
                "input": inputs.get("input"),
                "output": inputs.get("input"),
            }
        if goal.type == COMMAND:
            # pulumi-command commandController.go Create: runs `create` (if set);
            # go-provider infer markComputed: in preview every output that does not
            # mirror an input is unknown.
            if run.preview:
                return "", {**inputs, "stdout": UNKNOWN, "stderr": UNKNOWN}
            stdout, stderr = ("", "")
            if inputs.get("create") is not None:
                stdout, stderr = self.hooks.run_command(self._command_inputs(inputs, None), "create")
            return f"{goal.name}{uuid.uuid4().hex[:8]}", {**inputs, "stdout": stdout, "stderr": stderr}
        if run.preview:
            outputs = copy.deepcopy(inputs)
            if isinstance(outputs.get("metadata"), dict):
                outputs["metadata"]["uid"] = UNKNOWN
            return "", outputs
        outputs = self.hooks.create_object(goal.type, self._provider_inputs(run, goal.provider), inputs)
        return self._new_id(goal, outputs), outputs

    def _provider_update(  # noqa: PLR0911 - one per type
        self, run: _Run, goal: _Goal, old: ResourceState
    ) -> dict[str, Any]:
        inputs: dict[str, Any] = plain(goal.inputs)
        if not goal.custom:
            return {}
        if goal.type.startswith(PROVIDER_PREFIX):
            return inputs
        if goal.type == STASH:
            # builtins.go Update: `output` keeps the first value, `input` is the latest.
            return {"input": inputs.get("input"), "output": old.outputs.get("output")}
        if goal.type == COMMAND:
            # commandController.go Update: runs `update`, else `create`, with the new
            # inputs; in preview (infer markComputed) stdout/stderr are unknown.
            if run.preview:
                return {**inputs, "stdout": UNKNOWN, "stderr": UNKNOWN}
            which = "update" if inputs.get("update") is not None else "create"
            stdout, stderr = old.outputs.get("stdout", ""), old.outputs.get("stderr", "")
            if inputs.get(which) is not None:
                stdout, stderr = self.hooks.run_command(self._command_inputs(inputs, old.outputs), which)
            return {**inputs, "stdout": stdout, "stderr": stderr}
        if run.preview:
            return {**copy.deepcopy(old.outputs), **inputs}
        return self.hooks.update_object(
            goal.type, self._provider_inputs(run, goal.provider), copy.deepcopy(old.outputs), inputs
        )

    @staticmethod
    def _command_inputs(inputs: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
        """pulumi-command local/commandOutputs.go run: with addPreviousOutputInEnv
        unset or true, a non-empty previous stdout/stderr is in the environment as
        PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR."""
        command = copy.deepcopy(dict(inputs))
        if previous is not None and command.get("addPreviousOutputInEnv") in (None, True):
            environment = dict(command.get("environment") or {})
            if previous.get("stdout"):
                environment["PULUMI_COMMAND_STDOUT"] = previous["stdout"]
            if previous.get("stderr"):
                environment["PULUMI_COMMAND_STDERR"] = previous["stderr"]
            if environment:
                command["environment"] = environment
        return command

    def _delete(self, run: _Run, state: ResourceState) -> None:
        if run.preview or not state.custom or state.retain_on_delete:
            return
        if state.type.startswith(PROVIDER_PREFIX) or state.type == STASH:
            # providers/registry.go Delete and builtins.go Delete: nothing outside Pulumi.
            return
        inputs = state.plain_inputs()
        if state.type == COMMAND:
            # commandController.go Delete: the OLD state's `delete`, with the old
            # stdin/environment/dir; nothing when it is unset.
            if inputs.get("delete") is not None:
                self.hooks.run_command(self._command_inputs(inputs, state.outputs), "delete")
            return
        wait = True
        if is_kubernetes_object(state.type):
            # pulumi-kubernetes metadata/overrides.go DeletedCondition: skipAwait also
            # skips the delete wait for the kinds in allowsSkipAwaitWithDelete.
            annotations = (inputs.get("metadata") or {}).get("annotations") or {}
            skip = str(annotations.get("pulumi.com/skipAwait", "")).lower() == "true"
            wait = not (skip and _k8s_kind(state.type) in _SKIP_AWAIT_DELETE_KINDS)
        self.hooks.delete_object(
            state.type, self._provider_inputs(run, state.provider), copy.deepcopy(state.outputs), wait
        )

    # ---- the end of a deployment --------------------------------------------------------

    def _schedule_deletes(
        self, condemned: list[tuple[str, ResourceState]]
    ) -> list[tuple[str, ResourceState]]:
        """pulumi step_generator.go `ScheduleDeletes`: antichains of condemned
        resources with no condemned dependency (dependencies, property dependencies,
        provider, parent), reversed, so dependents go first. Within an antichain the
        later state entry goes first (the real engine runs them in parallel)."""
        remaining = list(condemned)
        antichains: list[list[tuple[str, ResourceState]]] = []
        while remaining:
            urns = {s.urn for _, s in remaining}
            ready = [(op, s) for op, s in remaining if not ((s.edges() | {s.parent}) - {s.urn}) & urns]
            if not ready:  # a cycle cannot happen in a real state; do not loop
                ready = list(remaining)
            antichains.append(list(reversed(ready)))
            ready_ids = {id(s) for _, s in ready}
            remaining = [(op, s) for op, s in remaining if id(s) not in ready_ids]
        return [item for chain in reversed(antichains) for item in chain]

    def _end_of_update_deletes(self, run: _Run) -> None:
        """pulumi step_generator.go `GenerateDeletes`: pending deletes (replaced
        create-before-delete) and resources the program no longer registers."""
        condemned = [("delete-replaced", s) for s in run.pending]
        condemned += [
            ("delete", s)
            for urn, s in run.olds.items()
            if urn not in run.registered and urn not in run.deleted
        ]
        self._run_deletes(run, condemned)

    def _run_deletes(self, run: _Run, condemned: list[tuple[str, ResourceState]]) -> None:
        """Delete in schedule order until one fails; what was deleted leaves
        `run.olds` (via run.deleted) or `run.pending`."""
        done: list[int] = []
        for op, state in self._schedule_deletes(condemned):
            run.step(op, state)
            try:
                self._delete(run, state)
            except Exception as exc:
                run.fail_last()
                run.error = exc
                break
            done.append(id(state))
            if op == "delete":
                run.deleted.add(state.urn)
        run.pending = [s for s in run.pending if id(s) not in done]

    def _commit(self, run: _Run) -> None:
        state = dict(run.news)
        for urn, old in run.olds.items():
            if urn not in state and urn not in run.deleted:
                state[urn] = old  # not reached (failure) or failed update: kept as it was
        self._state = state
        self._pending = run.pending

    # ---- outputs to the program ---------------------------------------------------------

    def _program_outputs(self, state: ResourceState) -> dict[str, Any]:
        """The outputs as the engine returns them: unknowns as UNKNOWN, an output
        secret when the input of the same name is (go-provider infer
        `ensureDefaultSecrets` / markSecret) or it is in additionalSecretOutputs."""
        outputs: dict[str, Any] = {}
        for key, value in state.outputs.items():
            source = "input" if state.type == STASH else key  # builtins.go: both carry `input`
            if key in state.additional_secret_outputs or contains_secret(state.inputs.get(source)):
                outputs[key] = {rpc._special_sig_key: rpc._special_secret_sig, "value": value}
            else:
                outputs[key] = value
        return outputs


# --------------------------------------------------------------------------------------
# The mocks and monitor that route registrations to the engine.
# --------------------------------------------------------------------------------------


class _EngineMocks(pulumi.runtime.Mocks):
    """Mocks that answer every registration from the engine's state and step rules."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        run = self.engine._run
        if run is None or run.request is None:
            raise NotImplementedError("the lifecycle model does not model ReadResource/get")
        return self.engine._register(args, run.urn)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        run = self.engine._run
        preview = bool(run and run.preview)
        return self.engine.hooks.invoke(args.token, reveal(dict(args.args)), preview), []


class _EngineMonitor(RecordingMonitor):
    """The recording monitor, one registration at a time (the SDK calls it from a
    thread pool), handing the whole request (options included) to the engine."""

    def __init__(self, mocks: _EngineMocks, engine: Engine, project: str, stack: str) -> None:
        super().__init__(mocks, project, stack)
        self.engine = engine

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.type == STACK:
            return super().RegisterResource(request)
        with self.engine._lock:
            run = self.engine._run
            assert run is not None
            run.request = request
            run.urn = self.make_urn(request.parent, request.type, request.name)
            try:
                return super().RegisterResource(request)
            finally:
                run.request, run.urn = None, ""
