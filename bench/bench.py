"""Prints the project's speed figures (run: make bench).

1. Program evaluation of the dev stack under mocks in preview mode, against an
   empty program run the same way with the same modules imported (target: the
   ratio <= 1.5).
2. `make test` wall time, with the venv already installed (target < 20 s).
3. The folder digest of components/content against sha256sum (bench/content_bench.py).
4. A second `pulumi up` with nothing changed: the program is run twice under
   mocks (commands executed against the fake CLIs) and every resource's inputs
   compared (target: 0 resources differ).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import FakeCli, ProgramRun, run_program, stack_file_config  # noqa: E402

from bench import content_bench  # noqa: E402

ROUNDS = 15


# Each a fresh interpreter, as `pulumi preview` starts one: the program's cost
# is measured beside the cost of merely importing what it uses. pulumi_kubernetes
# loads core.v1 (~0.3 s) lazily, on first use, so the baseline names it.
PRELUDE = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]\n"
IMPORTS = "import harness, components.stack, pulumi_kubernetes.core.v1, pulumi_command.local\n"
IMPORTS_ONLY = PRELUDE + IMPORTS
DEV_PREVIEW = (
    PRELUDE + IMPORTS + ("harness.run_program(harness.stack_file_config('dev'), stack='dev', preview=True)\n")
)


def median_seconds(code: str, rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[1:])  # the first warms the file cache


def changed_resources(first: ProgramRun, second: ProgramRun) -> list[str]:
    a, b = first.comparable_inputs(), second.comparable_inputs()
    return sorted(urn for urn in a.keys() | b.keys() if a.get(urn) != b.get(urn))


def main() -> None:
    empty = median_seconds(IMPORTS_ONLY)
    program = median_seconds(DEV_PREVIEW)
    print(f"dev stack program, preview under mocks: {program * 1000:.0f} ms (median of {ROUNDS} processes)")
    print(f"empty program importing the same:       {empty * 1000:.0f} ms")
    print(f"ratio: {program / empty:.2f} (target <= 1.5)")

    with tempfile.TemporaryDirectory() as work:
        cli = FakeCli(Path(work))
        first = run_program(stack_file_config("dev"), stack="dev", cli=cli)
        second = run_program(stack_file_config("dev"), stack="dev", cli=cli)
    changed = changed_resources(first, second)
    total = len(first.registrations)
    print(f"second up with nothing changed: {len(changed)} of {total} resources differ (target 0)")
    for urn in changed:
        print(f"  differs: {urn}")

    content_bench.main()

    start = time.perf_counter()
    result = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    print(f"make test (venv installed): {elapsed:.1f} s, exit {result.returncode} (target < 20 s)")
    if result.returncode != 0:
        print(result.stdout[-2000:] + result.stderr[-2000:])


if __name__ == "__main__":
    main()
