"""A scripted build executor for pipeline-mechanics tests (claim, heartbeat, cancel, logs).

It stands in for the engine only where the engine is not what is under test; the end-to-end
tests (test_pipeline_e2e.py) run the real engine in a real worker against a real registry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from b2i.oci.events import Event
from builders.build_jobs import BuildJob, RunCancelled

DEFAULT_RESULT = {
    "image_reference": "127.0.0.1:9/demo/hello:latest",
    "digest": "sha256:" + "ab" * 32,
    "compressed_size": 1234,
    "layers_pushed": 1,
    "layers_reused": 2,
    "bytes_pushed": 1000,
    "bytes_reused": 234,
    "pull_command": "docker pull 127.0.0.1:9/demo/hello@sha256:" + "ab" * 32,
}


class ScriptedExecutor:
    def __init__(
        self,
        *,
        lines: int = 3,
        wait_for_cancel: bool = False,
        error: BaseException | None = None,
        say: str = "",
        pause: float = 0.0,
    ) -> None:
        self.lines = lines
        self.wait_for_cancel = wait_for_cancel
        self.error = error
        self.say = say
        self.pause = pause
        self.jobs: list[BuildJob] = []

    def execute(
        self,
        job: BuildJob,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        self.jobs.append(job)
        on_event(Event("step-started", step="build layers"))
        for number in range(1, self.lines + 1):
            on_event(Event("log", message=f"line {number}"))
            if self.pause:
                time.sleep(self.pause)
        if self.say:
            on_event(Event("log", message=self.say))
        if self.wait_for_cancel:
            deadline = time.monotonic() + 30
            while not cancel_requested():
                if time.monotonic() > deadline:
                    raise AssertionError("cancel never arrived")
                time.sleep(0.05)  # the engine checks between layer uploads
            raise RunCancelled()
        if self.error is not None:
            raise self.error
        on_event(Event("step-finished", step="build layers", duration=0.25))
        return dict(DEFAULT_RESULT)


class GatedExecutor:
    """For a real worker (B2I_BUILD_EXECUTOR=tests.builders.executors.GatedExecutor): a build
    that reports `started-<run>` in B2I_TEST_GATE_DIR, then runs until the test creates
    `open-<run>` there (or cancels), so a test decides when each build ends."""

    def execute(
        self,
        job: BuildJob,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        gate = Path(os.environ["B2I_TEST_GATE_DIR"])
        (gate / f"started-{job.run_id}").touch()
        on_event(Event("log", message="gated build waiting for the test"))
        deadline = time.monotonic() + 120
        while not (gate / f"open-{job.run_id}").exists():
            if cancel_requested():
                raise RunCancelled()
            if time.monotonic() > deadline:
                raise AssertionError("the test never opened the gate")
            time.sleep(0.05)
        return dict(DEFAULT_RESULT)
