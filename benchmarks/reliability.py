"""The reliability suite (issue 20): every scenario with real processes on loopback, one table.

    .venv/bin/python benchmarks/reliability.py                                # every part
    .venv/bin/python benchmarks/reliability.py --only worker,upload           # some parts
    .venv/bin/python benchmarks/reliability.py --only worker:pool-kill,web:list-latency

Each part is a module of its own, run in a process of its own (they set up different stacks):

- registry (reliability_registry.py): `b2i build` through a fault proxy at 20 % 503s
  (flaky-503) and across a 30 s outage (outage-30s);
- live (reliability_live.py): live-log latency with 50 WebSocket clients
  (live-log-latency), Redis SIGKILL and restart under a worker (redis-restart);
- web (reliability_web.py): /healthz during a 200 MB upload (healthz-during-upload), every
  list and detail at 10,000 runs and 300,000 log lines (list-latency);
- worker (reliability_worker.py): worker SIGKILL mid-build (worker-sigkill), pool process
  SIGKILL (pool-kill), 20 builds at once (concurrent-20), registry SIGKILL mid-push
  (registry-restart);
- upload (reliability_upload.py): a resumable 500 MB upload with the web server SIGKILLed.

Every part writes its rows to one file (reliability_rows.py); this script prints them as one
Markdown table (scenario, trials, figure, goal, met) with the machine and its load, and exits
non-zero when a part failed to run or a goal was not met. PostgreSQL: B2I_BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/b2i_bench, seeded once; `<name>_live` is made anew).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from benchmarks import reliability_rows  # noqa: E402

PARTS = {
    "registry": "reliability_registry.py",
    "live": "reliability_live.py",
    "web": "reliability_web.py",
    "worker": "reliability_worker.py",
    "upload": "reliability_upload.py",
}


def scenario_args(part: str, scenarios: list[str]) -> list[str]:
    """The command-line arguments choosing SCENARIOS of PART (each part's own options)."""
    if not scenarios:
        return []
    if part in ("registry", "worker"):
        return ["--only", ",".join(scenarios)]
    if part == "web":
        return [arg for name in scenarios for arg in ("--scenario", name)]
    if part == "live":
        return scenarios
    raise SystemExit(f"{part} has no scenarios to choose from")


def chosen_parts(only: str | None) -> dict[str, list[str]]:
    """PART -> the scenarios chosen in it ([] = all), from `--only part[:scenario],...`."""
    if not only:
        return {part: [] for part in PARTS}
    chosen: dict[str, list[str]] = {}
    for item in filter(None, only.split(",")):
        part, _, scenario = item.partition(":")
        if part not in PARTS:
            raise SystemExit(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        chosen.setdefault(part, [])
        if scenario:
            chosen[part].append(scenario)
    return chosen


def run_part(part: str, scenarios: list[str], rows_file: Path) -> int:
    """Run one part's script with this interpreter; its rows go to ROWS_FILE."""
    script = HERE / PARTS[part]
    print(f"== {part}", flush=True)
    env = {**os.environ, reliability_rows.ROWS_FILE: str(rows_file)}
    command = [sys.executable, str(script), *scenario_args(part, scenarios)]
    return subprocess.run(command, cwd=HERE.parent, env=env, check=False).returncode


def machine() -> str:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
        f"{platform.python_version()}, load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    options.add_argument("--only", help="part[:scenario],... (default: everything)")
    args = options.parse_args(argv)
    parts = chosen_parts(args.only)
    at_start = machine()
    with tempfile.TemporaryDirectory(prefix="b2i-reliability-rows-") as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        failed = []
        for part, names in parts.items():
            before = len(reliability_rows.read(rows_file))
            run_part(part, names, rows_file)
            if len(reliability_rows.read(rows_file)) == before:  # it crashed before its table
                failed.append(part)
        rows = reliability_rows.read(rows_file)
    print(f"\nMachine at start: {at_start}\nMachine at end:   {machine()}\n")
    print(reliability_rows.markdown(rows))
    if failed:
        print(f"\nparts that did not run to the end: {', '.join(failed)}")
    return 1 if failed or not all(row["met"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
