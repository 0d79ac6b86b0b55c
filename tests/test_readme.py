"""README names only what exists: every file and folder of the project it
names (in `code` or a code block), every `make` target, every variable."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from harness import ROOT

README = (ROOT / "README.md").read_text()
# Files README names that are not the project's own: containerd's registry
# config, named where README explains how the nodes reach a registry.
UPSTREAM_FILES = {"hosts.toml"}
PATH_LIKE = re.compile(
    r"[\w.\-/]+\.(?:py|sh|md|yaml|yml|txt|toml|json)|(?:components|scripts|tests|examples|bench|tools|docs|\.ci)/[\w.\-/]*"
)


def code_spans(text: str) -> list[str]:
    """The text of every `code` span and fenced code block."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    without_blocks = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.M | re.S)
    return blocks + re.findall(r"`([^`\n]+)`", without_blocks)


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.split("\0") if name]


def named_paths(text: str) -> set[str]:
    found: set[str] = set()
    for span in code_spans(text):
        for given in span.split():
            word = given.strip("(),;:'\"")
            if re.fullmatch(r"[\w.-]+\.\w+(/[\w.-]+\.\w+)+", word):  # create.sh/delete.sh: two files
                found.update(word.split("/"))
                continue
            # Placeholders (Pulumi.<stack>.yaml, Pulumi.X.yaml) and generated folders are not files to check.
            if (
                "<" in word
                or re.search(r"(^|[./])[A-Z](\.|$)", word)
                or word.startswith((".pulumi", ".tools", ".venv", "~"))
            ):
                continue
            if PATH_LIKE.fullmatch(word) and not word.startswith(("http", "/")):
                found.add(word)
    return found


def test_every_file_readme_names_exists() -> None:
    files = tracked_files()
    basenames = {Path(name).name for name in files}
    folders = {str(parent) + "/" for name in files for parent in Path(name).parents if str(parent) != "."}
    missing = sorted(
        word
        for word in named_paths(README)
        if word not in UPSTREAM_FILES
        and not (word in files or word in folders or word.rstrip("/") + "/" in folders)
        and not ("/" not in word and word in basenames)
    )
    assert missing == [], f"README names files that do not exist: {missing}"


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    targets: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^([a-z][\w\- ]*?):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def test_every_make_target_readme_names_exists() -> None:
    named = {
        target
        for span in code_spans(README)
        for target in re.findall(r"(?:^|\n|&& |; )\s*make (?:-s )?([a-z][\w-]*)", span)
    }
    assert named, "README names no make target"
    assert sorted(named - makefile_targets()) == []


def test_every_variable_readme_names_is_read_somewhere() -> None:
    named = {
        variable
        for span in code_spans(README)
        for variable in re.findall(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]|STACK|YES)\b", span)
    }
    sources = "\n".join(
        (ROOT / name).read_text(errors="replace")
        for name in tracked_files()
        if name != "README.md" and (ROOT / name).is_file() and not name.startswith("examples/")
    )
    scripts = {Path(name).name for name in tracked_files() if name.endswith(".sh")}

    def read(variable: str) -> bool:
        # IMAGEVOLUME_<SCRIPT>_SH: the variable a Command's script text is in (components/shell.py).
        script = re.fullmatch(r"IMAGEVOLUME_(\w+)_SH", variable)
        if script and f"{script.group(1).lower().replace('_', '-')}.sh" in scripts:
            return True
        return re.search(rf"\b{variable}\b", sources) is not None

    unread = sorted(variable for variable in named if not read(variable))
    assert unread == [], f"README names variables nothing in the project reads: {unread}"


def test_the_checks_find_what_is_missing() -> None:
    text = (
        "Run `make frobnicate` with `NO_SUCH_VARIABLE=1`; see `components/nowhere.py`.\n"
        "```sh\nmake test\n```\n"
    )
    assert named_paths(text) == {"components/nowhere.py"}
    spans = code_spans(text)
    assert any("make frobnicate" in span for span in spans)
    assert "make test\n" in spans
