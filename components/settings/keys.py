"""The config's keys as a whole: unknown and misplaced keys, every string given, secret names."""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterator, Mapping

from components.settings.grammar import control_characters, utf8_size
from components.settings.problems import NAMESPACE, Problem, copy_command, escape, rm_command, set_command
from components.settings.reader import Reader, did_you_mean

# Each string in stack config (values, names, list items, map keys), in UTF-8.
STRING_MAX_BYTES = 4096
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
JSON_KEYS = ("featureGates", "volumes", "checks")  # lists and maps, JSON-encoded by the CLI
# What reaches the kind create command (its environment and the config on stdin).
CLUSTER_COMMAND_KEYS = (*CLUSTER_DEFINING_KEYS, "kubernetesVersion")


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


def check_secret_names(reader: Reader) -> None:
    for key, why in SECRET_REFUSED.items():
        if key in reader.raw and reader.is_secret(key):
            reader.problem(
                key,
                reader.raw[key],
                f"cannot be a secret: {why}",
                copy_command(key, key),  # the same value, set without --secret
            )


def check_unknown_keys(reader: Reader) -> None:
    for key in sorted(set(reader.raw) - set(KNOWN_KEYS)):
        guess = did_you_mean(key, KNOWN_KEYS)
        hint = f"did you mean {NAMESPACE}:{guess}? " if guess else ""
        fix = rm_command(key)
        value = reader.raw[key]
        if guess and reader.is_secret(key):
            fix = f"{copy_command(guess, key, secret=True)} && {fix}"
        elif guess and utf8_size(value) > STRING_MAX_BYTES:
            fix = f"{set_command(guess, 'VALUE')} && {fix}"
        elif guess:
            fix = f"{set_command(guess, _without_controls(value))} && {fix}"
        reader.problem(
            key,
            reader.raw[key],
            f"is not a setting of this project; {hint}known: {', '.join(KNOWN_KEYS)}",
            fix,
        )


# Namespaces whose keys this program's explicit providers never read, and
# what of theirs has a setting here (pulumi-kubernetes' provider config keys;
# pulumi-command has no provider config).
PROVIDER_NAMESPACES = {
    "kubernetes": {"context": "context", "kubeconfig": "kubeconfig", "namespace": "namespace"},
    "command": {},
}


def _own_namespace_guess(namespace: str) -> bool:
    """Whether a namespace looks like a mistyped `imagevolume` (imagevolumes, ImageVolume, image-volume)."""
    folded = namespace.lower().replace("-", "").replace("_", "")
    return folded == NAMESPACE or difflib.SequenceMatcher(None, folded, NAMESPACE).ratio() >= 0.8


def check_foreign_keys(reader: Reader, foreign: Mapping[str, str], secret: Collection[str]) -> None:
    """Keys of other namespaces that were meant for this program: the
    providers' own (which the program's explicit providers never read) and
    mistyped project namespaces. Any other namespace is left alone."""
    for full_key in sorted(foreign):
        namespace, _, key = full_key.partition(":")
        if namespace in PROVIDER_NAMESPACES:
            ours = PROVIDER_NAMESPACES[namespace].get(key.split(".", 1)[0].split("[", 1)[0])
            why = (
                f"is not read: this program's {namespace} provider is explicit and takes its settings from "
                f"{NAMESPACE}: keys"
            )
        elif namespace != NAMESPACE and _own_namespace_guess(namespace):
            ours = did_you_mean(key, KNOWN_KEYS) or None
            why = f"is not read: this project's namespace is {NAMESPACE}"
        else:
            continue
        hint = f"; did you mean {NAMESPACE}:{ours}?" if ours else ""
        fix = rm_command(key, namespace)
        value = foreign[full_key]
        if ours:
            fix = f"{copy_command(ours, key, namespace=namespace, secret=full_key in secret)} && {fix}"
        reader.problems.append(
            Problem(key, value, why + hint, fix, secret=full_key in secret, namespace=namespace)
        )


def check_mode_keys(reader: Reader, mode: str) -> None:
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


def _with_string(value: object, path: str, target: str, new: str) -> object:
    """A copy of a decoded value with the string (not name) at key path `target` replaced by `new`."""
    if isinstance(value, str):
        return new if path == target else value
    if isinstance(value, list):
        return [_with_string(item, f"{path}[{index}]", target, new) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {name: _with_string(item, f"{path}.{name}", target, new) for name, item in value.items()}
    return value


def _decoded(key: str, raw: str) -> object:
    if key not in JSON_KEYS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return None  # reported as not JSON (value shown escaped) where the key is read


def _without_controls(text: str) -> str:
    return "".join(c for c in text if not control_characters(c) and not 0xD800 <= ord(c) <= 0xDFFF)


def check_strings(reader: Reader) -> None:
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
                decoded = _decoded(key, reader.raw[key])
                reader.suggested[path] = (
                    key,
                    cleaned
                    if key not in JSON_KEYS
                    else json.dumps(_with_string(decoded, key, path, cleaned)),
                )
            elif is_name or (path == key and key not in EXISTING_ONLY_KEYS):
                fix = rm_command(path)  # a name goes; a top-level key falls back to its default
            else:
                fix = set_command(path, "VALUE")
            reader.problem(path, text, "; ".join(found), fix)
