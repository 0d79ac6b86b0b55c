"""The shared reader of raw config values: its typed getters and the checks they take."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping

from components.settings.grammar import digest_refusal, parse_duration_seconds, parse_image_reference
from components.settings.problems import Problem, set_command

TIMEOUT_MIN_SECONDS = 10
TIMEOUT_MAX_SECONDS = 3600
DEFAULT_TIMEOUT = "5m"
# What reaches one command: a check's argv, the kind cluster's settings. A
# Command's environment and an exec's argv stay far below the kernel's limits.
COMMAND_MAX_BYTES = 65536
INVALID = object()  # a value already reported as a Problem

# A refusal with details: (what is allowed, a value to suggest or None).
Explain = Callable[[str], tuple[str, str | None] | None]


class Reader:
    """Reads raw config values, recording a Problem for each bad one.

    Every method returns a usable value (the default when the given one is
    bad), so parsing goes on and every problem is reported in one run.
    """

    def __init__(self, raw: Mapping[str, str], secret_keys: Collection[str]) -> None:
        self.raw = raw
        self.secret_keys = frozenset(secret_keys)
        self.problems: list[Problem] = []
        # A fix that suggests a value derived from the given one (its control
        # characters dropped): key path -> (the top-level key, its whole new
        # raw value), checked against the other rules before it is shown.
        self.suggested: dict[str, tuple[str, str]] = {}

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


def is_image_reference(value: str) -> bool:
    return parse_image_reference(value) is not None


def explain_reference(allowed: str) -> Explain:
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


def one_of(choices: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda value: value in choices


def _is_timeout(value: str) -> bool:
    seconds = parse_duration_seconds(value)
    return seconds is not None and TIMEOUT_MIN_SECONDS <= seconds <= TIMEOUT_MAX_SECONDS


def read_timeout(reader: Reader, key: str) -> int:
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


def did_you_mean(key: str, known: tuple[str, ...]) -> str:
    folded = {k.lower(): k for k in known}
    if key.lower() in folded:
        return folded[key.lower()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else ""
