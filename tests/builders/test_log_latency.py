"""Live log lines are stored (and their doorbell rung) without waiting for later lines or for a
heartbeat; every line exactly once, in order."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from builders import services
from builders.logs import RunLog
from builders.models import BuildLogLine, BuildRun
from tests.builders.conftest import World, make_artifact, make_builder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def run(world: World, media_root: Path, busybox: Path, monkeypatch: Any) -> BuildRun:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    monkeypatch.setattr("builders.logs.notify_lines", lambda run_id, last_seq, lines=(): None)
    return services.do_start_run(make_builder(world, make_artifact(world.project, busybox)))


def stored(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def test_a_line_after_a_quiet_moment_is_stored_at_once_even_after_an_empty_flush(
    run: BuildRun,
) -> None:
    log = RunLog(run.pk, batch_seconds=0.1)
    log.write("first")
    assert stored(run) == ["first"]
    time.sleep(0.15)  # quiet for longer than a batch
    log.flush()  # the heartbeat's flush, with nothing to store: must not restart the batch
    log.write("second")
    assert stored(run) == ["first", "second"]


def test_a_line_inside_a_batch_is_stored_by_the_flusher_within_the_batch_time(
    run: BuildRun,
) -> None:
    log = RunLog(run.pk, batch_seconds=0.1)
    log.write("first")
    log.write("second")  # joins a batch: not stored yet
    assert stored(run) == ["first"]
    started = time.monotonic()
    log.flush_pending(timeout=5)
    assert stored(run) == ["first", "second"]
    assert time.monotonic() - started < 0.5


def test_lines_from_many_writers_are_stored_once_in_order_while_a_flusher_runs(
    run: BuildRun,
) -> None:
    log = RunLog(run.pk, batch_seconds=0.05)
    stop = threading.Event()

    def flusher() -> None:
        try:
            while not stop.is_set():
                log.flush_pending(timeout=0.2)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=flusher)
    thread.start()
    try:
        for number in range(1, 301):
            log.write(f"line {number}")
            if number % 50 == 0:
                time.sleep(0.06)  # a pause now and then: some lines go alone, some in batches
    finally:
        stop.set()
        log.wake_flusher()
        thread.join(timeout=10)
    log.flush()
    seqs = list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 301))
    assert stored(run) == [f"line {number}" for number in range(1, 301)]
