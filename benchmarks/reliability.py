"""The reliability suite (issue 20): every scenario with real processes on loopback, one table.

    .venv/bin/python benchmarks/reliability.py            # every part
    .venv/bin/python benchmarks/reliability.py registry   # some of them

Each part is a script of its own, run in a process of its own (they set up different stacks:
Django + a worker, a registry behind the fault proxy, a console server under upload load):

- registry: builds through the fault proxy at 20 % 503s and across a 30 s outage;
- live: live-log latency with 50 WebSocket clients, Redis SIGKILL and restart under a worker;
- web (when present): /healthz during a 200 MB upload, list and detail latency at 10,000 runs.

Each part prints its rows as a Markdown table (scenario, trials, figure, goal, met); this
script prints them one after the other and exits non-zero when a part failed to run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = {"registry": "reliability_registry.py", "live": "reliability_live.py"}
PARTS |= {"web": "reliability_web.py"}


def run_part(name: str) -> int:
    """Run one part's script with this interpreter; its table goes to our stdout."""
    script = HERE / PARTS[name]
    if not script.exists():
        print(f"({name}: {script.name} is not in this checkout)")
        return 0
    print(f"\n## {name}\n", flush=True)
    return subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode


def main(argv: list[str]) -> int:
    names = argv or list(PARTS)
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        print(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
        return 2
    failures = [name for name in names if run_part(name) != 0]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
