"""Stack config, parsed and validated once into frozen dataclasses.

`parse_settings` is pure apart from reading the `existing` mode's kubeconfig
(and the certificate files it names) and taking the environment it is given:
it takes config values in the form the Pulumi CLI hands them to the program
(strings; lists and maps JSON-encoded) and returns Settings or raises
SettingsError listing every problem at once. `load_settings` reads the running
stack's config and calls it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi

from components.content import ContentError, describe, parse_target
from components.content.builder import DEFAULT_CACHE, PROJECT
from components.settings.grammar import (
    KubernetesVersion,
    control_characters,
    digest_refusal,
    is_dns1123_label,
    is_dns1123_subdomain,
    known_gate_typo,
    mount_path_refusal,
    parse_duration_seconds,
    parse_image_reference,
    parse_kubernetes_version,
    utf8_size,
)
from components.settings.kubeconfig import (
    KUBECONFIG_MAX_BYTES,
    REFERENCED_FILE_MAX_BYTES,
    KubeconfigError,
    choose_context,
    parse_kubeconfig,
    read_file,
)
from components.settings.model import (
    DEFAULT_NODE_IMAGE,
    WALKTHROUGH_ARTIFACT,
    Check,
    Engine,
    ExistingClusterSettings,
    ImageVolume,
    KindClusterSettings,
    PodSettings,
    Settings,
    SourceFolder,
)
from components.settings.problems import (
    NAMESPACE,
    Problem,
    SettingsError,
    escape,
    rm_command,
    set_command,
)
from components.settings.rules import check_rules
from components.versions import REGISTRY_IMAGE

DEFAULT_POD_IMAGE = "registry.k8s.io/e2e-test-images/echoserver:2.3"
WALKTHROUGH_V1 = f"{WALKTHROUGH_ARTIFACT}:v1"
WALKTHROUGH_V2 = f"{WALKTHROUGH_ARTIFACT}:v2"


CLUSTER_MODES = ("kind", "existing")
RUNTIMES = ("crio", "containerd")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
WORKERS_MAX = 10
# kind names the first node container "<cluster>-control-plane" and uses it as
# the node's hostname and Kubernetes node name, a DNS-1123 label of <= 63 chars.
CLUSTER_NAME_MAX = 63 - len("-control-plane")
TIMEOUT_MIN_SECONDS = 10
TIMEOUT_MAX_SECONDS = 3600
DEFAULT_TIMEOUT = "5m"
CHECKS_MAX = 50
VOLUMES_MAX = 20
# Each string in stack config (values, names, list items, map keys), in UTF-8.
STRING_MAX_BYTES = 4096
# What reaches one command: a check's argv, the kind cluster's settings. A
# Command's environment and an exec's argv stay far below the kernel's limits.
COMMAND_MAX_BYTES = 65536

# The settings that define the kind cluster (they reach its command).
CLUSTER_DEFINING_KEYS = (
    "clusterName",
    "nodeImage",
    "runtime",
    "workers",
    "featureGates",
    "clusterReadyTimeout",
)
KIND_ONLY_KEYS = (*CLUSTER_DEFINING_KEYS, "registryPort", "registryImage")
EXISTING_ONLY_KEYS = ("kubeconfig", "context", "registry")
KNOWN_KEYS = (
    "clusterMode",
    *KIND_ONLY_KEYS,
    *EXISTING_ONLY_KEYS,
    "kubernetesVersion",
    "podName",
    "namespace",
    "podImage",
    "volumes",
    "checks",
    "podReadyTimeout",
)
VOLUME_KEYS = ("name", "reference", "source", "pullPolicy", "mountPath", "subPath")
JSON_KEYS = ("featureGates", "volumes", "checks")  # lists and maps, JSON-encoded by the CLI
# What reaches the kind create command (its environment and the config on stdin).
CLUSTER_COMMAND_KEYS = (*CLUSTER_DEFINING_KEYS, "kubernetesVersion")
# The stack's registry container publishes a port on 127.0.0.1 (kind mode).
REGISTRY_PORT_MIN = 1024
REGISTRY_PORT_MAX = 65535
SOURCE_EXAMPLE = "examples/content"
REGISTRY_EXAMPLE = "registry.example.com/imagevolume"
INVALID = object()  # a value already reported as a Problem

# A refusal with details: (what is allowed, a value to suggest or None).
Explain = Callable[[str], tuple[str, str | None] | None]


def default_volume(runtime: str | None) -> dict[str, str]:
    """The walkthrough's volume: :v1 as upstream on CRI-O, :v2 wherever containerd
    may run (runtime containerd, or None: an existing cluster)."""
    return {
        "name": "volume",
        "reference": WALKTHROUGH_V1 if runtime == "crio" else WALKTHROUGH_V2,
        "pullPolicy": "IfNotPresent",
        "mountPath": "/volume",
    }


class _Reader:
    """Reads raw config values, recording a Problem for each bad one.

    Every method returns a usable value (the default when the given one is
    bad), so parsing goes on and every problem is reported in one run.
    """

    def __init__(self, raw: Mapping[str, str], secret_keys: Collection[str]) -> None:
        self.raw = raw
        self.secret_keys = frozenset(secret_keys)
        self.problems: list[Problem] = []

    def is_secret(self, key: str) -> bool:
        return re.split(r"[.\[]", key, maxsplit=1)[0] in self.secret_keys

    def problem(self, key: str, value: object, allowed: str, fix: str) -> None:
        """Record a problem; one per key, the first found (a key with control
        characters is not also reported as, say, not a DNS label)."""
        if any(p.key == key for p in self.problems):
            return
        self.problems.append(Problem(key, value, allowed, fix, secret=self.is_secret(key)))

    def set_fix(self, key: str, value: str) -> str:
        """The command that sets `value`, derived from what the user gave:
        for a secret key, a placeholder (the value is never shown back)."""
        if self.is_secret(key):
            return f"{set_command(key, 'VALUE')} --secret"
        return set_command(key, value)

    def string(
        self,
        key: str,
        default: str,
        valid: Callable[[str], bool],
        allowed: str,
        example: str,
        *,
        explain: Explain | None = None,
    ) -> str:
        value = self.raw.get(key)
        if value is None:
            return default
        if not valid(value):
            detail = explain(value) if explain else None
            if detail is not None:
                allowed, suggestion = detail
                fix = self.set_fix(key, suggestion) if suggestion else set_command(key, example)
            else:
                fix = set_command(key, example)
            self.problem(key, value, allowed, fix)
            return default
        return value

    def json_value(self, key: str, shape: str, example: str) -> object:
        """The JSON value of a key that is set; INVALID (and a Problem) when it is not JSON."""
        try:
            return json.loads(self.raw[key])
        except ValueError:
            self.problem(key, self.raw[key], f"must be {shape} (JSON)", set_command(key, example))
            return INVALID


def _is_image_reference(value: str) -> bool:
    return parse_image_reference(value) is not None


def _explain_reference(allowed: str) -> Explain:
    """A refused reference's digest, named: sha256/sha512 in lowercase hex only."""

    def explain(value: str) -> tuple[str, str | None] | None:
        refusal = digest_refusal(value)
        if refusal is None:
            return None
        why, suggestion = refusal
        if suggestion is not None and parse_image_reference(suggestion) is None:
            suggestion = None
        return f"{allowed}; {why}", suggestion

    return explain


def _one_of(choices: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda value: value in choices


def _is_timeout(value: str) -> bool:
    seconds = parse_duration_seconds(value)
    return seconds is not None and TIMEOUT_MIN_SECONDS <= seconds <= TIMEOUT_MAX_SECONDS


def _timeout(reader: _Reader, key: str) -> int:
    text = reader.string(
        key,
        DEFAULT_TIMEOUT,
        _is_timeout,
        f"must be a duration of whole h/m/s parts from {TIMEOUT_MIN_SECONDS}s to 1h, e.g. 90s, 5m, 1m30s",
        DEFAULT_TIMEOUT,
    )
    seconds = parse_duration_seconds(text)
    assert seconds is not None
    return seconds


def default_cluster_name(stack: str) -> str:
    """imagevolume-<stack>, or, when that is no DNS-1123 label kind accepts,
    its folded form and a short hash of the exact stack name: stack names
    that differ only in case, punctuation or past the length limit (dev, Dev,
    dev_) never fold into one cluster name."""
    plain = f"imagevolume-{stack}"
    if is_dns1123_label(plain) and len(plain) <= CLUSTER_NAME_MAX:
        return plain
    digest = hashlib.sha256(stack.encode()).hexdigest()[:6]
    folded = re.sub(r"[^a-z0-9-]+", "-", plain.lower()).strip("-")
    return f"{folded[: CLUSTER_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


# Keys whose values end up in Kubernetes resource IDs or container names,
# which Pulumi's state and Docker keep in plain text.
SECRET_REFUSED = {
    "clusterName": "it names the kind node containers, which Docker lists in plain text",
    "registryPort": "the registry container publishes it, which Docker lists in plain text",
    "registryImage": "the registry container runs it, which Docker lists in plain text",
    "registry": "it is part of the pod's image references, which the cluster shows in plain text",
    "podName": "it is part of the pod's resource ID (namespace/name), kept in plain text in Pulumi's state",
    "namespace": "it is part of the pod's resource ID (namespace/name), kept in plain text in Pulumi's state",
}


def _no_secret_names(reader: _Reader) -> None:
    for key, why in SECRET_REFUSED.items():
        if key in reader.raw and reader.is_secret(key):
            reader.problem(
                key,
                reader.raw[key],
                f"cannot be a secret: {why}",
                f"{set_command(key, 'NAME')} (without --secret)",
            )


def default_pull_policy(reference: str) -> str:
    """Kubernetes' default for an image volume: Always for :latest or no tag."""
    parsed = parse_image_reference(reference)
    if parsed is None or parsed.digest is not None:
        return "IfNotPresent"
    return "Always" if parsed.tag in (None, "latest") else "IfNotPresent"


def default_checks(volumes: tuple[ImageVolume, ...]) -> tuple[Check, ...]:
    """The walkthrough's commands for each walkthrough artifact; `ls -l` otherwise."""
    checks: list[Check] = []
    for volume in volumes:
        mount = volume.mount_path.rstrip("/")
        checks.append(Check(("ls", "-l", mount)))
        reference = parse_image_reference(volume.reference)
        if reference is None or reference.name != WALKTHROUGH_ARTIFACT:
            continue
        sub_path = posixpath.normpath(volume.sub_path) if volume.sub_path else ""
        if sub_path == "":
            checks.append(Check(("ls", "-l", f"{mount}/dir")))
            checks.append(Check(("cat", f"{mount}/dir/file")))
        elif sub_path == "dir":
            checks.append(Check(("cat", f"{mount}/file")))
    return tuple(checks)


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    folded = {k.lower(): k for k in known}
    if key.lower() in folded:
        return folded[key.lower()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else ""


def _unknown_keys(reader: _Reader) -> None:
    for key in sorted(set(reader.raw) - set(KNOWN_KEYS)):
        guess = _did_you_mean(key, KNOWN_KEYS)
        hint = f"did you mean {NAMESPACE}:{guess}? " if guess else ""
        fix = rm_command(key)
        value = reader.raw[key]
        if guess and (
            reader.is_secret(key) or control_characters(value) or utf8_size(value) > STRING_MAX_BYTES
        ):
            fix += f" && {set_command(guess, 'VALUE')}" + (" --secret" if reader.is_secret(key) else "")
        elif guess:
            fix += f" && {set_command(guess, value)}"
        reader.problem(
            key,
            reader.raw[key],
            f"is not a setting of this project; {hint}known: {', '.join(KNOWN_KEYS)}",
            fix,
        )


def _mode_keys(reader: _Reader, mode: str) -> None:
    misplaced = EXISTING_ONLY_KEYS if mode == "kind" else KIND_ONLY_KEYS
    other = "existing" if mode == "kind" else "kind"
    for key in misplaced:
        if key in reader.raw:
            reader.problem(
                key,
                reader.raw[key],
                f"applies only when {NAMESPACE}:clusterMode is {other} (it is {mode})",
                rm_command(key),
            )


def _strings_in(value: object, path: str) -> Iterator[tuple[str, str, bool]]:
    """Every string in a decoded value: (its key path, the string, whether it
    is a map key (a name) rather than a value)."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings_in(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield f"{path}.{name}", name, True
            yield from _strings_in(item, f"{path}.{name}")


def _decoded(key: str, raw: str) -> object:
    if key not in JSON_KEYS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return None  # reported as not JSON (value shown escaped) where the key is read


def _without_controls(text: str) -> str:
    return "".join(c for c in text if not control_characters(c) and not 0xD800 <= ord(c) <= 0xDFFF)


def _strings(reader: _Reader) -> None:
    """Every string given, names and paths included: no control characters
    (C0, DEL, C1), no lone surrogates, at most STRING_MAX_BYTES in UTF-8."""
    for key in KNOWN_KEYS:
        if key not in reader.raw:
            continue
        for path, text, is_name in _strings_in(_decoded(key, reader.raw[key]), key):
            found: list[str] = []
            controls = control_characters(text)
            if controls:
                shown = ", ".join(dict.fromkeys(escape(c) for c in controls))
                found.append(
                    f"must not contain control characters (it has {shown}); C0, DEL and C1 control "
                    "characters are refused in every setting, name and path"
                )
            surrogates = [c for c in text if 0xD800 <= ord(c) <= 0xDFFF]
            if surrogates:
                found.append(f"must be text: it has a lone UTF-16 surrogate ({escape(surrogates[0])})")
            size = utf8_size(text)
            if size > STRING_MAX_BYTES:
                found.append(
                    f"is {size} bytes (UTF-8); each string in stack config, names included, is at most "
                    f"{STRING_MAX_BYTES} bytes"
                )
            if not found:
                continue
            cleaned = _without_controls(text)
            if size <= STRING_MAX_BYTES and cleaned != "" and not is_name:
                fix = reader.set_fix(path, cleaned)  # the value without its control characters
            elif is_name or (path == key and key not in EXISTING_ONLY_KEYS):
                fix = rm_command(path)  # a name goes; a top-level key falls back to its default
            else:
                fix = set_command(path, "VALUE")
            reader.problem(path, text, "; ".join(found), fix)


def _feature_gates(reader: _Reader) -> tuple[tuple[str, bool], ...]:
    default = (("ImageVolume", True),)
    example = '{"ImageVolume": true}'
    if "featureGates" not in reader.raw:
        return default
    value = reader.json_value("featureGates", "a map of gate names to true/false", example)
    if not isinstance(value, dict):
        if value is not INVALID:
            reader.problem(
                "featureGates",
                reader.raw["featureGates"],
                "must be a map of feature gate names to true/false",
                set_command("featureGates", example),
            )
        return default
    gates: list[tuple[str, bool]] = []
    for name, enabled in value.items():
        path = f"featureGates.{name}"
        typo = known_gate_typo(name)
        if typo is not None:
            # kind passes gates to kubeadm, which refuses an unknown one only
            # after delete-before-replace has removed the working cluster.
            fix = rm_command(path)
            if typo not in value:
                given = str(enabled).lower() if isinstance(enabled, bool) else str(enabled)
                on = given if given in ("true", "false") else "true"
                fix += f" && {set_command(f'featureGates.{typo}', on)}"
            reader.problem(
                path,
                enabled,
                f"is not a feature gate this project knows; did you mean {typo}? (kubeadm refuses an "
                "unknown gate only after the working cluster was deleted to be replaced)",
                fix,
            )
        elif not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            reader.problem(
                path,
                name,
                "gate names are CamelCase letters and digits, as in the Kubernetes feature-gate list",
                rm_command(path),
            )
        elif isinstance(enabled, bool):
            gates.append((name, enabled))
        elif enabled in ("true", "false"):  # `pulumi config set --path` stores strings
            gates.append((name, enabled == "true"))
        else:
            reader.problem(path, enabled, "must be true or false", set_command(path, "true"))
    return tuple(sorted(gates))


def _is_worker_count(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 <= int(value) <= WORKERS_MAX


def _kind_cluster(reader: _Reader, stack: str, environ: Mapping[str, str]) -> KindClusterSettings:
    name = reader.string(
        "clusterName",
        default_cluster_name(stack),
        lambda v: is_dns1123_label(v) and len(v) <= CLUSTER_NAME_MAX,
        "must be a DNS-1123 label (lowercase letters, digits, '-'; starts and ends with a letter "
        f"or digit) of at most {CLUSTER_NAME_MAX} characters, since kind names a node "
        "<name>-control-plane",
        default_cluster_name(stack),
    )
    node_image_allowed = (
        f"must be an OCI image reference such as {DEFAULT_NODE_IMAGE} or "
        "kindest/node:v1.35.0@sha256:<64 lowercase hex digits>"
    )
    node_image = reader.string(
        "nodeImage",
        DEFAULT_NODE_IMAGE,
        _is_image_reference,
        node_image_allowed,
        DEFAULT_NODE_IMAGE,
        explain=_explain_reference(node_image_allowed),
    )
    runtime = reader.string(
        "runtime",
        "crio",
        _one_of(RUNTIMES),
        f"must be one of {', '.join(RUNTIMES)} (the container runtime in the node image)",
        "crio",
    )
    workers = reader.string(
        "workers",
        "1",
        _is_worker_count,
        f"must be a whole number from 0 to {WORKERS_MAX} (0: control plane only; each node is a "
        "container with its own kubelet and runtime)",
        "1",
    )
    _cluster_command_size(reader)
    return KindClusterSettings(
        name=name,
        node_image=node_image,
        runtime=runtime,
        workers=int(workers),
        feature_gates=_feature_gates(reader),
        ready_timeout_seconds=_timeout(reader, "clusterReadyTimeout"),
        engine=Engine.from_environment(environ),
        registry_port=_registry_port(reader, stack),
        registry_image=_registry_image(reader),
    )


def _cluster_command_size(reader: _Reader) -> None:
    """All that reaches the kind create command, at most COMMAND_MAX_BYTES."""
    sizes = {key: utf8_size(reader.raw[key]) for key in CLUSTER_COMMAND_KEYS if key in reader.raw}
    total = sum(sizes.values())
    if total <= COMMAND_MAX_BYTES:
        return
    key = max(sizes, key=lambda k: sizes[k])
    reader.problem(
        key,
        reader.raw[key],
        f"is {sizes[key]} bytes and brings the settings that reach the kind create command "
        f"({', '.join(CLUSTER_COMMAND_KEYS)}) to {total} bytes; together they are at most "
        f"{COMMAND_MAX_BYTES} bytes",
        rm_command(key),
    )


def default_registry_port(stack: str) -> int:
    """5001 (kind's local-registry recipe) and up, by the stack's name: two
    stacks on one machine rarely want the same port; `up` says when it is taken."""
    return 5001 + int(hashlib.sha256(stack.encode()).hexdigest()[:8], 16) % 1000


def _is_registry_port(value: str) -> bool:
    return value.isascii() and value.isdigit() and REGISTRY_PORT_MIN <= int(value) <= REGISTRY_PORT_MAX


def _registry_port(reader: _Reader, stack: str) -> int:
    default = default_registry_port(stack)
    return int(
        reader.string(
            "registryPort",
            str(default),
            _is_registry_port,
            f"must be a TCP port from {REGISTRY_PORT_MIN} to {REGISTRY_PORT_MAX}: the stack's registry "
            "listens on 127.0.0.1:<port> when a volume has a source",
            str(default),
        )
    )


def _registry_image(reader: _Reader) -> str:
    allowed = (
        f"must be an OCI image reference such as {REGISTRY_IMAGE} or "
        "127.0.0.1:5000/registry@sha256:<64 lowercase hex digits>: the stack's registry container "
        "runs it when a volume has a source"
    )
    return reader.string(
        "registryImage",
        REGISTRY_IMAGE,
        _is_image_reference,
        allowed,
        REGISTRY_IMAGE,
        explain=_explain_reference(allowed),
    )


def _is_registry(value: str) -> bool:
    """HOST[:PORT][/PATH]: a registry host (with a dot or a port, or localhost)
    and an optional repository path, no tag or digest."""
    value = value.rstrip("/")
    host = value.split("/", 1)[0]
    if not ("." in host or ":" in host or host == "localhost"):
        return False
    parsed = parse_image_reference(f"{value}/volume")
    if parsed is None or parsed.tag is not None or parsed.digest is not None:
        return False
    try:
        parse_target(f"{value}/volume")  # what the push will take: a port from 1 to 65535
    except ContentError:
        return False
    return True


def _registry(reader: _Reader) -> str | None:
    if "registry" not in reader.raw:
        return None
    value = reader.string(
        "registry",
        "",
        _is_registry,
        "must be HOST[:PORT][/PATH] of a registry the cluster pulls from, such as "
        f"{REGISTRY_EXAMPLE} (HTTPS; credentials from your docker config, as `docker login` writes them)",
        REGISTRY_EXAMPLE,
    )
    return value.rstrip("/") or None


def _read_kubeconfig(reader: _Reader, path: str, full_path: str) -> str | None:
    """The kubeconfig's text, or None and a Problem."""
    fix = set_command("kubeconfig", "~/.kube/config")
    allowed = "must be the path of a kubeconfig file (UTF-8 YAML, kind: Config)"
    try:
        content = read_file(full_path, KUBECONFIG_MAX_BYTES)
    except FileNotFoundError:
        reader.problem("kubeconfig", path, f"{allowed}; there is none there", fix)
        return None
    except OSError as error:
        reader.problem("kubeconfig", path, f"{allowed}; this is {error.strerror or error}", fix)
        return None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        reader.problem("kubeconfig", path, f"{allowed}; this file is not UTF-8 text (binary?)", fix)
        return None


def _existing_cluster(reader: _Reader) -> ExistingClusterSettings:
    path = reader.raw.get("kubeconfig")
    context = reader.raw.get("context")
    if path is None:
        reader.problem(
            "kubeconfig",
            None,
            "is required when clusterMode is existing: the path of the cluster's kubeconfig file",
            set_command("kubeconfig", "~/.kube/config"),
        )
        path = ""
    full_path = os.path.expanduser(path)
    text = _read_kubeconfig(reader, path, full_path) if path else None
    if text is not None:
        try:
            parse_kubeconfig(text)  # the file's own problems, with or without a context
        except KubeconfigError as error:
            reader.problem(
                "kubeconfig",
                path,
                f"must be a kubeconfig file (UTF-8 YAML, kind: Config, with clusters, users and "
                f"contexts), but {error}",
                set_command("kubeconfig", "~/.kube/config"),
            )
            text = None
    if context is None or context == "" or "\0" in context:
        # Explicit, so that switching the file's current-context (kind does it on
        # every create) never moves the stack to another cluster.
        reader.problem(
            "context",
            context,
            "is required when clusterMode is existing: the name of a context in the kubeconfig file "
            "(kubectl config get-contexts lists them)",
            set_command("context", "my-context"),
        )
        context = None
    registry = _registry(reader)
    if text is None or context is None:
        return ExistingClusterSettings(full_path, context or "", "", "", registry)
    try:
        chosen = choose_context(
            text, context, os.path.dirname(full_path), lambda f: read_file(f, REFERENCED_FILE_MAX_BYTES)
        )
    except KubeconfigError as error:
        if error.key == "context":
            where = "the kubeconfig file" if reader.is_secret("kubeconfig") else path
            reader.problem(
                "context",
                context,
                f"cannot be used from {where}: {error}",
                set_command("context", "my-context"),
            )
        else:
            reader.problem(
                "kubeconfig",
                path,
                f"must be a kubeconfig file whose chosen context can be used, but {error}",
                set_command("kubeconfig", "~/.kube/config"),
            )
        return ExistingClusterSettings(full_path, context, "", "", registry)
    return ExistingClusterSettings(full_path, context, chosen.text, chosen.cluster_identifier, registry)


def _is_sub_path(value: str) -> bool:
    # Kubernetes' validateLocalDescendingPath: relative, no ".." element.
    return value != "" and "\0" not in value and not value.startswith("/") and ".." not in value.split("/")


def _is_mount_path(value: str) -> bool:
    return mount_path_refusal(value) is None


def _explain_mount_path(value: str) -> tuple[str, str | None] | None:
    refusal = mount_path_refusal(value)
    if refusal is None:
        return None
    if refusal.reason.startswith("is refused"):
        return (
            f"{refusal.reason}; mount an image volume at a folder of its own, such as /volume or /etc/myapp",
            None,
        )
    return refusal.reason, refusal.suggestion


_REFERENCE_ALLOWED = "must be an OCI image reference such as quay.io/crio/artifact:v1"

# field: (required, valid, what is allowed, an example value, details of a refusal)
_VOLUME_FIELDS: dict[str, tuple[bool, Callable[[str], bool], str, str, Explain | None]] = {
    "name": (
        True,
        is_dns1123_label,
        "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
        "volume",
        None,
    ),
    "reference": (
        False,  # required unless source is given
        _is_image_reference,
        _REFERENCE_ALLOWED,
        "quay.io/crio/artifact:v1",
        _explain_reference(_REFERENCE_ALLOWED),
    ),
    "source": (
        False,
        lambda value: value.strip() != "",
        "must be the path of a local folder (relative to the project folder, or absolute), built into "
        "an image and pushed to the stack's registry",
        SOURCE_EXAMPLE,
        None,
    ),
    "pullPolicy": (
        False,
        _one_of(PULL_POLICIES),
        f"must be one of {', '.join(PULL_POLICIES)}",
        "IfNotPresent",
        None,
    ),
    "mountPath": (
        True,
        _is_mount_path,
        "must be a canonical absolute path (no //, . or .. components, no trailing /) outside /, "
        "/proc, /sys, /dev, the system directories and the paths kubelet mounts",
        "/volume",
        _explain_mount_path,
    ),
    "subPath": (
        False,
        _is_sub_path,
        "must be a relative path inside the image without '..' elements",
        "dir",
        None,
    ),
}


@dataclass(frozen=True)
class _Sources:
    """Where source volumes are built and pushed: the registry host the pods pull
    from (None: there is none, and a source is refused), the project folder
    relative sources start from, and the digest cache."""

    registry: str | None
    project_dir: Path
    cache_dir: Path | None


def _overlaps(folder: str, protected: list[Path]) -> bool:
    """Whether `folder` is one of `protected`, inside one, or holds one (real paths)."""
    real = os.path.realpath(folder)
    for other in protected:
        mine = os.path.realpath(other)
        if os.path.commonpath([real, mine]) in (real, mine):
            return True
    return False


def _source(reader: _Reader, at: str, given: str, name: str, sources: _Sources) -> SourceFolder | None:
    path = f"{at}.source"
    if sources.registry is None:
        if "registry" in reader.raw:
            return None  # a registry was given, and refused: that problem is reported
        reader.problem(
            path,
            given,
            f"needs {NAMESPACE}:registry when clusterMode is existing: a registry the cluster pulls from, "
            "where the folder is pushed (only a kind cluster gets a registry of its own)",
            set_command("registry", REGISTRY_EXAMPLE),
        )
        return None
    folder = os.path.normpath(os.path.join(sources.project_dir, os.path.expanduser(given)))
    if _overlaps(
        folder, [sources.project_dir / ".pulumi", *([sources.cache_dir] if sources.cache_dir else [])]
    ):
        reader.problem(
            path,
            given,
            "must not be, hold or be inside the project's .pulumi folder: it holds the stack state, the "
            "passphrase and the digest cache, which the image would carry (and change on every run)",
            set_command(path, SOURCE_EXAMPLE),
        )
        return None
    try:
        content = describe(Path(folder), sources.cache_dir)
    except ContentError as error:
        why = "it cannot be built into an image" if reader.is_secret(path) else str(error)
        reader.problem(
            path,
            given,
            f"must be a folder that can be built into an image (relative to the project folder "
            f"{sources.project_dir}, or absolute): {why}",
            set_command(path, SOURCE_EXAMPLE),
        )
        return None
    return SourceFolder(given=given, path=folder, content=content, repository=f"{sources.registry}/{name}")


def _reference_or_source(reader: _Reader, at: str, item: dict[str, Any]) -> bool:
    """Exactly one of reference and source; False (and a Problem) for both."""
    if item.get("reference") is not None and item.get("source") is not None:
        reader.problem(
            f"{at}.source",
            item["source"],
            "a volume has either a reference (an image in a registry) or a source (a local folder), not both",
            rm_command(f"{at}.reference"),
        )
        return False
    if item.get("reference") is None and item.get("source") is None:
        reader.problem(
            f"{at}.reference",
            None,
            f"is required unless source is given; {_REFERENCE_ALLOWED}, or give source: a local folder",
            set_command(f"{at}.reference", "quay.io/crio/artifact:v1"),
        )
    return True


def _sub_path_in_source(reader: _Reader, at: str, sub_path: str, source: SourceFolder) -> None:
    """A source volume's subPath names a file of the folder or a folder holding one:
    anything else would mount nothing, and the content proof would have nothing to prove."""
    sub = posixpath.normpath(sub_path)
    if sub == "." or any(f.path == sub or f.path.startswith(sub + "/") for f in source.content.files):
        return
    reader.problem(
        f"{at}.subPath",
        sub_path,
        "names nothing in the folder: a subPath of a source volume is a file of the folder, or a folder "
        "in it that holds a regular file",
        rm_command(f"{at}.subPath"),
    )


def _volume_fields(reader: _Reader, at: str, item: dict[str, Any]) -> dict[str, str | None]:
    """Each field's value, None where it is missing or refused (and a Problem)."""
    fields: dict[str, str | None] = {}
    for key, (required, valid, allowed, example, explain) in _VOLUME_FIELDS.items():
        value = item.get(key)
        fields[key] = None
        path = f"{at}.{key}"
        if value is None:
            if required:
                reader.problem(path, None, f"is required; {allowed}", set_command(path, example))
        elif not isinstance(value, str):
            reader.problem(path, value, allowed, set_command(path, example))
        elif not valid(value):
            detail = explain(value) if explain else None
            if detail is None:
                reader.problem(path, value, allowed, set_command(path, example))
            elif reader.is_secret(path):  # the details would show the value
                reader.problem(path, value, allowed, f"{set_command(path, 'VALUE')} --secret")
            else:
                why, suggestion = detail
                reader.problem(path, value, why, set_command(path, suggestion or example))
        else:
            fields[key] = value
    return fields


def _volume(reader: _Reader, index: int, item: object, sources: _Sources) -> ImageVolume | None:
    at = f"volumes[{index}]"
    if not isinstance(item, dict):
        reader.problem(
            at,
            item,
            "each volume must be an object {name, reference or source, pullPolicy, mountPath, subPath?}",
            set_command(f"{at}.name", "volume"),
        )
        return None
    for key in sorted(set(item) - set(VOLUME_KEYS)):
        guess = _did_you_mean(key, VOLUME_KEYS)
        hint = f"; did you mean {guess}?" if guess else ""
        reader.problem(
            f"{at}.{key}",
            item[key],
            f"is not a volume field{hint} (fields: {', '.join(VOLUME_KEYS)})",
            rm_command(f"{at}.{key}"),
        )
    fields = _volume_fields(reader, at, item)
    if not _reference_or_source(reader, at, item):
        return None
    name, reference, mount_path = fields["name"], fields["reference"], fields["mountPath"]
    source = None
    if name is not None and fields["source"] is not None:
        source = _source(reader, at, fields["source"], name, sources)
        reference = source.reference if source else None
        if source is not None and fields["subPath"] is not None:
            _sub_path_in_source(reader, at, fields["subPath"], source)
    if name is None or reference is None or mount_path is None:
        return None
    return ImageVolume(
        name=name,
        reference=reference,
        pull_policy=fields["pullPolicy"] or default_pull_policy(reference),
        mount_path=mount_path,
        sub_path=fields["subPath"],
        source=source,
    )


def _unique(reader: _Reader, field: str, values: list[tuple[int, str]]) -> None:
    """`values`: (index in the user's list, value), so a problem names the right entry."""
    seen: dict[str, int] = {}
    for index, value in values:
        if value in seen:
            reader.problem(
                f"volumes[{index}].{field}",
                value,
                f"must be unique; volumes[{seen[value]}] has it too",
                set_command(f"volumes[{index}].{field}", f"{value}-2"),
            )
        seen.setdefault(value, index)


def _volumes(reader: _Reader, runtime: str | None, sources: _Sources) -> tuple[ImageVolume, ...]:
    if "volumes" not in reader.raw:
        default = _volume(reader, 0, default_volume(runtime), sources)
        assert default is not None
        return (default,)
    example = json.dumps([default_volume(runtime)])
    value = reader.json_value("volumes", "a list of volume objects", example)
    if not isinstance(value, list) or not 1 <= len(value) <= VOLUMES_MAX:
        if value is not INVALID:
            reader.problem(
                "volumes",
                reader.raw["volumes"],
                f"must be a list of 1 to {VOLUMES_MAX} volume objects "
                "{name, reference, pullPolicy, mountPath, subPath?}",
                set_command("volumes", example),
            )
        return ()
    parsed = [(i, v) for i, item in enumerate(value) if (v := _volume(reader, i, item, sources)) is not None]
    _unique(reader, "name", [(i, v.name) for i, v in parsed])
    _unique(reader, "mountPath", [(i, posixpath.normpath(v.mount_path)) for i, v in parsed])
    return tuple(v for _, v in parsed)


def _is_argv(argv: object) -> bool:
    return isinstance(argv, list) and len(argv) > 0 and all(isinstance(arg, str) for arg in argv)


def _split_words(command_line: str) -> list[str]:
    """A command line split as a shell would (quotes honoured), else on whitespace."""
    try:
        return shlex.split(command_line)
    except ValueError:
        return command_line.split()


def _check_problem(reader: _Reader, value: list[Any], index: int, argv: Any) -> tuple[str, str] | None:
    """What is wrong with check `index` (what is allowed, the fix), or None."""
    if (isinstance(argv, str) and argv.strip()) or (
        _is_argv(argv) and argv[0].strip() and any(c.isspace() for c in argv[0])
    ):
        # A command line where a list of words belongs: split it, as a shell would.
        words = _split_words(argv) if isinstance(argv, str) else [*_split_words(argv[0]), *argv[1:]]
        what = (
            "each check must be a list of words (argv), not a command line"
            if isinstance(argv, str)
            else "its program name (argv[0]) has whitespace"
        )
        fixed = [*value[:index], words, *value[index + 1 :]]
        # A secret's words are never shown back, not even split.
        guess = "split into words" if reader.is_secret("checks") else f"did you mean {json.dumps(words)}?"
        return (
            f"{what}: a check runs without a shell, one word per list item; {guess}",
            reader.set_fix("checks", json.dumps(fixed)),
        )
    example = json.dumps([["ls", "-l", "/volume"], ["cat", "/volume/dir/file"]])
    if not _is_argv(argv):
        return (
            f"must be a list of 1 to {CHECKS_MAX} commands, each a non-empty list of strings "
            "(argv, run without a shell; a non-empty program name)",
            set_command("checks", example),
        )
    if argv[0].strip() == "":
        return (
            "its program name (argv[0]) is blank; it names the program to run, e.g. ls",
            set_command("checks", example),
        )
    size = sum(utf8_size(word) for word in argv)
    if size > COMMAND_MAX_BYTES:
        return (
            f"its argv is {size} bytes (UTF-8) in all; what reaches one command is at most "
            f"{COMMAND_MAX_BYTES} bytes",
            rm_command(f"checks[{index}]"),
        )
    return None


def _checks(reader: _Reader, volumes: tuple[ImageVolume, ...]) -> tuple[Check, ...]:
    if "checks" not in reader.raw:
        return default_checks(volumes)
    example = json.dumps([["ls", "-l", "/volume"], ["cat", "/volume/dir/file"]])
    allowed = (
        f"must be a list of 1 to {CHECKS_MAX} commands, each a non-empty list of strings "
        "(argv, run without a shell; a non-empty program name)"
    )
    value = reader.json_value("checks", "a list of argv lists", example)
    if not isinstance(value, list) or not 1 <= len(value) <= CHECKS_MAX:
        if value is not INVALID:
            reader.problem("checks", reader.raw["checks"], allowed, set_command("checks", example))
        return ()
    checks: list[Check] = []
    for index, argv in enumerate(value):
        problem = _check_problem(reader, value, index, argv)
        if problem is not None:
            reader.problem(f"checks[{index}]", argv, *problem)
            continue
        check = Check(tuple(argv))
        if check in checks:
            reader.problem(
                f"checks[{index}]",
                argv,
                "must be unique: its command line names its verification output",
                rm_command(f"checks[{index}]"),
            )
            continue
        checks.append(check)
    return tuple(checks)


def _kubernetes_version(
    reader: _Reader, cluster: KindClusterSettings | ExistingClusterSettings
) -> KubernetesVersion | None:
    given = reader.raw.get("kubernetesVersion")
    if given is not None:
        version = parse_kubernetes_version(given)
        if version is None:
            reader.problem(
                "kubernetesVersion",
                given,
                "must be a Kubernetes version such as 1.31.0 or v1.35.0",
                set_command("kubernetesVersion", "1.31.0"),
            )
        return version
    if isinstance(cluster, ExistingClusterSettings):
        return None
    reference = parse_image_reference(cluster.node_image)
    tag = reference.tag if reference else None
    version = parse_kubernetes_version(tag) if tag else None
    if version is None and reference is not None:
        reader.problem(
            "kubernetesVersion",
            None,
            f"cannot be read from the node image tag ({tag or 'no tag'} in {cluster.node_image}); "
            "set the Kubernetes version the image runs",
            set_command("kubernetesVersion", "1.31.0"),
        )
    return version


def parse_settings(
    raw: Mapping[str, str],
    stack: str,
    secret_keys: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    *,
    project_dir: Path = PROJECT,
    cache_dir: Path | None = DEFAULT_CACHE,
) -> Settings:
    """Validate every setting; raise SettingsError naming each problem.

    `secret_keys`: the keys set with `pulumi config set --secret`, whose values
    problems never show. `environ`: the program's environment, where kind's
    node provider and the Docker endpoint are read (FIDELITY.md section 3).
    `project_dir`: where a relative volume source starts; `cache_dir`: the
    folder digest cache (components/content/cache.py; None: no cache).
    """
    reader = _Reader(raw, secret_keys)
    _unknown_keys(reader)
    mode = reader.string(
        "clusterMode",
        "kind",
        _one_of(CLUSTER_MODES),
        f"must be kind (create a kind cluster) or existing (use the cluster of {NAMESPACE}:kubeconfig)",
        "kind",
    )
    _mode_keys(reader, mode)
    _strings(reader)
    cluster: KindClusterSettings | ExistingClusterSettings = (
        _kind_cluster(reader, stack, environ or {}) if mode == "kind" else _existing_cluster(reader)
    )
    pod_name = reader.string(
        "podName",
        "pod",
        is_dns1123_subdomain,
        "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253)",
        "pod",
    )
    namespace = reader.string(
        "namespace",
        "default",
        is_dns1123_label,
        "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
        "default",
    )
    pod_image_allowed = f"must be an OCI image reference such as {DEFAULT_POD_IMAGE}"
    pod_image = reader.string(
        "podImage",
        DEFAULT_POD_IMAGE,
        _is_image_reference,
        pod_image_allowed,
        DEFAULT_POD_IMAGE,
        explain=_explain_reference(pod_image_allowed),
    )
    runtime = cluster.runtime if isinstance(cluster, KindClusterSettings) else None
    registry = cluster.registry_host if isinstance(cluster, KindClusterSettings) else cluster.registry
    volumes = _volumes(reader, runtime, _Sources(registry, project_dir, cache_dir))
    pod = PodSettings(
        name=pod_name,
        namespace=namespace,
        image=pod_image,
        volumes=volumes,
        ready_timeout_seconds=_timeout(reader, "podReadyTimeout"),
    )
    checks = _checks(reader, volumes)
    version = _kubernetes_version(reader, cluster)
    _no_secret_names(reader)
    if reader.problems:
        raise SettingsError(stack, reader.problems)
    settings = Settings(
        stack=stack,
        cluster=cluster,
        kubernetes_version=version,
        pod=pod,
        checks=checks,
        secret_keys=frozenset(reader.secret_keys),
    )
    rule_problems = [replace(p, secret=reader.is_secret(p.key)) for p in check_rules(settings, raw)]
    if rule_problems:
        raise SettingsError(stack, rule_problems)
    return settings


def stack_config() -> dict[str, str]:
    """This stack's config under the project namespace, as the CLI passed it."""
    prefix = f"{NAMESPACE}:"
    merged: dict[str, Any] = {
        **pulumi.runtime.config.get_config_env(),
        **pulumi.runtime.config.CONFIG.get(),
    }
    return {key[len(prefix) :]: str(value) for key, value in merged.items() if key.startswith(prefix)}


def secret_config_keys() -> set[str]:
    """The keys of stack_config() whose values are secrets."""
    prefix = f"{NAMESPACE}:"
    listed = set(pulumi.runtime.config.get_config_secret_keys_env())
    return {
        key
        for key in stack_config()
        if f"{prefix}{key}" in listed or pulumi.runtime.config.is_config_secret(f"{prefix}{key}")
    }


def load_settings() -> Settings:
    return parse_settings(stack_config(), pulumi.get_stack(), secret_config_keys(), os.environ)
