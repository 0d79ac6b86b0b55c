"""The existing cluster's settings: kubeconfig, context and registry."""

from __future__ import annotations

import os

from components.settings.grammar import control_characters
from components.settings.kubeconfig import (
    KUBECONFIG_MAX_BYTES,
    REFERENCED_FILE_MAX_BYTES,
    KubeconfigError,
    choose_context,
    parse_kubeconfig,
    read_file,
)
from components.settings.model import ExistingClusterSettings
from components.settings.problems import set_command, shell_quote
from components.settings.reader import Reader
from components.settings.registry import read_registry


def _read_kubeconfig(reader: Reader, path: str, full_path: str) -> str | None:
    """The kubeconfig's text, or None and a Problem. The fix names no real
    path: the one set is the one that failed, ~/.kube/config included."""
    fix = set_command("kubeconfig", "/path/to/your/kubeconfig")
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


def _context_fix(text: str | None, full_path: str) -> str:
    """The fix for a missing or unusable context: the file's current-context,
    else its first context, when the name can be set; a context whose name
    cannot (a control character) is renamed in the file first."""
    names: list[str] = []
    current = None
    if text is not None:
        try:
            document = parse_kubeconfig(text)
        except KubeconfigError:
            document = {}
        names = [c["name"] for c in document.get("contexts") or [] if isinstance(c.get("name"), str)]
        current = document.get("current-context")
    usable = [name for name in names if name and not control_characters(name)]
    if usable:
        return set_command("context", current if current in usable else usable[0])
    if names:
        renamed = "".join(c for c in names[0] if not control_characters(c)) or "my-context"
        rename = (
            f"kubectl --kubeconfig {shell_quote(full_path)} config rename-context "
            f"{shell_quote(names[0])} {shell_quote(renamed)}"
        )
        return f"{rename} && {set_command('context', renamed)}"
    return set_command("context", "my-context")


def read_existing_cluster(reader: Reader) -> ExistingClusterSettings:
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
            _context_fix(text, full_path),
        )
        context = None
    registry = read_registry(reader)
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
                _context_fix(text, full_path),
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
