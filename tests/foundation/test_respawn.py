"""`make run` restarts a worker that exits: scripts/respawn.sh under real processes."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.celery_worker import ROOT

RESPAWN = ROOT / "scripts" / "respawn.sh"
TRIES = 100
LOOP = "while :; do sleep 0.1; done"  # short sleeps: sh runs its TERM trap between them


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_command_that_exits_is_started_again(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    crashing = f"echo started >> {log}; exit 3"
    wrapper = subprocess.Popen([str(RESPAWN), "sh", "-c", crashing], stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: starts(log) >= 2), "not restarted after exiting"
    finally:
        wrapper.send_signal(signal.SIGTERM)
        _, stderr = wrapper.communicate(timeout=10)
    assert b"exited with status 3; starting it again" in stderr


def test_sigterm_stops_the_command_and_the_loop(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    stopped = tmp_path / "stopped"
    long_running = (
        f"trap 'touch {stopped}; exit 0' TERM; echo started >> {log}; while :; do sleep 0.1; done"
    )
    wrapper = subprocess.Popen([str(RESPAWN), "sh", "-c", long_running])
    assert wait_for(lambda: starts(log) == 1)
    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(timeout=10) == 0
    assert stopped.exists(), "the command did not get the SIGTERM"
    time.sleep(2.5)  # longer than the restart pause: proves nothing starts again
    assert starts(log) == 1


def test_sigterm_at_any_moment_leaves_no_command_running(tmp_path: Path) -> None:
    """SIGTERM right as the command starts: it landed between the fork and the loop storing the
    child's pid, and the command was left running on its own (2 of 60 tries beside two CPU hogs
    before the fix). Each try signals at another moment; none may leave a command behind."""
    tries = []
    for number in range(TRIES):
        workdir = tmp_path / str(number)
        workdir.mkdir()
        log, stopped = workdir / "starts.log", workdir / "stopped"
        command = f"trap 'touch {stopped}; exit 0' TERM; echo started >> {log}; {LOOP}"
        wrapper = subprocess.Popen([str(RESPAWN), "sh", "-c", command])
        time.sleep(random.uniform(0, 0.01))
        wrapper.send_signal(signal.SIGTERM)
        # -SIGTERM: signalled before bash set its trap, so before it started anything.
        assert wrapper.wait(timeout=10) in (0, -signal.SIGTERM)
        tries.append((log, stopped))
    time.sleep(0.5)  # a command the loop lost would have logged its start by now
    left_running = [
        log.parent.name for log, stopped in tries if log.exists() and not stopped.exists()
    ]
    subprocess.run(["pkill", "-f", str(tmp_path)], check=False)
    assert left_running == [], f"commands left running after SIGTERM: tries {left_running}"


def test_make_run_keeps_the_worker_running() -> None:
    procfile = (ROOT / "Procfile").read_text().splitlines()
    worker = next(line for line in procfile if line.startswith("worker:"))
    assert worker.split()[1] == "scripts/respawn.sh"
