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
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

# client-go clientcmd/api FlattenConfig: file references it inlines.
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}
_USER_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data"}


class KubeconfigError(ValueError):
    """What is wrong with the kubeconfig, in words for the user (never its content)."""


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


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise KubeconfigError(f"its context refers to {section[:-1]} {name!r}, which the file does not define")


def _inline(
    fields: dict[str, Any], files: dict[str, str], base_dir: str, read: Callable[[str], bytes]
) -> dict[str, Any]:
    out = dict(fields)
    for path_key, data_key in files.items():
        path = out.pop(path_key, None)
        if path is None or data_key in out:
            continue
        # client-go resolves relative paths against the kubeconfig's folder.
        full = posixpath.join(base_dir, str(path))
        try:
            out[data_key] = base64.b64encode(read(full)).decode()
        except OSError as error:
            raise KubeconfigError(f"{path_key} {full} cannot be read ({error.strerror})") from None
    return out


def choose_context(text: str, context: str, base_dir: str, read: Callable[[str], bytes]) -> ChosenContext:
    """Cut `context` out of the kubeconfig `text`; `read` reads a referenced file."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigError("it is not YAML") from None
    if not isinstance(document, dict):
        raise KubeconfigError("it is not a kubeconfig (a YAML map with clusters, users and contexts)")
    names = [c.get("name") for c in document.get("contexts") or [] if isinstance(c, dict)]
    if context not in names:
        known = ", ".join(str(n) for n in names) or "none"
        # The name given is not repeated: it may be a secret config value.
        raise KubeconfigError(f"the file has no such context (contexts: {known})")
    entry = _named(document, "contexts", context).get("context") or {}
    cluster = _named(document, "clusters", str(entry.get("cluster")))
    user = _named(document, "users", str(entry.get("user")))
    cluster_fields = _inline(cluster.get("cluster") or {}, _CLUSTER_FILES, base_dir, read)
    user_fields = _inline(user.get("user") or {}, _USER_FILES, base_dir, read)
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
