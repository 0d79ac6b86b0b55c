"""Stack config, parsed and validated once into frozen dataclasses.

`parse_settings` is pure apart from reading the `existing` mode's kubeconfig
(and the certificate files it names) and taking the environment it is given:
it takes config values in the form the Pulumi CLI hands them to the program
(strings; lists and maps JSON-encoded) and returns Settings or raises
SettingsError listing every problem at once. `load_settings` reads the running
stack's config and calls it. Each concern is read in a module of its own
(`keys`, `cluster`, `registry`, `existing`, `pod`, `volumes`, `checks`), through
the shared `reader`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi

from components.content.builder import DEFAULT_CACHE, PROJECT
from components.settings.checks import read_checks
from components.settings.cluster import read_kind_cluster, read_kubernetes_version
from components.settings.existing import read_existing_cluster
from components.settings.keys import (
    CLUSTER_COMMAND_KEYS,
    check_foreign_keys,
    check_mode_keys,
    check_secret_names,
    check_strings,
    check_unknown_keys,
)
from components.settings.model import ExistingClusterSettings, KindClusterSettings, Settings
from components.settings.pod import read_pod
from components.settings.problems import NAMESPACE, Problem, SettingsError, fixes_for_stack
from components.settings.reader import Reader, one_of
from components.settings.rules import check_rules
from components.settings.volumes import Sources

__all__ = ["CLUSTER_COMMAND_KEYS", "load_settings", "parse_settings", "secret_config_keys", "stack_config"]

CLUSTER_MODES = ("kind", "existing")


def parse_settings(
    raw: Mapping[str, str],
    stack: str,
    secret_keys: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    *,
    project_dir: Path = PROJECT,
    cache_dir: Path | None = DEFAULT_CACHE,
    foreign: Mapping[str, str] | None = None,
    foreign_secret: Collection[str] = (),
) -> Settings:
    """Validate every setting; raise SettingsError naming each problem, each
    with the `pulumi config ... --stack <stack>` command that fixes it.

    `secret_keys`: the keys set with `pulumi config set --secret`, whose values
    problems never show. `environ`: the program's environment, where kind's
    node provider and the Docker endpoint are read (docs/fidelity.md section 3).
    `project_dir`: where a relative volume source starts; `cache_dir`: the
    folder digest cache (components/content/cache.py; None: no cache).
    `foreign`: the stack's config in other namespaces (full keys), where keys
    meant for this program are refused (`foreign_secret`: the secret ones).
    """
    with fixes_for_stack(stack):
        foreign_reader = Reader({}, ())
        check_foreign_keys(foreign_reader, foreign or {}, foreign_secret)
        try:
            settings = _parse_settings(
                raw, stack, secret_keys, environ, project_dir=project_dir, cache_dir=cache_dir
            )
        except SettingsError as refused:
            raise SettingsError(stack, [*foreign_reader.problems, *refused.problems]) from None
        if foreign_reader.problems:
            raise SettingsError(stack, foreign_reader.problems)
        return settings


def _parse_settings(
    raw: Mapping[str, str],
    stack: str,
    secret_keys: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    *,
    project_dir: Path = PROJECT,
    cache_dir: Path | None = DEFAULT_CACHE,
) -> Settings:
    """parse_settings without the stack around it."""
    reader = Reader(raw, secret_keys)
    check_unknown_keys(reader)
    mode = reader.string(
        "clusterMode",
        "kind",
        one_of(CLUSTER_MODES),
        f"must be kind (create a kind cluster) or existing (use the cluster of {NAMESPACE}:kubeconfig)",
        "kind",
    )
    check_mode_keys(reader, mode)
    check_strings(reader)
    cluster: KindClusterSettings | ExistingClusterSettings = (
        read_kind_cluster(reader, stack, environ or {}) if mode == "kind" else read_existing_cluster(reader)
    )
    runtime = cluster.runtime if isinstance(cluster, KindClusterSettings) else None
    registry = cluster.registry_host if isinstance(cluster, KindClusterSettings) else cluster.registry
    pod = read_pod(reader, runtime, Sources(registry, project_dir, cache_dir))
    checks = read_checks(reader, pod.volumes)
    version = read_kubernetes_version(reader, cluster)
    check_secret_names(reader)
    if reader.problems:
        raise SettingsError(
            stack, _checked_suggestions(reader, stack, secret_keys, environ, project_dir, cache_dir)
        )
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


def _checked_suggestions(  # noqa: PLR0917 - parse_settings' own arguments
    reader: Reader,
    stack: str,
    secret_keys: Collection[str],
    environ: Mapping[str, str] | None,
    project_dir: Path,
    cache_dir: Path | None,
) -> list[Problem]:
    """The problems, each suggested value checked against every other rule:
    one that would be refused in turn (pod[31m once its escape character is
    dropped: not a DNS name) gets the fix that rule gives, so that applying
    the fixes gives a config that passes."""
    problems = list(reader.problems)
    for index, problem in enumerate(problems):
        if problem.key not in reader.suggested:
            continue
        key, suggested = reader.suggested[problem.key]
        try:
            _parse_settings(
                {**reader.raw, key: suggested},
                stack,
                secret_keys,
                environ,
                project_dir=project_dir,
                cache_dir=cache_dir,
            )
        except SettingsError as refused:
            again = [p for p in refused.problems if p.key in {problem.key, key}]
            if again:
                problems[index] = replace(problem, fix=again[0].fix)
    return problems


def stack_config() -> dict[str, str]:
    """This stack's config under the project namespace, as the CLI passed it."""
    prefix = f"{NAMESPACE}:"
    merged: dict[str, Any] = {
        **pulumi.runtime.config.get_config_env(),
        **pulumi.runtime.config.CONFIG.get(),
    }
    return {key[len(prefix) :]: str(value) for key, value in merged.items() if key.startswith(prefix)}


def foreign_config() -> dict[str, str]:
    """This stack's config outside the project namespace, by full key."""
    merged: dict[str, Any] = {
        **pulumi.runtime.config.get_config_env(),
        **pulumi.runtime.config.CONFIG.get(),
    }
    return {key: str(value) for key, value in merged.items() if not key.startswith(f"{NAMESPACE}:")}


def _is_secret(full_key: str) -> bool:
    listed = set(pulumi.runtime.config.get_config_secret_keys_env())
    return full_key in listed or pulumi.runtime.config.is_config_secret(full_key)


def secret_config_keys() -> set[str]:
    """The keys of stack_config() whose values are secrets."""
    return {key for key in stack_config() if _is_secret(f"{NAMESPACE}:{key}")}


def load_settings() -> Settings:
    foreign = foreign_config()
    return parse_settings(
        stack_config(),
        pulumi.get_stack(),
        secret_config_keys(),
        os.environ,
        foreign=foreign,
        foreign_secret={key for key in foreign if _is_secret(key)},
    )
