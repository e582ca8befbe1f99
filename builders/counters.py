"""Counters and per-process gauges that every process (web servers, workers, beat) adds to.

A Prometheus counter kept in one process' memory would count only what that process did, and
web servers and workers are separate processes (pods) with no shared filesystem for
prometheus-client's multiprocess mode. So counts live in the database, which every process
writes anyway: one row per name and label, incremented by one SQL statement (no lost updates
between processes), read by builders.metrics at scrape time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from builders.models import MetricCounter, ProcessGauge

logger = logging.getLogger(__name__)

# Names of the counters (the metric is b2i_<name>_total, the label's name per counter below).
UPLOAD_BYTES = "upload_bytes"
PUSHED_BYTES = "push_uploaded_bytes"
REUSED_BYTES = "push_reused_bytes"
REGISTRY_ERRORS = "registry_request_errors"
MAINTENANCE = "maintenance_actions"

WEBSOCKETS = "websocket_connections"
# A process refreshes its gauge row at least this often; older rows are a dead process'.
GAUGE_REFRESH_SECONDS = 15
GAUGE_STALE_SECONDS = 4 * GAUGE_REFRESH_SECONDS


def increment(name: str, label: str = "", by: int = 1) -> None:
    """Add `by` to the counter (name, label) in one statement: an upsert, safe under races."""
    if by <= 0:
        return
    table = MetricCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, label, value) VALUES (%s, %s, %s) "  # noqa: S608 (our table name)
            f"ON CONFLICT (name, label) DO UPDATE SET value = {table}.value + excluded.value",
            [name, label[:100], by],
        )


def increment_after_commit(name: str, label: str = "", by: int = 1) -> None:
    """Count once the surrounding transaction commits: the counter row's lock is then never
    held through a long transaction (a chunk being written), so uploads never queue on it."""
    transaction.on_commit(lambda: _increment_quietly(name, label, by))


def _increment_quietly(name: str, label: str, by: int) -> None:
    try:
        increment(name, label, by)
    except Exception:  # a metric must never fail the action it counts
        logger.warning("could not count %s{%s}", name, label, exc_info=True)


def count_actions(action: str, ids_or_count: int | list[int] | dict[str, list[int]]) -> None:
    """Count what a sweep did: an id list, a count, or lists by outcome ("requeued": [...])."""
    if isinstance(ids_or_count, dict):
        for outcome, ids in ids_or_count.items():
            _increment_quietly(MAINTENANCE, f"{action}:{outcome}", len(ids))
        return
    count = ids_or_count if isinstance(ids_or_count, int) else len(ids_or_count)
    _increment_quietly(MAINTENANCE, action, count)


def counter_values(name: str) -> dict[str, int]:
    """The counter's value per label."""
    return dict(MetricCounter.objects.filter(name=name).values_list("label", "value"))


def set_process_gauge(name: str, process: str, value: int) -> None:
    """Record this process' current value (and that it is alive)."""
    ProcessGauge.objects.update_or_create(
        name=name, process=process[:255], defaults={"value": value, "updated_at": timezone.now()}
    )


def forget_process_gauge(name: str, process: str) -> None:
    ProcessGauge.objects.filter(name=name, process=process[:255]).delete()


def live_gauge_total(name: str) -> int:
    """The sum over processes that refreshed their row recently (dead ones drop out)."""
    fresh = timezone.now() - timedelta(seconds=GAUGE_STALE_SECONDS)
    rows = ProcessGauge.objects.filter(name=name, updated_at__gte=fresh)
    return int(rows.aggregate(total=Sum("value"))["total"] or 0)
