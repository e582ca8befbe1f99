"""Notifications: who hears of an event, each delivery's attempts, channels saved, tests sent.

`on_build_finished` and `on_rollout_finished` receive the builders' and workloads' signals
(sent after commit), record one Delivery per interested channel and member, and send each to
the worker by task name (`notifications.tasks.deliver_task`) once those rows are committed. The
task calls `attempt_delivery`; the worker retries with exponential backoff, at most
B2I_NOTIFY_MAX_ATTEMPTS times in all. A "send test" makes one attempt at once, in the request.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from b2i_console.celery import app as celery_app
from b2i_console.errors import UserError
from builders.models import BuildRun
from notifications import events
from notifications.addresses import check_webhook_url
from notifications.formats import render_request
from notifications.models import (
    ChannelKind,
    Delivery,
    DeliveryState,
    EmailSubscription,
    EventKind,
    WebhookChannel,
)
from notifications.sending import Outcome, post_webhook, send_email
from projects import access
from projects.crypto import SecretDecryptionError
from projects.models import Project
from workloads.models import Service

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
DELIVER_TASK = "notifications.tasks.deliver_task"


# --- events -> deliveries -----------------------------------------------------------------


def on_build_finished(sender: Any, *, run: BuildRun, **kwargs: Any) -> None:
    """Receive `builders.signals.build_finished` (connected in NotificationsConfig.ready)."""
    run = BuildRun.objects.select_related("builder__project__workspace").get(pk=run.pk)
    kind = events.build_event_kind(run)
    if kind is not None:
        queue_event(run.builder.project, kind, events.build_facts(run, kind))


def on_rollout_finished(
    sender: Any, *, service: Service, run: BuildRun, succeeded: bool, message: str, **kwargs: Any
) -> None:
    """Receive `workloads.signals.rollout_finished` (connected in NotificationsConfig.ready)."""
    facts = events.rollout_facts(service, run, succeeded, message)
    queue_event(service.project, facts["event"], facts)


def queue_event(project: Project, kind: str, facts: events.Facts) -> list[Delivery]:
    """Record a delivery for every enabled channel and member subscription wanting KIND."""
    targets: list[Delivery] = [
        Delivery(project=project, channel=channel, event=kind, facts=facts)
        for channel in project.notification_channels.filter(enabled=True)
        if channel.wants(kind)
    ]
    subscriptions = project.email_subscriptions.select_related("user")
    targets += [
        Delivery(project=project, subscription=subscription, event=kind, facts=facts)
        for subscription in subscriptions
        if subscription.wants(kind) and access.may_receive_notifications(subscription.user, project)
    ]
    with transaction.atomic():
        created = Delivery.objects.bulk_create(targets)
        for delivery in created:
            transaction.on_commit(partial(send_to_worker, delivery.pk))
    return created


def send_to_worker(delivery_id: int, countdown: float = 0) -> None:
    mark_due(delivery_id, countdown)
    celery_app.send_task(DELIVER_TASK, args=[delivery_id], countdown=countdown or None)


def mark_due(delivery_id: int, countdown: float) -> None:
    due = timezone.now() + timedelta(seconds=countdown)
    Delivery.objects.filter(pk=delivery_id).update(due_at=due)


# A pending delivery this long past its due time lost its task message; sent again then.
LOST_AFTER = timedelta(minutes=10)
# How much earlier than due a task may run (the sender's and the worker's clocks differ).
CLOCK_SLACK = timedelta(seconds=30)


def requeue_lost_deliveries() -> list[int]:
    """Send again pending deliveries whose message never reached a worker (Celery beat)."""
    lost = Delivery.objects.filter(
        state=DeliveryState.PENDING, due_at__lt=timezone.now() - LOST_AFTER
    ).values_list("pk", flat=True)
    requeued = list(lost[:500])
    for delivery_id in requeued:
        send_to_worker(delivery_id)
    return requeued


def prune_delivery_log() -> int:
    """Delete finished deliveries older than B2I_NOTIFY_LOG_DAYS (Celery beat)."""
    before = timezone.now() - timedelta(days=settings.B2I_NOTIFY_LOG_DAYS)
    old = Delivery.objects.filter(created_at__lt=before).exclude(state=DeliveryState.PENDING)
    deleted, _by_model = old.delete()
    return deleted


# --- one attempt --------------------------------------------------------------------------


def attempt_delivery(delivery_id: int) -> Delivery | None:
    """Make the next attempt of a pending delivery and record it; None if nothing to do.

    The attempt is claimed first by a guarded UPDATE (same attempt count, and due): of two
    copies of one task message only one sends, a copy arriving before its backoff ended sends
    nothing, and the bound on attempts holds even when a worker dies mid-send.
    """
    current = (
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
        .values_list("attempts", flat=True)
        .first()
    )
    if current is None:
        return None
    now = timezone.now()
    due = Q(due_at__isnull=True) | Q(due_at__lte=now + CLOCK_SLACK)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, attempts=current)
        .filter(due)
        .update(attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("channel", "subscription__user").get(pk=delivery_id)
    outcome = send_once(delivery)
    out_of_attempts = delivery.attempts >= settings_max_attempts()
    if outcome.delivered:
        state = DeliveryState.DELIVERED
    elif outcome.retryable and not out_of_attempts:
        state = DeliveryState.PENDING
    else:
        state = DeliveryState.FAILED
    record_outcome(delivery, outcome, state)
    return delivery


def settings_max_attempts() -> int:
    return max(1, int(settings.B2I_NOTIFY_MAX_ATTEMPTS))


def send_once(delivery: Delivery) -> Outcome:
    try:
        if delivery.channel is not None:
            channel = delivery.channel
            request = render_request(
                channel.kind, channel.url, channel.secret, delivery.facts, delivery.pk, time.time()
            )
            return post_webhook(channel.kind, request)
        assert delivery.subscription is not None
        return send_email(delivery.subscription.user.email, delivery.facts)
    except SecretDecryptionError as exc:
        return Outcome(False, error=exc.message)
    except Exception as exc:  # a bug: logged for the operator, recorded, not retried
        logger.exception("notification delivery %s failed", delivery.pk)
        # Only the type: an exception's text may quote the URL, which holds the robot's key.
        return Outcome(False, error=f"internal error ({type(exc).__name__}); see the worker log")


def record_outcome(delivery: Delivery, outcome: Outcome, state: str) -> None:
    delivery.state = state
    delivery.status_code = outcome.status_code
    delivery.error = "" if outcome.delivered else outcome.short_error()
    delivery.save(update_fields=["state", "status_code", "error"])


def retry_delay(attempts: int) -> float:
    """Exponential backoff after ATTEMPTS failed attempts: base, 2x, 4x … capped at an hour."""
    return float(min(3600, settings.B2I_NOTIFY_RETRY_DELAY * 2 ** max(0, attempts - 1)))


# --- channels and tests -------------------------------------------------------------------


def save_channel(
    channel: WebhookChannel, url: str | None = None, secret: str | None = None
) -> WebhookChannel:
    """Validate and save a channel; URL and SECRET None keep the stored ones."""
    if url is not None:
        channel.url_host = check_webhook_url(url)
        channel.url = url
    elif channel.url_encrypted:
        check_webhook_url(channel.url)  # the policy may have narrowed since it was saved
    else:
        raise UserError("notify:bad-url", "Give the webhook URL.")
    if secret is not None:
        channel.secret = secret
    if channel.kind == ChannelKind.WEBHOOK and not channel.secret_encrypted:
        raise UserError(
            "notify:secret-required",
            "A generic webhook needs a signing secret: receivers check X-B2I-Signature with it.",
        )
    channel.full_clean(exclude=["project", "creator", "url_encrypted", "url_host"])
    channel.save()
    return channel


def send_test(
    project: Project,
    user: User,
    *,
    channel: WebhookChannel | None = None,
    subscription: EmailSubscription | None = None,
) -> Delivery:
    """Send a test notification now (one attempt, logged like any delivery); return it."""
    facts = events.test_facts(project, user.get_username())
    delivery = Delivery.objects.create(
        project=project,
        channel=channel,
        subscription=subscription,
        event=EventKind.TEST,
        facts=facts,
        attempts=1,
        last_attempt_at=timezone.now(),
    )
    outcome = send_once(delivery)
    state = DeliveryState.DELIVERED if outcome.delivered else DeliveryState.FAILED
    record_outcome(delivery, outcome, state)
    return delivery
