"""The checks run in the pod (checks): argv lists, or the walkthrough's defaults."""

from __future__ import annotations

import json
import posixpath
import shlex
from typing import Any

from components.settings.grammar import parse_image_reference, utf8_size
from components.settings.model import WALKTHROUGH_ARTIFACT, Check, ImageVolume
from components.settings.problems import set_command
from components.settings.reader import COMMAND_MAX_BYTES, INVALID, Reader

CHECKS_MAX = 50


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


def _is_argv(argv: object) -> bool:
    return isinstance(argv, list) and len(argv) > 0 and all(isinstance(arg, str) for arg in argv)


def _split_words(command_line: str) -> list[str]:
    """A command line split as a shell would (quotes honoured), else on whitespace."""
    try:
        return shlex.split(command_line)
    except ValueError:
        return command_line.split()


def _check_problem(reader: Reader, argv: Any) -> tuple[str, list[str] | None] | None:
    """What is wrong with one check (what is allowed, and the words to put in
    its place, None to drop it), or None when it is good."""
    if (isinstance(argv, str) and argv.strip()) or (
        _is_argv(argv) and argv[0].strip() and any(c.isspace() for c in argv[0])
    ):
        # A command line where a list of words belongs: split it, as a shell would.
        words = _split_words(argv) if isinstance(argv, str) else [*_split_words(argv[0]), *argv[1:]]
        what = (
            "each check must be a list of words (argv), not a command line"
            if isinstance(argv, str)
            else "its program name (argv[0]) has whitespace"
        )
        # A secret's words are never shown back, not even split.
        guess = "split into words" if reader.is_secret("checks") else f"did you mean {json.dumps(words)}?"
        return f"{what}: a check runs without a shell, one word per list item; {guess}", words
    if not _is_argv(argv):
        return (
            f"must be a list of 1 to {CHECKS_MAX} commands, each a non-empty list of strings "
            "(argv, run without a shell; a non-empty program name)",
            None,
        )
    if argv[0].strip() == "":
        return "its program name (argv[0]) is blank; it names the program to run, e.g. ls", None
    size = sum(utf8_size(word) for word in argv)
    if size > COMMAND_MAX_BYTES:
        return (
            f"its argv is {size} bytes (UTF-8) in all; what reaches one command is at most "
            f"{COMMAND_MAX_BYTES} bytes",
            None,
        )
    return None


def read_checks(reader: Reader, volumes: tuple[ImageVolume, ...]) -> tuple[Check, ...]:
    if "checks" not in reader.raw:
        return default_checks(volumes)
    example = json.dumps([["ls", "-l", "/volume"], ["cat", "/volume/dir/file"]])
    allowed = (
        f"must be a list of 1 to {CHECKS_MAX} commands, each a non-empty list of strings "
        "(argv, run without a shell; a non-empty program name)"
    )
    value = reader.json_value("checks", "a list of argv lists", example)
    if not isinstance(value, list) or not 1 <= len(value) <= CHECKS_MAX:
        if value is not INVALID:
            reader.problem("checks", reader.raw["checks"], allowed, set_command("checks", example))
        return ()
    checks: list[Check] = []
    found: list[tuple[int, str]] = []  # (index, what is allowed)
    corrected: list[list[str]] = []  # the list with every problem fixed at once
    for index, argv in enumerate(value):
        problem = _check_problem(reader, argv)
        if problem is not None:
            found.append((index, problem[0]))
            replacement = problem[1]
        elif Check(tuple(argv)) in checks:
            found.append((index, "must be unique: its command line names its verification output"))
            replacement = None
        else:
            checks.append(Check(tuple(argv)))
            replacement = list(argv)
        if replacement is not None and replacement not in corrected:
            corrected.append(replacement)
    # One fix for all of them: fixes of single items would overwrite each
    # other (the list is one setting) or shift each other's indexes.
    fix = reader.set_fix("checks", json.dumps(corrected)) if corrected else set_command("checks", example)
    for index, what in found:
        reader.problem(f"checks[{index}]", value[index], what, fix)
    return tuple(checks)
