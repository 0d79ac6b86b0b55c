"""What a bad setting looks like to the user: one Problem per mistake."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import pulumi

NAMESPACE = "imagevolume"  # the project name in Pulumi.yaml; config keys live under it
_SHOWN_VALUE_MAX = 200
_SHOWN_KEY_MAX = 200


@dataclass(frozen=True)
class Problem:
    """One mistake in stack config: the key, what was given, what is allowed, the fix."""

    key: str  # without the namespace; may be a path such as "volumes[0].pullPolicy"
    value: object  # as given; None when the key is unset
    allowed: str
    fix: str
    secret: bool = False  # a secret config value is never shown back
    namespace: str = NAMESPACE  # another one for a key the program does not read (kubernetes:context)

    def __str__(self) -> str:
        # Nothing given can reach the report raw: a value or key with a control
        # character would otherwise forge lines of it or drive the terminal.
        return (
            f"{show_key(self.namespace)}:{show_key(self.key)} = {self._shown_value()}: "
            f"{escape(self.allowed)}\n"
            f"    fix: {escape(self.fix)}"
        )

    def _shown_value(self) -> str:
        if self.secret:
            return "[secret]"
        if self.value is None:
            return "(unset)"
        return _show(self.value)


def _truncated(text: str, limit: int) -> str:
    return text[:limit] + "...(truncated)" if len(text) > limit else text


def _show(value: object) -> str:
    # JSON with ASCII escapes: every control character (and any other
    # non-ASCII one) is shown as an escape such as \u001b, never raw.
    return _truncated(json.dumps(value), _SHOWN_VALUE_MAX)


def escape(text: str) -> str:
    """`text` with every character that is not printable (control characters,
    line and paragraph separators, bidi controls) as a JSON-style escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def show_key(key: str) -> str:
    """A key (a path such as volumes[0].name) as a report shows it."""
    return _truncated(escape(key), _SHOWN_KEY_MAX)


def shell_quote(word: str) -> str:
    """`word` quoted for a POSIX shell; one with characters that are not
    printable in bash's $'...' form, so the command stays one pasteable line."""
    if word.isprintable():
        return shlex.quote(word)
    escaped = "".join(
        c if c.isprintable() and c not in "\\'" else f"\\{c}" if c in "\\'" else _ansi_c(c) for c in word
    )
    return f"$'{escaped}'"


def _ansi_c(character: str) -> str:
    code = ord(character)
    if character in _ANSI_C_NAMES:
        return _ANSI_C_NAMES[character]
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_ANSI_C_NAMES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e"}


def _key_words(key: str, namespace: str = NAMESPACE) -> str:
    # A key such as volumes[0].name is a path into a structured value.
    path_flag = "--path " if ("." in key or "[" in key) else ""
    return f"{path_flag}{shell_quote(f'{namespace}:{key}')}"


# The stack whose config is being read: every fix names it (--stack), so a
# fix is a complete command whichever stack is selected. Set by
# fixes_for_stack around one stack's parse.
_FIX_STACK: ContextVar[str] = ContextVar("fix_stack", default="")


@contextlib.contextmanager
def fixes_for_stack(stack: str) -> Iterator[None]:
    token = _FIX_STACK.set(stack)
    try:
        yield
    finally:
        _FIX_STACK.reset(token)


def _config_command(verb: str) -> str:
    stack = _FIX_STACK.get()
    return f"pulumi config {verb} --stack {shell_quote(stack)}" if stack else f"pulumi config {verb}"


def set_command(key: str, value: str) -> str:
    """The `pulumi config set` line that stores `value` at `key`."""
    end_of_flags = "-- " if value.startswith("-") else ""  # -1 is a value, not a flag
    return f"{_config_command('set')} {_key_words(key)} {end_of_flags}{shell_quote(value)}"


def copy_command(key: str, source: str, *, namespace: str = NAMESPACE, secret: bool = False) -> str:
    """The `pulumi config set` line that stores at `key` the value now at
    `source` (in `namespace`), read back with `pulumi config get` inside the
    command: a secret is moved without being shown."""
    read = f"{_config_command('get')} {_key_words(source, namespace)}"
    # An assignment's status is its command's: a failed get (no passphrase)
    # stops the line instead of storing an empty value. `--` keeps a value
    # that starts with '-' from being read as a flag.
    write = f"{_config_command('set')}{' --secret' if secret else ''} {_key_words(key)}"
    return f'value=$({read}) && {write} -- "$value"'


def rm_command(key: str, namespace: str = NAMESPACE) -> str:
    return f"{_config_command('rm')} {_key_words(key, namespace)}"


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
