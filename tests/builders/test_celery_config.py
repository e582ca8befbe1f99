"""The build task's delivery guarantees, as configured (the e2e tests prove them in action)."""

from django.conf import settings

from b2i_console.celery import app
from builders.tasks import run_build_task


def test_build_task_is_acked_late_rejected_on_worker_loss_and_time_limited() -> None:
    assert run_build_task.acks_late is True
    assert run_build_task.reject_on_worker_lost is True
    assert run_build_task.soft_time_limit == settings.B2I_BUILD_SOFT_TIME_LIMIT == 30 * 60
    assert run_build_task.time_limit == settings.B2I_BUILD_HARD_TIME_LIMIT == 36 * 60
    assert app.conf.worker_prefetch_multiplier == 1


def test_redis_redelivers_only_after_the_hard_limit() -> None:
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > settings.B2I_BUILD_HARD_TIME_LIMIT


def test_builds_go_to_their_own_queue() -> None:
    route = app.amqp.router.route({}, run_build_task.name, args=(1,), kwargs={})
    assert route["queue"].name == "builds"


def test_beat_reaps_lost_builds_within_75_seconds_of_the_last_heartbeat() -> None:
    entry = app.conf.beat_schedule["reap-lost-builds"]
    assert entry["task"] == "builders.tasks.reap_lost_builds_task"
    assert settings.B2I_BUILD_LOST_AFTER_SECONDS + entry["schedule"] <= 75
    assert settings.B2I_BUILD_HEARTBEAT_SECONDS == 10
    assert "builders.tasks.reap_lost_builds_task" in app.tasks


def test_the_worker_reconnects_to_redis_for_ever_and_keeps_builds_in_flight() -> None:
    assert app.conf.broker_transport == "b2i_console.broker:Transport"
    assert app.conf.broker_connection_max_retries is None
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert app.conf.result_backend_always_retry is True
    with app.connection_for_write() as connection:
        assert connection.transport.driver_type == "redis"  # the pending sweep reads it
