"""Run mechanics: claim, duplicate delivery, supersede, cancel, reaper, attempts, results, logs."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from b2i.packaging.errors import ArtifactError
from builders import runner, services
from builders.models import BuildLogLine, BuildRun, BuildState, ImageBuilder
from builders.signals import build_succeeded
from builders.tasks import reap_lost_builds_task
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import DEFAULT_RESULT, ScriptedExecutor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(enqueued: list[int], channel_layer_on_redis: str) -> list[int]:
    """The shared recorder, with live events on Redis (the runner runs here)."""
    return enqueued


@pytest.fixture
def builder(world: World, media_root: Path, busybox: Path) -> ImageBuilder:
    return make_builder(world, make_artifact(world.project, busybox))


def log_of(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def test_run_goes_pending_running_successful_with_result(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    assert run.state == BuildState.PENDING
    assert enqueued == [run.pk]
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.SUCCESSFUL
    run.refresh_from_db()
    assert run.state == BuildState.SUCCESSFUL
    assert run.attempt == 1
    assert run.digest == DEFAULT_RESULT["digest"]
    assert run.layers_reused == 2 and run.bytes_pushed == 1000
    assert run.started_at <= run.finished_at and run.duration is not None
    assert set(run.step_timings) == {"fetch artifact", "build layers"}
    lines = log_of(run)
    assert lines[-1] == "Build completed successfully"
    assert "line 3" in "\n".join(lines)


def test_duplicate_delivery_does_nothing(builder: ImageBuilder, enqueued: list[int]) -> None:
    run = services.do_start_run(builder)
    first = services.do_claim_run(run.pk, worker_host="w1")
    second = services.do_claim_run(run.pk, worker_host="w2")
    assert first.claimed and not second.claimed
    run.refresh_from_db()
    assert (run.state, run.worker_host, run.attempt) == (BuildState.RUNNING, "w1", 1)


def test_newer_queued_run_supersedes_older_queued_runs(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    first = services.do_start_run(builder)
    second = services.do_start_run(builder)
    third = services.do_start_run(builder, tag="v3")
    states = {r.number: r.state for r in BuildRun.objects.filter(builder=builder)}
    assert states == {1: "cancelled", 2: "cancelled", 3: "pending"}
    first.refresh_from_db()
    assert first.error_code == "build:superseded"
    assert log_of(second)[-1] == "Build cancelled: superseded by run #3"
    assert third.tag == "v3"
    assert runner.run_build(first.pk, executor=ScriptedExecutor()) == "not pending"


def test_queued_run_waits_for_the_running_one_then_is_enqueued_again(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    first = services.do_start_run(builder)
    assert services.do_claim_run(first.pk, worker_host="w1").claimed
    second = services.do_start_run(builder)
    busy = services.do_claim_run(second.pk, worker_host="w2")
    assert (busy.claimed, busy.reason) == (False, "builder busy")
    enqueued.clear()
    services.do_mark_failed(first, "build:test", "stopped by the test")
    assert enqueued == [second.pk]
    assert runner.run_build(second.pk, executor=ScriptedExecutor()) == BuildState.SUCCESSFUL


def test_cancel_of_a_queued_run_is_immediate(builder: ImageBuilder, enqueued: list[int]) -> None:
    run = services.do_start_run(builder)
    cancelled = services.do_request_cancel(run)
    assert cancelled.state == BuildState.CANCELLED
    assert log_of(run)[-1] == "Build cancelled"
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == "not pending"


def test_cancel_of_a_running_run_reaches_cancelled_within_5_seconds(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    executor = ScriptedExecutor(wait_for_cancel=True)
    outcome: list[str] = []

    def build() -> None:
        try:
            outcome.append(runner.run_build(run.pk, executor=executor))
        finally:
            connection.close()

    thread = threading.Thread(target=build)
    thread.start()
    wait_for_state(run, BuildState.RUNNING, timeout=10)
    asked = time.monotonic()
    services.do_request_cancel(BuildRun.objects.get(pk=run.pk))
    wait_for_state(run, BuildState.CANCELLED, timeout=5)
    assert time.monotonic() - asked < 5
    thread.join(timeout=10)
    assert outcome == [BuildState.CANCELLED]
    assert log_of(run)[-1] == "Build cancelled"


class CancelledAfterThePush(ScriptedExecutor):
    """A build whose cancel arrives after its last chance to stop: the image is pushed."""

    def execute(self, job: Any, on_event: Any, cancel_requested: Any) -> dict[str, Any]:
        result = super().execute(job, on_event, cancel_requested)
        accepted = services.do_request_cancel(BuildRun.objects.get(pk=job.run_id))
        assert accepted.state == BuildState.RUNNING and accepted.cancel_requested
        return result


def test_a_cancel_after_the_push_is_answered_in_the_log_before_the_success_line(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    assert runner.run_build(run.pk, executor=CancelledAfterThePush()) == BuildState.SUCCESSFUL
    assert log_of(run)[-2:] == [
        "Cancel asked for after the image was pushed: the build completed",
        "Build completed successfully",
    ]
    other = services.do_start_run(builder)
    assert runner.run_build(other.pk, executor=ScriptedExecutor()) == BuildState.SUCCESSFUL
    assert "Cancel asked for" not in "\n".join(log_of(other))


def wait_for_state(run: BuildRun, state: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if BuildRun.objects.get(pk=run.pk).state == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"run never reached {state}: {BuildRun.objects.get(pk=run.pk).state}")


def test_reaper_fails_runs_whose_heartbeat_stopped(
    builder: ImageBuilder, enqueued: list[int], settings: Any
) -> None:
    run = services.do_start_run(builder)
    assert services.do_claim_run(run.pk, worker_host="gone").claimed
    fresh = services.do_start_run(make_builder_like(builder, "fresh"))
    assert services.do_claim_run(fresh.pk, worker_host="alive").claimed
    old = timezone.now() - timedelta(seconds=settings.B2I_BUILD_LOST_AFTER_SECONDS + 5)
    BuildRun.objects.filter(pk=run.pk).update(heartbeat_at=old)
    assert reap_lost_builds_task() == [run.pk]
    run.refresh_from_db()
    assert (run.state, run.error_code) == (BuildState.FAILED, "build:worker-lost")
    assert log_of(run)[-1] == "Build failed: worker lost (no heartbeat for 60 s)"
    assert BuildRun.objects.get(pk=fresh.pk).state == BuildState.RUNNING


def make_builder_like(builder: ImageBuilder, name: str) -> ImageBuilder:
    return ImageBuilder.objects.create(
        project=builder.project,
        name=name,
        artifact_kind=builder.artifact_kind,
        environment=builder.environment,
        image_name=f"demo/{name}",
        registry_secret=builder.registry_secret,
        artifact=builder.artifact,
    )


def test_redelivered_lost_run_is_retried_until_three_attempts(
    builder: ImageBuilder, enqueued: list[int], settings: Any
) -> None:
    run = services.do_start_run(builder)
    old = timezone.now() - timedelta(seconds=settings.B2I_BUILD_LOST_AFTER_SECONDS + 5)
    for attempt in (1, 2, 3):
        assert services.do_claim_run(run.pk, worker_host=f"w{attempt}").claimed
        assert BuildRun.objects.get(pk=run.pk).attempt == attempt
        BuildRun.objects.filter(pk=run.pk).update(heartbeat_at=old)  # that worker died too
    assert not services.do_claim_run(run.pk, worker_host="w4").claimed
    run.refresh_from_db()
    assert (run.state, run.error_code) == (BuildState.FAILED, "build:worker-lost")
    assert log_of(run)[-1] == "Build failed: worker lost 3 times"


def test_user_error_is_recorded_with_its_code_and_last_line(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    error = ArtifactError("build:user:not-executable-jar", "not an executable JAR")
    assert runner.run_build(run.pk, executor=ScriptedExecutor(error=error)) == BuildState.FAILED
    run.refresh_from_db()
    assert (run.error_code, run.error_message) == (
        "build:user:not-executable-jar",
        "not an executable JAR",
    )
    assert log_of(run)[-1] == "Build failed: not an executable JAR"


def test_soft_time_limit_fails_the_run_as_timeout(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    executor = ScriptedExecutor(error=SoftTimeLimitExceeded())
    assert runner.run_build(run.pk, executor=executor) == BuildState.FAILED
    assert BuildRun.objects.get(pk=run.pk).error_code == "build:timeout"


def test_unexpected_error_is_internal_and_never_leaves_a_run_running(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    run = services.do_start_run(builder)
    executor = ScriptedExecutor(error=KeyError("boom"))
    assert runner.run_build(run.pk, executor=executor) == BuildState.FAILED
    run.refresh_from_db()
    assert run.error_code == "build:internal"
    assert log_of(run)[-1].startswith("Build failed: internal error (KeyError)")


def test_registry_password_and_trigger_token_never_reach_the_log(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    assert world.secret is not None
    world.secret.password = "s3cret-Passw0rd"
    world.secret.save()
    builder.trigger_token = "TriggerToken123"
    builder.save()
    run = services.do_start_run(builder)
    said = "login with s3cret-Passw0rd via TriggerToken123"
    executor = ScriptedExecutor(say=said)
    assert runner.run_build(run.pk, executor=executor) == BuildState.SUCCESSFUL
    text = "\n".join(log_of(run))
    assert "s3cret-Passw0rd" not in text and "TriggerToken123" not in text
    assert "login with ****** via ******" in text
    assert executor.jobs[0].registry.password == "s3cret-Passw0rd"


def test_build_succeeded_is_sent_only_after_a_successful_run(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    rolled: list[int] = []

    def receiver(sender: object, *, run: BuildRun, **kwargs: object) -> None:
        rolled.append(run.pk)

    build_succeeded.connect(receiver, dispatch_uid="test-rolled")
    try:
        failed = services.do_start_run(builder)
        runner.run_build(failed.pk, executor=ScriptedExecutor(error=KeyError("x")))
        succeeded = services.do_start_run(builder)
        runner.run_build(succeeded.pk, executor=ScriptedExecutor())
    finally:
        build_succeeded.disconnect(dispatch_uid="test-rolled")
    assert rolled == [succeeded.pk]


def test_a_failing_subscriber_does_not_change_the_build(
    builder: ImageBuilder, enqueued: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    def receiver(sender: object, **kwargs: object) -> None:
        raise RuntimeError("cluster on fire")

    build_succeeded.connect(receiver, dispatch_uid="test-broken")
    try:
        run = services.do_start_run(builder)
        assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.SUCCESSFUL
    finally:
        build_succeeded.disconnect(dispatch_uid="test-broken")
    assert f"failed after run {run.pk} succeeded" in caplog.text


def test_redelivery_after_the_holding_process_died_takes_over_at_once(
    builder: ImageBuilder, enqueued: list[int]
) -> None:
    import socket
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid of this machine that no longer exists
    run = services.do_start_run(builder)
    assert services.do_claim_run(run.pk, worker_host=f"{socket.gethostname()}:{dead.pid}").claimed
    # The heartbeat is fresh, but the holder is gone: no need to wait for the reaper.
    again = services.do_claim_run(run.pk, worker_host="next")
    assert (again.claimed, again.reason) == (True, "took over a lost run")
    assert BuildRun.objects.get(pk=run.pk).attempt == 2


def test_redelivery_while_a_live_worker_holds_the_run_asks_to_retry_later(
    builder: ImageBuilder, enqueued: list[int], settings: Any
) -> None:
    run = services.do_start_run(builder)
    assert services.do_claim_run(run.pk, worker_host="elsewhere:1").claimed
    held = services.do_claim_run(run.pk, worker_host="here:2")
    assert (held.claimed, held.retry_after) == (False, settings.B2I_BUILD_LOST_AFTER_SECONDS)
    with pytest.raises(runner.ClaimHeldElsewhere):
        runner.run_build(run.pk, executor=ScriptedExecutor())
    assert BuildRun.objects.get(pk=run.pk).attempt == 1


def test_artifact_gone_from_storage_fails_with_a_clear_code(
    builder: ImageBuilder, enqueued: list[int], media_root: Path
) -> None:
    assert builder.artifact is not None
    (media_root / builder.artifact.storage_key).unlink()
    run = services.do_start_run(builder)
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.FAILED
    run.refresh_from_db()
    assert run.error_code == "artifact:missing"
    assert log_of(run)[-1] == f"Build failed: {run.error_message}"
