"""Celery tasks of the builders app: thin wrappers that pass ids and call the runner/services."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from builders import runner, services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="builders.tasks.run_build_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.B2I_BUILD_SOFT_TIME_LIMIT,
    time_limit=settings.B2I_BUILD_HARD_TIME_LIMIT,
)
def run_build_task(self: Any, run_id: int) -> str:
    """Build one run (ids only: the row says everything); a duplicate delivery does nothing."""
    try:
        return runner.run_build(run_id, task_id=self.request.id or "")
    except runner.ClaimHeldElsewhere as held:
        # Redelivered while the holder may still live: look again once it could be lost.
        raise self.retry(countdown=held.retry_after, max_retries=None) from held


@shared_task(name="builders.tasks.reap_lost_builds_task")
def reap_lost_builds_task() -> list[int]:
    """Fail runs whose worker stopped sending heartbeats (Celery beat, every minute)."""
    return services.do_reap_lost_runs()


@shared_task(name="builders.tasks.requeue_lost_pending_builds_task")
def requeue_lost_pending_builds_task() -> dict[str, list[int]]:
    """Queue again Pending runs whose queue message was lost (Celery beat, every minute)."""
    return services.do_requeue_lost_pending_runs()


def runs_held_by_broker() -> set[int] | None:
    """Ids of the runs a build message in the broker still names, queued or reserved by a worker.

    None when the broker cannot be read right now. With a broker other than Redis the messages
    cannot be listed: the answer is then empty, and the pending sweep goes by time alone.
    """
    from b2i_console.celery import app

    name = run_build_task.name
    queue = (app.conf.task_routes or {}).get(name, {}).get("queue") or app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection:
            if connection.transport.driver_type != "redis":
                return set()
            channel = connection.channel()
            try:
                raw = _broker_messages(channel, queue)
            finally:
                channel.close()
    except Exception:  # a broker outage: decide nothing until it can be read again
        logger.warning("could not list the messages of queue %s", queue, exc_info=True)
        return None
    return {run_id for run_id in map(_run_id_of, raw) if run_id is not None}


def _broker_messages(channel: Any, queue: str) -> list[Any]:
    """Raw messages of kombu's Redis transport: the queue's lists, then the unacked hash."""
    client = channel.client
    raw: list[Any] = []
    for priority in channel.priority_steps:
        raw.extend(client.lrange(channel._q_for_pri(queue, priority), 0, -1))
    # Delivered but not acknowledged (acks_late): [message, exchange, routing key].
    raw.extend(json.loads(entry)[0] for entry in client.hvals(channel.unacked_key))
    return raw


def _run_id_of(raw: Any) -> int | None:
    """The run id of one run_build_task message (JSON, task protocol 2); None for others."""
    try:
        message = json.loads(raw) if isinstance(raw, bytes | str) else raw
        if (message.get("headers") or {}).get("task") != run_build_task.name:
            return None
        body = message["body"]
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


@shared_task(name="builders.tasks.archive_old_logs_task")
def archive_old_logs_task() -> int:
    """Compress logs of runs older than B2I_LOG_ARCHIVE_DAYS into storage."""
    from builders.log_archive import archive_old_logs

    return archive_old_logs(settings.B2I_LOG_ARCHIVE_DAYS)


@shared_task(name="builders.tasks.expire_abandoned_uploads_task")
def expire_abandoned_uploads_task() -> dict[str, dict[str, int]]:
    """Delete unfinished uploads and sweep staged bytes left behind (Celery beat, hourly)."""
    from builders.artifacts.expiry import expire_uploads

    return expire_uploads().as_dict()
