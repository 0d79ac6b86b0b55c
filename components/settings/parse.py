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
import json
import os
import posixpath
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi

from components.settings.grammar import (
    KubernetesVersion,
    is_dns1123_label,
    is_dns1123_subdomain,
    parse_duration_seconds,
    parse_image_reference,
    parse_kubernetes_version,
)
from components.settings.kubeconfig import KubeconfigError, choose_context
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
)
from components.settings.problems import NAMESPACE, Problem, SettingsError, rm_command, set_command
from components.settings.rules import check_rules

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

KIND_ONLY_KEYS = (
    "clusterName",
    "nodeImage",
    "runtime",
    "workers",
    "featureGates",
    "clusterReadyTimeout",
)
EXISTING_ONLY_KEYS = ("kubeconfig", "context")
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
VOLUME_KEYS = ("name", "reference", "pullPolicy", "mountPath", "subPath")
INVALID = object()  # a value already reported as a Problem


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
        self.problems.append(Problem(key, value, allowed, fix, secret=self.is_secret(key)))

    def string(
        self,
        key: str,
        default: str,
        valid: Callable[[str], bool],
        allowed: str,
        example: str,
    ) -> str:
        value = self.raw.get(key)
        if value is None:
            return default
        if not valid(value):
            self.problem(key, value, allowed, set_command(key, example))
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
    """imagevolume-<stack>, folded into a DNS-1123 label kind accepts."""
    folded = re.sub(r"[^a-z0-9-]+", "-", f"imagevolume-{stack}".lower()).strip("-")
    return folded[:CLUSTER_NAME_MAX].rstrip("-")


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
        if guess and reader.is_secret(key):
            fix += f" && {set_command(guess, 'VALUE')} --secret"
        elif guess:
            fix += f" && {set_command(guess, reader.raw[key])}"
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
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
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
    node_image = reader.string(
        "nodeImage",
        DEFAULT_NODE_IMAGE,
        _is_image_reference,
        f"must be an OCI image reference such as {DEFAULT_NODE_IMAGE} or "
        "kindest/node:v1.35.0@sha256:<64 hex digits>",
        DEFAULT_NODE_IMAGE,
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
    return KindClusterSettings(
        name=name,
        node_image=node_image,
        runtime=runtime,
        workers=int(workers),
        feature_gates=_feature_gates(reader),
        ready_timeout_seconds=_timeout(reader, "clusterReadyTimeout"),
        engine=Engine.from_environment(environ),
    )


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
    text = None
    if path:
        try:
            text = Path(full_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            reader.problem(
                "kubeconfig",
                path,
                "must be the path of a readable kubeconfig file (UTF-8 text); there is none there",
                set_command("kubeconfig", "~/.kube/config"),
            )
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
    if text is None or context is None:
        return ExistingClusterSettings(full_path, context or "", "", "")
    try:
        chosen = choose_context(text, context, os.path.dirname(full_path), lambda f: Path(f).read_bytes())
    except KubeconfigError as error:
        reader.problem(
            "context",
            context,
            f"cannot be used from {path}: {error}",
            set_command("context", "my-context"),
        )
        return ExistingClusterSettings(full_path, context, "", "")
    return ExistingClusterSettings(full_path, context, chosen.text, chosen.cluster_identifier)


def _is_sub_path(value: str) -> bool:
    # Kubernetes' validateLocalDescendingPath: relative, no ".." element.
    return value != "" and "\0" not in value and not value.startswith("/") and ".." not in value.split("/")


def _is_mount_path(value: str) -> bool:
    return (
        value.startswith("/")
        and value.strip("/") != ""
        and "\0" not in value
        and ".." not in value.split("/")
    )


# field: (required, valid, what is allowed, an example value)
_VOLUME_FIELDS: dict[str, tuple[bool, Callable[[str], bool], str, str]] = {
    "name": (
        True,
        is_dns1123_label,
        "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)",
        "volume",
    ),
    "reference": (
        True,
        _is_image_reference,
        "must be an OCI image reference such as quay.io/crio/artifact:v1",
        "quay.io/crio/artifact:v1",
    ),
    "pullPolicy": (
        False,
        _one_of(PULL_POLICIES),
        f"must be one of {', '.join(PULL_POLICIES)}",
        "IfNotPresent",
    ),
    "mountPath": (
        True,
        _is_mount_path,
        "must be an absolute path other than / without '..' elements",
        "/volume",
    ),
    "subPath": (
        False,
        _is_sub_path,
        "must be a relative path inside the image without '..' elements",
        "dir",
    ),
}


def _volume(reader: _Reader, index: int, item: object) -> ImageVolume | None:
    at = f"volumes[{index}]"
    if not isinstance(item, dict):
        reader.problem(
            at,
            item,
            "each volume must be an object {name, reference, pullPolicy, mountPath, subPath?}",
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
    fields: dict[str, str | None] = {}
    for key, (required, valid, allowed, example) in _VOLUME_FIELDS.items():
        value = item.get(key)
        fields[key] = None
        if value is None:
            if required:
                reader.problem(
                    f"{at}.{key}", None, f"is required; {allowed}", set_command(f"{at}.{key}", example)
                )
        elif not isinstance(value, str) or not valid(value):
            reader.problem(f"{at}.{key}", value, allowed, set_command(f"{at}.{key}", example))
        else:
            fields[key] = value
    name, reference, mount_path = fields["name"], fields["reference"], fields["mountPath"]
    if name is None or reference is None or mount_path is None:
        return None
    return ImageVolume(
        name=name,
        reference=reference,
        pull_policy=fields["pullPolicy"] or default_pull_policy(reference),
        mount_path=mount_path,
        sub_path=fields["subPath"],
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


def _volumes(reader: _Reader, runtime: str | None) -> tuple[ImageVolume, ...]:
    if "volumes" not in reader.raw:
        default = _volume(reader, 0, default_volume(runtime))
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
    parsed = [(i, v) for i, item in enumerate(value) if (v := _volume(reader, i, item)) is not None]
    _unique(reader, "name", [(i, v.name) for i, v in parsed])
    _unique(reader, "mountPath", [(i, posixpath.normpath(v.mount_path)) for i, v in parsed])
    return tuple(v for _, v in parsed)


def _is_argv(argv: object) -> bool:
    return (
        isinstance(argv, list)
        and len(argv) > 0
        and all(isinstance(arg, str) and "\0" not in arg for arg in argv)
        and argv[0] != ""
    )


def _checks(reader: _Reader, volumes: tuple[ImageVolume, ...]) -> tuple[Check, ...]:
    if "checks" not in reader.raw:
        return default_checks(volumes)
    example = json.dumps([["ls", "-l", "/volume"], ["cat", "/volume/dir/file"]])
    allowed = (
        f"must be a list of 1 to {CHECKS_MAX} commands, each a non-empty list of strings "
        "(argv, run without a shell; no NUL bytes; a non-empty program name)"
    )
    value = reader.json_value("checks", "a list of argv lists", example)
    if not isinstance(value, list) or not 1 <= len(value) <= CHECKS_MAX:
        if value is not INVALID:
            reader.problem("checks", reader.raw["checks"], allowed, set_command("checks", example))
        return ()
    checks: list[Check] = []
    for index, argv in enumerate(value):
        if not _is_argv(argv):
            reader.problem(f"checks[{index}]", argv, allowed, set_command("checks", example))
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
) -> Settings:
    """Validate every setting; raise SettingsError naming each problem.

    `secret_keys`: the keys set with `pulumi config set --secret`, whose values
    problems never show. `environ`: the program's environment, where kind's
    node provider and the Docker endpoint are read (FIDELITY.md section 3).
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
    pod_image = reader.string(
        "podImage",
        DEFAULT_POD_IMAGE,
        _is_image_reference,
        f"must be an OCI image reference such as {DEFAULT_POD_IMAGE}",
        DEFAULT_POD_IMAGE,
    )
    runtime = cluster.runtime if isinstance(cluster, KindClusterSettings) else None
    volumes = _volumes(reader, runtime)
    pod = PodSettings(
        name=pod_name,
        namespace=namespace,
        image=pod_image,
        volumes=volumes,
        ready_timeout_seconds=_timeout(reader, "podReadyTimeout"),
    )
    checks = _checks(reader, volumes)
    version = _kubernetes_version(reader, cluster)
    if reader.problems:
        raise SettingsError(stack, reader.problems)
    settings = Settings(stack=stack, cluster=cluster, kubernetes_version=version, pod=pod, checks=checks)
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
