"""Retention: entries older than B2I_AUDIT_RETENTION_DAYS go (Celery beat runs this hourly)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry, Channel
from audit.recording import SYSTEM, Source, Target, record

BATCH = 5000


def purge_expired_entries() -> int:
    """Delete the entries past retention and record the purge itself; return how many went."""
    days = int(settings.B2I_AUDIT_RETENTION_DAYS)
    if days <= 0:  # 0 keeps every entry
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    removed = 0
    with transaction.atomic():
        while True:
            batch = list(
                AuditEntry.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                    :BATCH
                ]
            )
            if not batch:
                break
            removed += AuditEntry.objects.filter(pk__in=batch).delete()[0]
        if removed:
            record(
                "audit.purge",
                SYSTEM,
                Source(Channel.TASK),
                Target("audit", display=f"entries before {cutoff:%Y-%m-%d %H:%M}"),
                detail={"removed": removed, "retention_days": days},
            )
    return removed
