"""make mutate: mutation testing, time-boxed; prints the kill rate per module.

Python: mutmut (configured in pyproject.toml [tool.mutmut]) mutates the pure
modules (settings, content, pod_spec, kind_config) in a copy under mutants/
and runs, for each mutant, the pure modules' tests that call the mutated
function. Mutants are sampled at random, a few per module a round, until
--python-minutes are spent; the rest are counted as not checked (a second run
goes on where the first stopped).

Shell: the component scripts (components/**/*.sh), mutated here one line at a
time (a comparison or test flipped, && and || swapped, a condition negated, an
exit status changed, a command removed), each mutant checked with `sh -n` and
run against the fast tests that run that script in a copy of the project, for
--shell-minutes. Which tests run a script is traced in one run of the fast
tier first (each script appends its name and PYTEST_CURRENT_TEST to a file).

A mutant is killed when a test fails; it survives when all pass. The kill rate
is killed / (killed + survived) of the mutants that were run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
MUTMUT = PYTHON.parent / "mutmut"
PYTHON_ROUND = 5
FAST_TIER = "not integration and not real_docker and not real_engine and not real_cluster"

# Put after a script's first line while the fast tier runs once: which tests
# run which script (scripts/mutate_trace.py writes the test's id to `current`).
TRACE = 'printf "%s\\t%s\\n" {script} "$(cat {current})" >>{trace}\n'

# (pattern, replacement) applied once at each match, each a mutant of its own.
SHELL_OPERATORS: list[tuple[str, str]] = [
    (r" -eq ", " -ne "),
    (r" -ne ", " -eq "),
    (r" -lt ", " -ge "),
    (r" -ge ", " -lt "),
    (r" -gt ", " -le "),
    (r" -le ", " -gt "),
    (r" != ", " = "),
    (r"(?<=\S) = (?=\S)", " != "),
    (r"\[ -z ", "[ -n "),
    (r"\[ -n ", "[ -z "),
    (r" && ", " || "),
    (r" \|\| ", " && "),
    (r"\bif ", "if ! "),
    (r"\belif ", "elif ! "),
    (r"\bwhile ", "while ! "),
    (r"\bexit 1\b", "exit 0"),
    (r"\bexit 0\b", "exit 1"),
    (r"\bgrep -q", "grep -vq"),
]
STRUCTURE = re.compile(
    r"^\s*(#|$|then\b|do\b|done\b|fi\b|else\b|esac\b|;;|\{|\}|\)|case\b|if\b|elif\b|for\b|while\b|[^=\s]+\))"
)


@dataclass(frozen=True)
class ShellMutant:
    script: str
    line: int
    description: str
    text: str


def shell_mutants(script: Path) -> Iterator[ShellMutant]:
    relative = str(script.relative_to(ROOT))
    lines = script.read_text().splitlines(keepends=True)
    continued = False
    for index, line in enumerate(lines):
        body = line.rstrip("\n")
        opens_continuation = body.endswith("\\")
        if index == 0 or body.lstrip().startswith("#"):
            continued = opens_continuation
            continue
        for pattern, replacement in SHELL_OPERATORS:
            for match in re.finditer(pattern, body):
                mutated = body[: match.start()] + replacement + body[match.end() :]
                yield _mutant(
                    relative, lines, index, mutated, f"{match.group(0).strip()} -> {replacement.strip()}"
                )
        removable = not continued and not opens_continuation and not STRUCTURE.match(body)
        if removable and "<<" not in body and body.count("(") == body.count(")") and '"$(' not in body[-3:]:
            indent = body[: len(body) - len(body.lstrip())]
            yield _mutant(relative, lines, index, indent + ":", "line removed")
        continued = opens_continuation


def _mutant(relative: str, lines: list[str], index: int, mutated: str, description: str) -> ShellMutant:
    text = "".join([*lines[:index], mutated + "\n", *lines[index + 1 :]])
    return ShellMutant(relative, index + 1, description, text)


def parses(text: str) -> bool:
    return (
        subprocess.run(["/bin/sh", "-n"], check=False, input=text, text=True, capture_output=True).returncode
        == 0
    )


def project_copy(into: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_symlink() or source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name, follow_symlinks=False)
    return into


def run_tests(copy: Path, tests: list[str], timeout: float, *, traced: Path | None = None) -> str:
    """killed, survived or timeout; `traced`: one process, the trace plugin on, every test run."""
    workers = ["-n", "2"] if len(tests) > 20 and traced is None else ["-p", "no:xdist"]
    options = ["-x"] if traced is None else ["-p", "mutate_trace"]
    environment = dict(os.environ)
    if traced is not None:
        environment["MUTATE_CURRENT"] = str(traced)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")])
        )
    try:
        result = subprocess.run(
            [str(PYTHON), "-m", "pytest", *options, "-q", *workers, "-m", FAST_TIER, *tests],
            cwd=copy,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def tests_per_script(copy: Path, scripts: list[Path]) -> dict[str, list[str]]:
    """Run the fast tier once with every script tracing itself."""
    originals = {script: (copy / script).read_text() for script in scripts}
    trace, current = copy / "mutate-trace.tsv", copy / "mutate-current-test"
    for script, text in originals.items():
        # After `set -eu` where there is one (a test checks it comes first).
        lines = text.splitlines(keepends=True)
        at = next((i + 1 for i, line in enumerate(lines) if line == "set -eu\n"), 1)
        line = TRACE.format(script=script, current=shlex.quote(str(current)), trace=shlex.quote(str(trace)))
        (copy / script).write_text("".join([*lines[:at], line, *lines[at:]]))
    try:
        fast_tier = ["tests", "--ignore=tests/integration", "--ignore=tests/real"]
        status = run_tests(copy, fast_tier, 1800, traced=current)
    finally:
        for script, text in originals.items():
            (copy / script).write_text(text)
    if status != "survived":
        raise SystemExit("mutate: the fast tier fails unmutated (run make test)")
    tests: dict[str, set[str]] = defaultdict(set)
    for line in trace.read_text().splitlines() if trace.exists() else []:
        name, _, test = line.partition("\t")
        if test:
            tests[name].add(test)
    return {script: sorted(ids) for script, ids in tests.items()}


def mutate_shell(minutes: float) -> dict[str, Counter[str]]:
    deadline = time.monotonic() + minutes * 60
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[ShellMutant] = []
    with tempfile.TemporaryDirectory(prefix="imagevolume-mutate-") as temporary:
        copy = project_copy(Path(temporary))
        (copy / ".venv").symlink_to(ROOT / ".venv")
        scripts = sorted(
            p.relative_to(ROOT) for p in (ROOT / "components").rglob("*.sh") if p.name != "lib.sh"
        )
        tests = tests_per_script(copy, scripts)
        for script in scripts:
            print(f"  {script}: run by {len(tests.get(str(script), []))} fast tests", flush=True)
        by_script = {str(s): list(shell_mutants(ROOT / s)) for s in scripts}
        # Round-robin over scripts, so a time box samples every script.
        order = [m for group in _interleave(list(by_script.values())) for m in group]
        for mutant in order:
            # The scripts' own rules (set -eu first, ...) run with every mutant.
            selected = tests.get(mutant.script, [])
            selected = [*selected, "tests/test_shell_library.py"] if selected else []
            if time.monotonic() > deadline:
                counts[mutant.script]["not run"] += 1
                continue
            if not selected:
                counts[mutant.script]["no tests"] += 1
                continue
            if not parses(mutant.text):
                counts[mutant.script]["invalid"] += 1
                continue
            target = copy / mutant.script
            original = target.read_text()
            target.write_text(mutant.text)
            try:
                status = run_tests(copy, selected, 300)
            finally:
                target.write_text(original)
            counts[mutant.script][status] += 1
            if status == "survived":
                survivors.append(mutant)
    for mutant in survivors:
        line = mutant.text.splitlines()[mutant.line - 1].strip()
        print(f"  survived {mutant.script}:{mutant.line} ({mutant.description}): {line}")
    return counts


def _interleave(groups: list[list[ShellMutant]]) -> Iterator[list[ShellMutant]]:
    for index in range(max((len(g) for g in groups), default=0)):
        yield [g[index] for g in groups if index < len(g)]


def mutate_python(minutes: float, seed: int) -> dict[str, Counter[str]]:
    """Mutants sampled at random, in rounds of PYTHON_ROUND per module, until
    the time box ends: mutmut alone runs the cheapest first, which would leave
    the costly modules unmeasured."""
    deadline = time.monotonic() + minutes * 60
    examples = ROOT / "mutants" / "examples"
    if not examples.exists():
        shutil.copytree(ROOT / "examples", examples, symlinks=True)
    # The first run generates every mutant and maps tests to functions (and
    # runs the first mutant of each function of one small module).
    _mutmut_run(["components.cluster.kind_config.*__mutmut_1"], deadline)
    pending: dict[str, list[str]] = defaultdict(list)
    for name, status in _mutmut_results():
        if status == "not checked":
            pending[_module_of(name)].append(name)
    chooser = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    for names in pending.values():
        chooser.shuffle(names)
    while time.monotonic() < deadline and any(pending.values()):
        batch = [names.pop() for names in pending.values() for _ in range(min(PYTHON_ROUND, len(names)))]
        _mutmut_run(batch, deadline)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors = []
    for name, status in _mutmut_results():
        counts[_module_of(name)][status] += 1
        if status == "survived":
            survivors.append(name)
    for name in survivors:
        print(f"  survived {name}")
    return counts


def _mutmut_run(names: list[str], deadline: float) -> None:
    process = subprocess.Popen(
        [str(MUTMUT), "run", "--max-children", "2", *names],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _mutmut_results() -> Iterator[tuple[str, str]]:
    listing = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            yield name, status


def _module_of(mutant: str) -> str:
    """components.settings.grammar.x_parse__mutmut_3 -> components/settings/grammar.py"""
    parts = mutant.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ROOT.joinpath(*parts[:end]).with_suffix(".py")
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return parts[0]


def report(title: str, counts: dict[str, Counter[str]]) -> None:
    print(f"\n{title}")
    print(f"  {'module':45} {'killed':>7} {'survived':>9} {'timeout':>8} {'other':>7} {'rate':>6}")
    total: Counter[str] = Counter()
    for module in sorted(counts):
        row = counts[module]
        total.update(row)
        _row(module, row)
    _row("all", total)


def _row(name: str, row: Counter[str]) -> None:
    killed = row["killed"] + row["timeout"]
    survived = row["survived"]
    other = sum(n for status, n in row.items() if status not in {"killed", "timeout", "survived"})
    rate = f"{100 * killed / (killed + survived):5.1f}%" if killed + survived else "  -"
    detail = ", ".join(
        f"{n} {s}" for s, n in sorted(row.items()) if s not in {"killed", "timeout", "survived"}
    )
    print(f"  {name:45} {row['killed']:7} {survived:9} {row['timeout']:8} {other:7} {rate:>6}  {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python-minutes", type=float, default=20.0)
    parser.add_argument("--shell-minutes", type=float, default=10.0)
    parser.add_argument(
        "--seed", type=int, default=4639, help="the sample's seed (default: the KEP's number)"
    )
    arguments = parser.parse_args()
    if not MUTMUT.exists():
        raise SystemExit(f"mutate: {MUTMUT} is missing: make mutate installs requirements-mutate.txt")
    if arguments.python_minutes > 0:
        report("Python (mutmut)", mutate_python(arguments.python_minutes, arguments.seed))
    if arguments.shell_minutes > 0:
        report("Shell (scripts/mutate.py)", mutate_shell(arguments.shell_minutes))


if __name__ == "__main__":
    main()
