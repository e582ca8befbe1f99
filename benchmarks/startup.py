"""Measure the per-process floor of a `b2i` command: interpreter, HTTP stack, engine imports.

    .venv/bin/python benchmarks/startup.py [--runs 40]

A tiny JAR's build is mostly this floor (issue 5's tiny-JAR target is 0.5x of buildah's ~0.22 s
here, so ~0.11 s for the whole process). Each row is a new process, timed from spawn to exit,
the rows interleaved run by run so a noisy neighbour hits all of them alike; medians. Every row
after the first imports as the `b2i` launcher does (httpx's command-line client and anyio
marked absent, see b2i/cli_launch.py), so the increments are what each layer costs:

- `python -c pass`: the interpreter and `site` (the venv's .pth files);
- HTTP stack: `httpx` and `httpcore` (the registry client is built on them);
- engine: everything `b2i build` imports before it starts working.

A whole tiny-JAR build adds its work (~15 ms: inspect, one small layer, a few requests) and the
exit: `benchmarks/compare_buildah.py --cases tiny` times it beside buildah.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_artifacts import compile_engine  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
# What b2i/cli_launch.py does before importing the CLI.
LAUNCHER_PRELUDE = (
    "import gc, sys; sys.modules['httpx._main'] = None; sys.modules['anyio'] = None; gc.disable()"
)
ROWS = [
    ("python -c pass", "pass"),
    ("+ HTTP stack (import httpx, httpcore)", f"{LAUNCHER_PRELUDE}; import httpx, httpcore"),
    ("+ engine (import b2i.cli)", f"{LAUNCHER_PRELUDE}; import b2i.cli"),
]


def time_process(command: list[str]) -> float:
    """Return the wall seconds of one process, from spawn to exit."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(rows: list[tuple[str, list[str]]], runs: int) -> dict[str, list[float]]:
    """Run every row once per round, RUNS rounds; return the seconds per row."""
    seconds: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _label, command in rows:
        time_process(command)  # warm the page cache and the byte code
    for _ in range(runs):
        for label, command in rows:
            seconds[label].append(time_process(command))
    return seconds


def table(seconds: dict[str, list[float]]) -> str:
    """Return the medians as a Markdown table, each row with its increment over the one above."""
    lines = ["| process | median | min | increment |", "| --- | ---: | ---: | ---: |"]
    previous = 0.0
    for label, values in seconds.items():
        median = statistics.median(values)
        lines.append(
            f"| {label} | {median * 1000:.1f} ms | {min(values) * 1000:.1f} ms "
            f"| {(median - previous) * 1000:+.1f} ms |"
        )
        previous = median
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=40)
    args = options.parse_args(argv)
    if args.runs < 1:
        options.error("--runs must be at least 1")
    compile_engine()
    rows = [(label, [PYTHON, "-c", code]) for label, code in ROWS]
    seconds = measure(rows, args.runs)
    print(f"{args.runs} interleaved runs per row, medians:\n")
    print(table(seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
