"""What a bad setting looks like to the user: one Problem per mistake."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

NAMESPACE = "imagevolume"  # the project name in Pulumi.yaml; config keys live under it
_SHOWN_VALUE_MAX = 200


@dataclass(frozen=True)
class Problem:
    """One mistake in stack config: the key, what was given, what is allowed, the fix."""

    key: str  # without the namespace; may be a path such as "volumes[0].pullPolicy"
    value: object  # as given; None when the key is unset
    allowed: str
    fix: str
    secret: bool = False  # a secret config value is never shown back

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key} = {self._shown_value()}: {self.allowed}\n    fix: {self.fix}"

    def _shown_value(self) -> str:
        if self.secret:
            return "[secret]"
        if self.value is None:
            return "(unset)"
        return _show(self.value)


def _show(value: object) -> str:
    text = json.dumps(value)
    if len(text) > _SHOWN_VALUE_MAX:
        return text[:_SHOWN_VALUE_MAX] + "...(truncated)"
    return text


def _key_words(key: str) -> str:
    # A key such as volumes[0].name is a path into a structured value.
    path_flag = "--path " if ("." in key or "[" in key) else ""
    return f"{path_flag}{shlex.quote(f'{NAMESPACE}:{key}')}"


def set_command(key: str, value: str) -> str:
    """The `pulumi config set` line that stores `value` at `key`."""
    return f"pulumi config set {_key_words(key)} {shlex.quote(value)}"


def rm_command(key: str) -> str:
    return f"pulumi config rm {_key_words(key)}"


class SettingsError(pulumi.RunError):
    """Every problem in a stack's config, raised before any resource is declared.

    A RunError makes Pulumi print the message alone, without a Python traceback.
    """

    def __init__(self, stack: str, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        plural = "s" if count != 1 else ""
        heading = f"stack {stack!r}: {count} problem{plural} in stack config, nothing was created:"
        super().__init__("\n".join([heading, *(f"- {p}" for p in self.problems)]))
