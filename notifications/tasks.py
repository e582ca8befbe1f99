"""Celery tasks of notifications (ids in, services called)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import shared_task

from notifications import services
from notifications.models import DeliveryState

if TYPE_CHECKING:
    from celery import Task


@shared_task(bind=True, name=services.DELIVER_TASK, acks_late=True, ignore_result=True)
def deliver_task(self: Task[[int], None], delivery_id: int) -> None:
    """Attempt a delivery; a retryable failure retries with exponential backoff.

    The bound is the delivery row's attempt count (B2I_NOTIFY_MAX_ATTEMPTS), not Celery's retry
    counter: it survives a worker's restart and a duplicate message.
    """
    delivery = services.attempt_delivery(delivery_id)
    if delivery is not None and delivery.state == DeliveryState.PENDING:
        countdown = services.retry_delay(delivery.attempts)
        services.mark_due(delivery_id, countdown)
        raise self.retry(countdown=countdown, max_retries=None)


@shared_task(name="notifications.tasks.requeue_lost_deliveries_task")
def requeue_lost_deliveries_task() -> list[int]:
    """Send again deliveries whose message was lost (Celery beat, every 5 minutes)."""
    return services.requeue_lost_deliveries()


@shared_task(name="notifications.tasks.prune_delivery_log_task")
def prune_delivery_log_task() -> int:
    """Delete delivery log entries older than B2I_NOTIFY_LOG_DAYS (Celery beat, daily)."""
    return services.prune_delivery_log()
