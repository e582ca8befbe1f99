"""The image engine, the `b2i` command and the benchmarks type-check with mypy --strict
(the whole b2i package by its name); the Django apps are not held to it yet."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fixtures.processes import venv_bin

REPO = Path(__file__).resolve().parents[2]
STRICT = ["b2i", "benchmarks"]


def test_the_engine_and_the_cli_type_check_strictly() -> None:
    result = subprocess.run(
        [venv_bin("mypy"), "--no-incremental", *STRICT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
