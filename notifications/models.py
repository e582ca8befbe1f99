"""Notification models: a project's webhook channels, members' e-mail subscriptions, deliveries.

A channel's URL and signing secret are encrypted at rest (projects.crypto) and never returned:
Slack, DingTalk and WeCom put the webhook's credential in the URL itself. Only the URL's host is
kept in clear, to show which service a channel talks to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.crypto import decrypt_text, encrypt_text
from projects.models import dns_label_field

MAX_ERROR_CHARS = 1000


class BuildEvents(models.TextChoices):
    NONE = "none", _("No builds")
    FAILED = "failed", _("Failed builds")
    FAILED_RECOVERED = "failed_recovered", _("Failed and recovered builds")
    ALL = "all", _("Every finished build")


class EventKind(models.TextChoices):
    BUILD_FAILED = "build.failed", _("Build failed")
    BUILD_RECOVERED = "build.recovered", _("Build recovered")
    BUILD_SUCCEEDED = "build.succeeded", _("Build succeeded")
    ROLLOUT_SUCCEEDED = "rollout.succeeded", _("Rollout succeeded")
    ROLLOUT_FAILED = "rollout.failed", _("Rollout failed")
    TEST = "test", _("Test notification")


# Which build events each choice sends (a recovery is the first success after a failure).
BUILD_EVENTS_SENT: dict[str, frozenset[str]] = {
    BuildEvents.NONE: frozenset(),
    BuildEvents.FAILED: frozenset({EventKind.BUILD_FAILED}),
    BuildEvents.FAILED_RECOVERED: frozenset({EventKind.BUILD_FAILED, EventKind.BUILD_RECOVERED}),
    BuildEvents.ALL: frozenset(
        {EventKind.BUILD_FAILED, EventKind.BUILD_RECOVERED, EventKind.BUILD_SUCCEEDED}
    ),
}
ROLLOUT_KINDS = frozenset({EventKind.ROLLOUT_SUCCEEDED, EventKind.ROLLOUT_FAILED})


class EventChoice(models.Model):
    """What a channel or subscription wants to hear about."""

    build_events = models.CharField(
        max_length=20, choices=BuildEvents.choices, default=BuildEvents.FAILED
    )
    rollout_events = models.BooleanField(default=False)

    class Meta:
        abstract = True

    def wants(self, kind: str) -> bool:
        if kind == EventKind.TEST:
            return True
        if kind in ROLLOUT_KINDS:
            return self.rollout_events
        return kind in BUILD_EVENTS_SENT.get(self.build_events, frozenset())


class ChannelKind(models.TextChoices):
    SLACK = "slack", _("Slack-compatible")
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")
    WEBHOOK = "webhook", _("Generic JSON (HMAC-SHA256 signed)")


class WebhookChannel(EventChoice):
    """An outgoing webhook of a project, managed by the project's admins."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_channels"
    )
    name = dns_label_field()
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    url_encrypted = models.TextField(editable=False)
    url_host = models.CharField(max_length=255, editable=False)
    secret_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="channel_name_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.name} ({self.kind})"

    @property
    def url(self) -> str:
        return decrypt_text(self.url_encrypted) if self.url_encrypted else ""

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted = encrypt_text(value)

    @property
    def secret(self) -> str:
        return decrypt_text(self.secret_encrypted) if self.secret_encrypted else ""

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_text(value) if value else ""


class EmailSubscription(EventChoice):
    """A member's own choice of e-mails about one project (to the address of their account)."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="email_subscriptions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_subscriptions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="subscription_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.user_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event sent (or being sent) to one channel or subscription: the delivery log."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_deliveries"
    )
    channel = models.ForeignKey(
        WebhookChannel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        EmailSubscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.CharField(max_length=32, choices=EventKind.choices)
    # What the message says, kept so a retry sends the same words (never a secret).
    facts = models.JSONField(default=dict)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=MAX_ERROR_CHARS, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the worker should make the next attempt (its message's countdown): a pending
    # delivery long past it lost its message (a broker outage) and is sent again.
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["channel", "-created_at"]),
            models.Index(fields=["subscription", "-created_at"]),
            models.Index(fields=["state", "due_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=False) ^ models.Q(subscription__isnull=False),
                name="delivery_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.state})"
