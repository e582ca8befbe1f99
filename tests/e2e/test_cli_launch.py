"""The `b2i` console script (b2i.cli_launch) runs the CLI with the collector enabled and the
import-time objects frozen, passes main's exit code on, and leaves without the interpreter's
teardown but with all its output written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.fixtures.processes import venv_bin

PROBE = """
import gc, sys
import b2i.cli

def main():
    print(gc.isenabled(), gc.get_freeze_count() > 10_000, flush=True)
    return 7

b2i.cli.main = main  # launch() takes main from b2i.cli when it runs
from b2i.cli_launch import launch
launch()
"""


def test_launch_runs_main_with_gc_on_and_the_imports_frozen_and_exits_with_its_code() -> None:
    result = subprocess.run(
        [venv_bin("python"), "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_output_left_in_buffers_is_written_before_the_quick_exit() -> None:
    probe = (
        "import atexit, b2i.cli\n"
        "atexit.register(lambda: print('teardown ran'))\n"
        "def main():\n"
        "    print('x' * 100, end='')\n"  # left in the buffer: stdout is a pipe
        "    return 0\n"
        "b2i.cli.main = main\n"
        "from b2i.cli_launch import launch\n"
        "launch()\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [venv_bin("python"), "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x" * 100  # all of it, and no teardown (no atexit line)


def test_the_installed_b2i_script_uses_the_launcher() -> None:
    result = subprocess.run([venv_bin("b2i"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: b2i" in result.stdout
    assert "b2i.cli_launch" in Path(venv_bin("b2i")).read_text()


def inspect_reporting_at_exit(report: str) -> subprocess.CompletedProcess[str]:
    """Run `b2i inspect` on a missing file through the launcher; print REPORT as it exits."""
    probe = (
        "import os, sys\n"
        "leave = os._exit\n"
        "def report(code):\n"
        f"    print({report}, flush=True)\n"
        "    leave(code)\n"
        "os._exit = report\n"
        "sys.argv = ['b2i', 'inspect', '/nonexistent/app.jar']\n"
        "from b2i.cli_launch import launch\n"
        "launch()\n"
    )
    return subprocess.run(
        [venv_bin("python"), "-c", probe], capture_output=True, text=True, timeout=60
    )


def test_the_launcher_spares_httpx_its_command_line_client_imports() -> None:
    result = inspect_reporting_at_exit("'httpx' in sys.modules, 'click' in sys.modules")
    assert result.returncode == 1, result.stderr
    assert "build:user:no-artifact" in result.stderr
    assert result.stdout.split() == ["True", "False"]  # httpx imported, click not


def test_the_launcher_spares_httpcore_its_async_backend_imports() -> None:
    # anyio serves httpcore's async classes only; the CLI's client is synchronous.
    result = inspect_reporting_at_exit("'httpcore' in sys.modules, bool(sys.modules.get('anyio'))")
    assert result.returncode == 1, result.stderr
    assert result.stdout.split() == ["True", "False"]  # httpcore imported, anyio not
