"""scripts/bootstrap.sh installs what its purpose needs: `run` only the runtime requirements,
`test` the test tools too (and the JavaScript tools with npm ci), each once until the
requirement files (or package-lock.json) change.

The script runs for real on a copy of the checkout whose pip, python, npm and dpkg-query are stubs
that record their arguments: nothing is installed and no network is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.fixtures.celery_worker import ROOT

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""
DPKG_QUERY = """#!/bin/sh
printf 'install ok installed'
"""


def make_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the files bootstrap.sh reads, with stub tools; returns (checkout, call log)."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", checkout / "scripts" / "bootstrap.sh")
    for name in (
        "requirements.txt",
        "requirements-dev.txt",
        "pyproject.toml",
        "package.json",
        "package-lock.json",
    ):
        shutil.copy(ROOT / name, checkout / name)
    log = tmp_path / "calls.log"
    log.touch()
    tools = {checkout / ".venv" / "bin" / "pip": STUB, checkout / ".venv" / "bin" / "python": STUB}
    tools[tmp_path / "bin" / "dpkg-query"] = DPKG_QUERY
    tools[tmp_path / "bin" / "npm"] = STUB
    for path, text in tools.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(log=log))
        path.chmod(0o755)
    return checkout, log


def bootstrap(checkout: Path, purpose: str) -> None:
    path = f"{checkout.parent / 'bin'}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(
        ["bash", str(checkout / "scripts" / "bootstrap.sh"), purpose],
        check=True,
        env={**os.environ, "PATH": path},
        capture_output=True,
        timeout=60,
    )


def installs_of(log: Path, command: str) -> list[str]:
    lines = log.read_text().splitlines()
    log.write_text("")
    return [line for line in lines if line.startswith(command)]


def pip_installs(log: Path) -> list[str]:
    return installs_of(log, "pip install")


def test_run_installs_only_the_runtime_requirements_and_test_adds_the_dev_ones(
    tmp_path: Path,
) -> None:
    checkout, log = make_checkout(tmp_path)

    bootstrap(checkout, "run")
    installs = pip_installs(log)
    assert any(line.endswith("-r requirements.txt") for line in installs), installs
    assert not any("requirements-dev.txt" in line for line in installs), installs

    bootstrap(checkout, "run")
    assert pip_installs(log) == []  # up to date: nothing reinstalled

    bootstrap(checkout, "test")
    installs = pip_installs(log)
    assert any(line.endswith("-r requirements-dev.txt") for line in installs), installs

    bootstrap(checkout, "run")  # the test install covers run
    assert pip_installs(log) == []

    with (checkout / "requirements.txt").open("a") as file:
        file.write("# changed\n")
    bootstrap(checkout, "run")
    assert any(line.endswith("-r requirements.txt") for line in pip_installs(log))


def test_test_installs_the_javascript_tools_once_until_the_lock_file_changes(
    tmp_path: Path,
) -> None:
    checkout, log = make_checkout(tmp_path)

    bootstrap(checkout, "run")
    assert installs_of(log, "npm") == []  # running the console needs no JavaScript tools

    bootstrap(checkout, "test")
    assert installs_of(log, "npm") == ["npm ci --no-audit --no-fund --loglevel=error"]

    bootstrap(checkout, "test")
    assert installs_of(log, "npm") == []  # up to date: no network needed

    with (checkout / "package-lock.json").open("a") as file:
        file.write("\n")
    bootstrap(checkout, "test")
    assert installs_of(log, "npm") == ["npm ci --no-audit --no-fund --loglevel=error"]
