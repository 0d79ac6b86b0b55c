"""`existing` mode: the one context the stack uses, cut out of the user's
kubeconfig (pure; the caller reads the files).

The result is what `kubectl config view --minify --flatten --context C`
prints: that context, its cluster and its user, `current-context` set to it,
and certificate files inlined as `*-data`. Only it reaches the provider, the
commands and the state: pulumi-kubernetes compares kubeconfigs by their active
cluster (provider/pkg/provider/provider.go), so a context switch in the
user's file (kind switches it on every create) must change nothing, and no
other context's credentials belong in state. `exec` and `auth-provider`
credentials (EKS, GKE, AKS) are kept as they are: their plugin must be on PATH.
"""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

# client-go clientcmd/api FlattenConfig: file references it inlines.
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}
_USER_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}
KUBECONFIG_MAX_BYTES = 16 * 1024 * 1024
REFERENCED_FILE_MAX_BYTES = 1024 * 1024


class KubeconfigError(ValueError):
    """What is wrong with the kubeconfig, in words for the user (never its
    content): a clause such as "it is a YAML list". `key`: the setting to
    blame, kubeconfig (the file) or context (the name chosen in it)."""

    def __init__(self, message: str, key: str = "kubeconfig") -> None:
        super().__init__(message)
        self.key = key


def read_file(path: str, limit: int) -> bytes:
    """A regular file of at most `limit` bytes; OSError (with strerror) otherwise.

    Never blocks on a pipe or reads a device without end (/dev/zero)."""
    try:
        info = os.stat(path)
    except ValueError:  # a NUL in the path
        raise OSError(0, "not a path: it has a NUL character") from None
    if stat.S_ISDIR(info.st_mode):
        raise OSError(0, "a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise OSError(0, "not a regular file (a device, pipe or socket)")
    with open(path, "rb") as file:
        content = file.read(limit + 1)
    if len(content) > limit:
        raise OSError(0, f"larger than {limit // (1024 * 1024)} MiB")
    return content


@dataclass(frozen=True)
class ChosenContext:
    text: str  # the minified, flattened kubeconfig (YAML), a secret
    context: str
    server: str

    @property
    def cluster_identifier(self) -> str:
        """Stable while the context points at the same API server."""
        digest = hashlib.sha256(f"{self.context}\n{self.server}".encode()).hexdigest()
        return f"existing-{digest[:16]}"


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "a YAML list"
    return "a YAML scalar" if not isinstance(value, dict) else "a YAML map"


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """The kubeconfig document: a YAML map whose kind, if any, is Config, and
    whose clusters, users and contexts are lists of maps."""
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        # Only where: the message itself may quote the file (credentials).
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise KubeconfigError(f"it is not YAML{where}") from None
    except (yaml.YAMLError, ValueError, RecursionError, OverflowError):
        # ValueError: a date such as 2001-02-30; RecursionError: deep nesting.
        raise KubeconfigError("it is not YAML") from None
    if document is None:
        raise KubeconfigError("it is empty")
    if not isinstance(document, dict):
        raise KubeconfigError(f"it is {_yaml_kind(document)}, not a map")
    kind = document.get("kind")
    if kind is not None and kind != "Config":
        raise KubeconfigError(f"it has kind: {kind}, not kind: Config")
    for section in ("clusters", "users", "contexts"):
        entries = document.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise KubeconfigError(f"its {section} is {_yaml_kind(entries)}, not a list")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise KubeconfigError(f"its {section}[{index}] is {_yaml_kind(entry)}, not a map")
    return document


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if entry.get("name") == name:
            return dict(entry)
    raise KubeconfigError(
        f"its context refers to {section[:-1]} {name!r}, which the file does not define", key="context"
    )


def _fields(entry: dict[str, Any], field: str, what: str) -> dict[str, Any]:
    fields = entry.get(field)
    if fields is None:
        return {}
    if not isinstance(fields, dict):
        raise KubeconfigError(
            f"its {what} {entry.get('name')!r} has a {field} that is {_yaml_kind(fields)}, not a map"
        )
    return dict(fields)


def _inline(
    fields: dict[str, Any], files: dict[str, str], base_dir: str, read: Callable[[str], bytes]
) -> dict[str, Any]:
    out = dict(fields)
    for path_key, data_key in files.items():
        path = out.pop(path_key, None)
        if path is None or data_key in out:
            continue
        if not isinstance(path, str) or path == "":
            raise KubeconfigError(f"its {path_key} is not a file path")
        # client-go resolves relative paths against the kubeconfig's folder.
        full = posixpath.join(base_dir, path)
        shown = path if full == path else f"{path} ({full})"
        try:
            out[data_key] = base64.b64encode(read(full)).decode()
        except OSError as error:
            raise KubeconfigError(
                f"its {path_key} {shown} cannot be read ({error.strerror or error}); relative paths "
                "are resolved against the kubeconfig's folder"
            ) from None
    return out


def choose_context(text: str, context: str, base_dir: str, read: Callable[[str], bytes]) -> ChosenContext:
    """Cut `context` out of the kubeconfig `text`; `read` reads a referenced file."""
    document = parse_kubeconfig(text)
    names = [c.get("name") for c in document.get("contexts") or []]
    if context not in names:
        known = ", ".join(str(n) for n in names) or "none"
        # The name given is not repeated: it may be a secret config value.
        raise KubeconfigError(f"the file has no such context (contexts: {known})", key="context")
    context_entry = _named(document, "contexts", context)
    entry = _fields(context_entry, "context", "context")
    cluster = _named(document, "clusters", str(entry.get("cluster")))
    user = _named(document, "users", str(entry.get("user")))
    cluster_fields = _inline(_fields(cluster, "cluster", "cluster"), _CLUSTER_FILES, base_dir, read)
    user_fields = _inline(_fields(user, "user", "user"), _USER_FILES, base_dir, read)
    minified = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster["name"], "cluster": cluster_fields}],
        "users": [{"name": user["name"], "user": user_fields}],
        "contexts": [{"name": context, "context": entry}],
        "current-context": context,
    }
    return ChosenContext(
        text=yaml.safe_dump(minified, sort_keys=False),
        context=context,
        server=str(cluster_fields.get("server", "")),
    )
