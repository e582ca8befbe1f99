"""The pending sweep: runs whose queue message was lost are queued again, then failed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from b2i_console.celery import app as celery_app
from builders import build_queue, runner, services, tasks
from builders.models import BuildLogLine, BuildRun, BuildState, ImageBuilder
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor
from tests.builders.test_pipeline_e2e import wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.celery_worker import CeleryWorker

pytestmark = pytest.mark.django_db(transaction=True)

REQUEUED = "No worker took this run within"
BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"


def log_of(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def age(run: BuildRun, seconds: float) -> None:
    """Make the run look queued `seconds` ago (its last queueing, by the sweep or at start)."""
    when = timezone.now() - timedelta(seconds=seconds)
    BuildRun.objects.filter(pk=run.pk).update(created_at=when)
    BuildRun.objects.filter(pk=run.pk, requeued_at__isnull=False).update(requeued_at=when)


def held_by_broker() -> set[int]:
    held = build_queue.runs_held_by_broker()
    assert held is not None, "the test broker could not be read"
    return held


def sweep() -> dict[str, list[int]]:
    result: dict[str, list[int]] = tasks.requeue_lost_pending_builds_task.apply().get()
    return result


@pytest.fixture
def sent(enqueued: list[int], channel_layer_on_redis: str, settings: Any) -> list[int]:
    """Messages go nowhere (a broker that loses them all); the broker read is the real one."""
    settings.B2I_PENDING_REQUEUE_AFTER = 120
    settings.B2I_PENDING_MAX_REQUEUES = 3
    return enqueued


@pytest.fixture
def builder(world: World, media_root: Path, busybox: Path) -> ImageBuilder:
    return make_builder(world, make_artifact(world.project, busybox))


def test_sweep_runs_every_minute_from_beat() -> None:
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["requeue-lost-pending-builds"]
    assert entry["schedule"] == 60.0
    assert entry["task"] in celery_app.tasks


def test_only_a_run_pending_longer_than_the_threshold_is_queued_again(
    world: World, builder: ImageBuilder, sent: list[int]
) -> None:
    run = services.do_start_run(builder)
    assert sent == [run.pk]  # ... and lost: it never reached the broker
    sent.clear()
    age(run, 110)
    assert sweep()["requeued"] == [] and sent == []
    age(run, 125)
    assert sweep()["requeued"] == [run.pk]
    run.refresh_from_db()
    assert (run.state, run.requeues, sent) == (BuildState.PENDING, 1, [run.pk])
    assert run.requeued_at is not None
    assert log_of(run)[-1].startswith(REQUEUED) and log_of(run)[-1].endswith("(1 of 3)")
    shown = world.client("olga").get(f"{BUILDERS}hello/runs/{run.number}/").json()
    assert (shown["state"], shown["requeues"]) == ("pending", 1)
    assert shown["requeued_at"] is not None
    # The clock starts again at the new message: an immediate second sweep leaves it alone.
    assert sweep()["requeued"] == [] and sent == [run.pk]


def test_after_the_last_requeue_is_lost_too_the_run_fails_with_the_reason(
    builder: ImageBuilder, sent: list[int]
) -> None:
    run = services.do_start_run(builder)
    for count in (1, 2, 3):
        age(run, 121)
        assert sweep()["requeued"] == [run.pk]
        assert log_of(run)[-1].endswith(f"({count} of 3)")
    age(run, 121)
    assert sweep() == {"cancelled": [], "requeued": [], "failed": [run.pk]}
    run.refresh_from_db()
    assert (run.state, run.requeues, run.error_code) == (BuildState.FAILED, 3, "build:queue-lost")
    assert run.error_message.startswith("the build queue lost this run 4 times")
    assert "check that a build worker is running" in run.error_message
    assert log_of(run)[-1] == f"Build failed: {run.error_message}"
    assert run.finished_at is not None
    # Finished: later sweeps and a late delivery of any of its messages do nothing.
    age(run, 121)
    assert sweep() == {"cancelled": [], "requeued": [], "failed": []}
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == "not pending"
    assert len(sent) == 4


def test_a_run_claimed_in_between_is_not_queued_again(
    builder: ImageBuilder, sent: list[int]
) -> None:
    run = services.do_start_run(builder)
    age(run, 121)
    seen = list(services._stale_pending_runs())
    assert [r.pk for r in seen] == [run.pk]
    assert services.do_claim_run(run.pk, worker_host="w1").claimed  # a worker wins the race
    assert services._requeue_lost_run(seen[0]) is False  # the sweep's guarded update loses
    assert sweep()["requeued"] == []
    run.refresh_from_db()
    assert (run.state, run.requeues, run.worker_host) == (BuildState.RUNNING, 0, "w1")
    assert not any(line.startswith(REQUEUED) for line in log_of(run))


def test_a_duplicate_message_for_a_claimed_run_builds_nothing(
    builder: ImageBuilder, sent: list[int]
) -> None:
    run = services.do_start_run(builder)
    age(run, 121)
    sweep()  # the first message was only slow: now two deliveries race for the run
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.SUCCESSFUL
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == "not pending"
    run.refresh_from_db()
    assert (run.state, run.attempt) == (BuildState.SUCCESSFUL, 1)


def test_a_run_waiting_for_its_builders_running_run_is_not_lost(
    builder: ImageBuilder, sent: list[int]
) -> None:
    first = services.do_start_run(builder)
    assert services.do_claim_run(first.pk, worker_host="w1").claimed
    second = services.do_start_run(builder)
    assert services.do_claim_run(second.pk, worker_host="w2").reason == "builder busy"
    age(second, 3600)
    assert sweep()["requeued"] == []
    second.refresh_from_db()
    assert (second.state, second.requeues) == (BuildState.PENDING, 0)


def test_cancel_requested_while_pending_ends_cancelled_and_finished_runs_stay(
    builder: ImageBuilder, sent: list[int]
) -> None:
    finished = {
        state: BuildRun.objects.create(builder=builder, number=100 + i, tag="t", state=state)
        for i, state in enumerate((BuildState.SUCCESSFUL, BuildState.FAILED, BuildState.CANCELLED))
    }
    run = services.do_start_run(builder)
    BuildRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    for other in [run, *finished.values()]:
        age(other, 3600)
    assert sweep() == {"cancelled": [run.pk], "requeued": [], "failed": []}
    run.refresh_from_db()
    assert (run.state, run.error_code, run.requeues) == (BuildState.CANCELLED, "build:cancelled", 0)
    assert log_of(run)[-1] == "Build cancelled"
    for state, other in finished.items():
        other.refresh_from_db()
        assert (other.state, other.requeues, log_of(other)) == (state, 0, [])
    assert sent == [run.pk]  # only the original message: nothing was queued again


# --- with the broker's real queue ----------------------------------------------------------


@pytest.fixture
def paused_worker(celery_worker: CeleryWorker, channel_layer_on_redis: str) -> Iterator[Any]:
    """The worker stops taking builds, so messages stay in the queue as behind a long backlog."""
    replies = celery_app.control.cancel_consumer("builds", reply=True, timeout=5)
    assert replies, celery_worker.log_tail()
    time.sleep(1.2)  # a blocking pop already waiting on the queue returns within 1 s
    broker = redis.Redis.from_url(channel_layer_on_redis)
    broker.delete("builds")
    yield broker
    broker.delete("builds")
    celery_app.control.add_consumer("builds", reply=True, timeout=5)


def test_a_run_whose_message_waits_in_the_queue_is_not_lost(
    builder: ImageBuilder, paused_worker: Any, settings: Any
) -> None:
    settings.B2I_PENDING_REQUEUE_AFTER = 120
    run = services.do_start_run(builder)
    assert run.pk in held_by_broker()
    age(run, 3600)
    assert sweep()["requeued"] == []
    # Redis restarts without persistence: the queue is gone, so the run is queued again.
    paused_worker.delete("builds")
    assert run.pk not in held_by_broker()
    assert sweep()["requeued"] == [run.pk]
    run.refresh_from_db()
    assert run.pk in held_by_broker()
    assert run.requeues == 1 and log_of(run)[-1].startswith(REQUEUED)


# --- end to end ----------------------------------------------------------------------------


def test_a_run_whose_message_never_reached_the_broker_is_built_after_the_sweep(
    pipeline: World, celery_worker: CeleryWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "lost")
    builder = make_builder(
        pipeline, make_artifact(pipeline.project, binary), environment="busybox-test"
    )
    with monkeypatch.context() as lost:
        lost.setattr(services, "enqueue_run", lambda run: None)  # the broker was down
        run = services.do_start_run(builder)
    age(run, 121)
    assert sweep()["requeued"] == [run.pk]
    run = wait_for_run(run, ("successful", "failed"), celery_worker)
    assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
    assert (run.requeues, run.attempt) == (1, 1)
    lines = log_of(run)
    assert lines[0].startswith(REQUEUED) and lines[1].startswith("Build #1 of hello started")
    assert lines[-1] == "Build completed successfully"
