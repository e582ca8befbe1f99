"""Celery tasks of the builders app: each takes ids and calls the runner, services or a sweep.

Messages for `run_build_task` are sent by name (`builders.build_queue`), and the pending sweep
lists the broker's queue there too; this module only receives.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from celery import shared_task
from django.conf import settings

from builders import counters, quotas, runner, services
from builders.artifacts.expiry import expire_uploads
from builders.build_queue import RUN_BUILD_TASK
from builders.log_archive import archive_old_logs
from builders.retention import apply_retention
from builders.temp_sweep import sweep_build_temp_dirs

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=RUN_BUILD_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.B2I_BUILD_SOFT_TIME_LIMIT,
    time_limit=settings.B2I_BUILD_HARD_TIME_LIMIT,
)
def run_build_task(self: Task[[int], str], run_id: int) -> str:
    """Build one run (ids only: the row says everything); a duplicate delivery does nothing."""
    try:
        return runner.run_build(run_id, task_id=self.request.id or "")
    except runner.ClaimHeldElsewhere as held:
        # Redelivered while the holder may still live: look again once it could be lost.
        raise self.retry(countdown=held.retry_after, max_retries=None) from held


@shared_task(name="builders.tasks.reap_lost_builds_task")
def reap_lost_builds_task() -> list[int]:
    """Fail runs whose worker stopped sending heartbeats (Celery beat, every 15 s)."""
    reaped = services.do_reap_lost_runs()
    counters.count_actions("reap-lost-builds", reaped)
    return reaped


@shared_task(name="builders.tasks.requeue_lost_pending_builds_task")
def requeue_lost_pending_builds_task() -> dict[str, list[int]]:
    """Queue again Pending runs whose queue message was lost (Celery beat, every minute)."""
    done = services.do_requeue_lost_pending_runs()
    counters.count_actions("requeue-lost-pending", done)
    return done


@shared_task(name="builders.tasks.release_waiting_builds_task")
def release_waiting_builds_task() -> list[int]:
    """Queue runs waiting for a build slot that is free (Celery beat, every 30 s)."""
    released = quotas.do_release_waiting_runs()
    counters.count_actions("release-waiting-builds", released)
    return released


@shared_task(name="builders.tasks.archive_old_logs_task")
def archive_old_logs_task() -> int:
    """Compress logs of runs older than B2I_LOG_ARCHIVE_DAYS into storage."""
    archived = archive_old_logs(settings.B2I_LOG_ARCHIVE_DAYS)
    counters.count_actions("archive-logs", archived)
    return archived


@shared_task(name="builders.tasks.expire_abandoned_uploads_task")
def expire_abandoned_uploads_task() -> dict[str, dict[str, int]]:
    """Delete unfinished uploads and sweep staged bytes left behind (Celery beat, hourly)."""
    expired = expire_uploads().as_dict()
    for kind, counts in expired.items():  # items removed per rule (uploads, scratch files)
        counters.count_actions(f"expire-uploads:{kind}", counts["uploads"])
    return expired


@shared_task(name="builders.tasks.sweep_build_temp_dirs_task")
def sweep_build_temp_dirs_task() -> int:
    """Remove temp directories of killed builds (Celery beat, hourly; also at worker start)."""
    swept = sweep_build_temp_dirs()
    counters.count_actions("sweep-temp-dirs", swept)
    return swept


@shared_task(name="builders.tasks.apply_retention_task")
def apply_retention_task() -> dict[str, int]:
    """Delete runs past their builder's retention and long-unreferenced artifacts (hourly)."""
    result = apply_retention().as_dict()
    for what, count in result.items():
        counters.count_actions(f"retention:{what}", count)
    return result
