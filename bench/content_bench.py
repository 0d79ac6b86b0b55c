"""The folder digest's speed and memory (run by bench/bench.py; make bench).

A 1 GiB folder (64 files of 16 MiB) is made in a temporary directory and read
once, so both sides run with a warm page cache. Then, each in a fresh process:
`sha256sum` of the same files, against `describe(folder, None)` (no cache): the
index digest and every file's sha256, so each byte is hashed twice (layer and
file, on two threads) in its one read (target: at most 1.5x sha256sum's time,
peak RSS under 100 MB). Then `describe` of the unchanged folder with the cache, against the
first cached run, both inside this process as the program evaluates them
(target: under 5% of its time).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.content import describe  # noqa: E402

FILES = 64
FILE_BYTES = 16 * 1024 * 1024
# A fresh interpreter, as `python -m components.content digest --no-cache` is.
DESCRIBE = (
    "import sys; from pathlib import Path; from components.content import describe; "
    "content = describe(Path(sys.argv[1]), None); print(content.digest, len(content.files))"
)


def timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds, and the largest peak RSS (KiB) of the children so far (the
    ones before it here, cat and sha256sum, stay small)."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "content"
        folder.mkdir()
        chunk = os.urandom(FILE_BYTES)
        for index in range(FILES):
            (folder / f"part-{index:02d}.bin").write_bytes(chunk[index:] + chunk[:index])
        files = sorted(str(path) for path in folder.iterdir())
        subprocess.run(["cat", *files], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
        sums, _ = timed(["sha256sum", *files], ROOT)
        plain, plain_rss = timed([sys.executable, "-c", DESCRIBE, str(folder)], ROOT)
        # Re-evaluation happens inside the program's process: timed in this one.
        cache = Path(work) / "cache"
        start = time.perf_counter()
        built = describe(folder, cache)  # builds, and writes the cache
        first = time.perf_counter() - start
        start = time.perf_counter()
        assert describe(folder, cache) == built  # nothing changed: read from the cache
        again = time.perf_counter() - start
        assert len(built.files) == FILES
    ratio = plain / sums
    print(
        f"content describe (digest + file sums) of 1 GiB: {plain:.2f} s vs sha256sum {sums:.2f} s: "
        f"{ratio:.2f}x (target <= 1.5)"
    )
    print(f"content describe peak RSS: {plain_rss / 1024:.0f} MB (target < 100 MB)")
    print(
        f"unchanged folder, cached: {again * 1000:.0f} ms vs {first * 1000:.0f} ms first: "
        f"{again / first * 100:.1f}% (target < 5%)"
    )


if __name__ == "__main__":
    main()
