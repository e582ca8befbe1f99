"""`make run` restarts a worker that exits: scripts/respawn.sh under real processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.celery_worker import ROOT

RESPAWN = ROOT / "scripts" / "respawn.sh"


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


def test_make_run_keeps_the_worker_running() -> None:
    procfile = (ROOT / "Procfile").read_text().splitlines()
    worker = next(line for line in procfile if line.startswith("worker:"))
    assert worker.split()[1] == "scripts/respawn.sh"
