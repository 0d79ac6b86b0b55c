"""components/lib.sh: the prelude every component script sources, inlined into
the text a Command runs (components/shell.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.shell import LIBRARY, SOURCE_LIBRARY, ShellScript

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "components").glob("*/*.sh"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_script_defines_fail_only_through_the_library(path: Path) -> None:
    source = path.read_text()
    assert "fail() {" not in source
    if "fail " not in source and "notice " not in source:
        return  # uses neither (present.sh)
    assert SOURCE_LIBRARY in source
    text = ShellScript(path).text()
    assert SOURCE_LIBRARY not in text and LIBRARY.read_text() in text


def test_the_inlined_text_runs_without_the_library_file(tmp_path: Path) -> None:
    script = ShellScript(ROOT / "components" / "push" / "push.sh")
    # Run where no lib.sh is: the recorded text must carry it. With no settings
    # the script stops at its first required variable, after the prelude ran.
    result = subprocess.run(
        ["/bin/sh", "-c", script.text(), "push.sh"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "IMAGEVOLUME_PYTHON" in result.stderr
    assert "lib.sh" not in result.stderr


def test_fail_prints_the_projects_prefix_and_exits_1() -> None:
    result = subprocess.run(
        ["/bin/sh", "-c", f'. "{LIBRARY}"; fail "it broke"; echo not reached'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "imagevolume: it broke\n")


@pytest.mark.parametrize(
    "path", [p for p in SCRIPTS if p.name != "present.sh"], ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_a_script_stops_at_its_first_failure_and_unset_variable(path: Path) -> None:
    """`set -eu` before anything runs (present.sh only informs and never fails).
    No test of a script's behaviour notices its loss: the failures it stops on
    are the ones the tests do not stage (make mutate found it)."""
    commands = [
        line
        for line in path.read_text().splitlines()[1:]
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[0] == "set -eu"
