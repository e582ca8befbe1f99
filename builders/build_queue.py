"""The build queue in the broker: send a run to it, revoke a message, list the runs it holds.

Runs are sent by task name (`RUN_BUILD_TASK`), so state changes (`builders.services`) never
import the task module that calls them back. Listing what the queue holds reads kombu's Redis
transport below its public API (the lists per priority and the unacked hash): Celery offers no
way to list queued messages, and the pending sweep needs it to tell a long queue from a lost
message.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from b2i_console.celery import app

logger = logging.getLogger(__name__)

RUN_BUILD_TASK = "builders.tasks.run_build_task"


def send_run(run_id: int, task_id: str | None = None) -> None:
    """Queue one delivery of the build task for the run (the task id lets a cancel revoke it)."""
    app.send_task(RUN_BUILD_TASK, args=[run_id], task_id=task_id)


def revoke(task_id: str) -> None:
    """Tell workers to drop a queued task (a redelivered copy is then skipped)."""
    app.control.revoke(task_id)


def runs_held_by_broker() -> set[int] | None:
    """Ids of the runs a build message in the broker still names, queued or reserved by a worker.

    None when the broker cannot be read right now. With a broker other than Redis the messages
    cannot be listed: the answer is then empty, and the pending sweep goes by time alone.
    """
    routes = app.conf.task_routes or {}
    queue = routes.get(RUN_BUILD_TASK, {}).get("queue") or app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection:
            if connection.transport.driver_type != "redis":
                return set()
            channel: Any = connection.channel()  # kombu's Redis channel (see below)
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
        # kombu's private name of the list for one priority (kombu.transport.redis.Channel).
        raw.extend(client.lrange(channel._q_for_pri(queue, priority), 0, -1))
    # Delivered but not acknowledged (acks_late): [message, exchange, routing key].
    raw.extend(json.loads(entry)[0] for entry in client.hvals(channel.unacked_key))
    return raw


def _run_id_of(raw: Any) -> int | None:
    """The run id of one run_build_task message (JSON, task protocol 2); None for others."""
    try:
        message = json.loads(raw) if isinstance(raw, bytes | str) else raw
        if (message.get("headers") or {}).get("task") != RUN_BUILD_TASK:
            return None
        body = message["body"]
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
