"""benchmarks/startup.py: its rows run as real processes and its table shows each increment."""

from __future__ import annotations

import subprocess
import sys

from benchmarks import startup


def test_the_table_shows_medians_and_the_increment_over_the_row_above() -> None:
    seconds = {"bare": [0.020, 0.018, 0.030], "with imports": [0.070, 0.080, 0.075]}

    lines = startup.table(seconds).splitlines()

    assert lines[2] == "| bare | 20.0 ms | 18.0 ms | +20.0 ms |"
    assert lines[3] == "| with imports | 75.0 ms | 70.0 ms | +55.0 ms |"


def test_every_row_is_timed_once_per_round_in_a_process_of_its_own() -> None:
    rows = [("quick", [sys.executable, "-c", "pass"]), ("sleepy", [sys.executable, "-c",
            "import time; time.sleep(0.05)"])]  # fmt: skip

    seconds = startup.measure(rows, runs=3)

    assert [len(values) for values in seconds.values()] == [3, 3]
    assert min(seconds["sleepy"]) >= 0.05 > 0
    assert min(seconds["sleepy"]) > min(seconds["quick"])


def test_the_engine_row_imports_the_cli_the_way_the_launcher_does() -> None:
    # As b2i/cli_launch.py: the CLI imported without httpx's command-line client (click,
    # pygments) and without anyio; otherwise the row would measure imports b2i never makes.
    code = dict(startup.ROWS)["+ engine (import b2i.cli)"]
    names = "('click', 'pygments', 'anyio', 'b2i.cli')"
    probe = f"; import sys; print(sorted(n for n in {names} if sys.modules.get(n)))"
    shown = subprocess.run(
        [startup.PYTHON, "-c", code + probe], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "['b2i.cli']"
