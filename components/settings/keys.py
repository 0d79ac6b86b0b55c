"""The config's keys as a whole: unknown and misplaced keys, every string given, secret names."""

from __future__ import annotations

import json
from collections.abc import Iterator

from components.settings.grammar import control_characters, utf8_size
from components.settings.problems import NAMESPACE, escape, rm_command, set_command
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
                f"{set_command(key, 'NAME')} (without --secret)",
            )


def check_unknown_keys(reader: Reader) -> None:
    for key in sorted(set(reader.raw) - set(KNOWN_KEYS)):
        guess = did_you_mean(key, KNOWN_KEYS)
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
            elif is_name or (path == key and key not in EXISTING_ONLY_KEYS):
                fix = rm_command(path)  # a name goes; a top-level key falls back to its default
            else:
                fix = set_command(path, "VALUE")
            reader.problem(path, text, "; ".join(found), fix)
