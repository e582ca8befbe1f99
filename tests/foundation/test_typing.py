"""The image engine, the `b2i` command and the benchmarks type-check with mypy --strict
(pyproject.toml lists the modules); the Django apps are not held to it yet."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fixtures.processes import venv_bin

REPO = Path(__file__).resolve().parents[2]
STRICT = [
    "builders/oci",
    "builders/packaging",
    "builders/engine.py",
    "builders/engine_layers.py",
    "builders/base_in_advance.py",
    "builders/cli.py",
    "builders/cli_launch.py",
    "builders/demo_base.py",
    "benchmarks",
]


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
