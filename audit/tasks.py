"""Celery tasks of the audit app."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.retention import purge_expired_entries

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.purge_expired_entries_task")
def purge_expired_entries_task() -> int:
    removed = purge_expired_entries()
    if removed:
        logger.info("audit entries past retention removed", extra={"removed": removed})
    return removed
