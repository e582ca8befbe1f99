"""Retention: a real Celery worker runs the beat task that deletes entries past
B2I_AUDIT_RETENTION_DAYS, and the purge records itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry
from audit.tasks import purge_expired_entries_task

pytestmark = pytest.mark.django_db(transaction=True)


def make_entry(age_days: int, action: str) -> None:
    AuditEntry.objects.create(
        actor_kind="user",
        actor_name="alice",
        channel="api",
        action=action,
        result="success",
        created_at=timezone.now() - timedelta(days=age_days),
    )


def test_the_beat_schedule_runs_the_purge_hourly() -> None:
    planned = settings.CELERY_BEAT_SCHEDULE["purge-expired-audit-entries"]
    assert planned["task"] == purge_expired_entries_task.name
    assert planned["schedule"] == 3600.0


def test_a_worker_purges_entries_past_retention(celery_worker: object) -> None:
    retention = settings.B2I_AUDIT_RETENTION_DAYS  # the worker's: the same default
    make_entry(retention + 5, "builder.create")
    make_entry(retention + 1, "builder.update")
    make_entry(retention - 1, "builder.delete")
    removed = purge_expired_entries_task.delay().get(timeout=120)
    assert removed == 2
    kept = sorted(AuditEntry.objects.values_list("action", "actor_kind"))
    assert kept == [("audit.purge", "system"), ("builder.delete", "user")]
    purge = AuditEntry.objects.get(action="audit.purge")
    assert purge.detail == {"removed": 2, "retention_days": retention}


def test_zero_days_keeps_everything(settings: object) -> None:
    from audit.retention import purge_expired_entries

    settings.B2I_AUDIT_RETENTION_DAYS = 0  # type: ignore[attr-defined]
    make_entry(5000, "builder.create")
    assert purge_expired_entries() == 0
    assert AuditEntry.objects.count() == 1
