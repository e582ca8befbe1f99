"""The audit log: one row per state-changing action, written in the transaction of the change.

Foreign keys here carry no database constraint and nothing cascades: an entry outlives the user,
workspace or project it names (its `*_name` columns keep what they were called), and an entry
that records a deletion can be written in the very transaction that deleted its object.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Project, Workspace

DETAIL_TEXT_LIMIT = 300


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    TOKEN = "token", _("API token")
    TRIGGER = "trigger", _("Trigger")
    COMMAND = "command", _("Management command")
    SYSTEM = "system", _("System")
    ANONYMOUS = "anonymous", _("Anonymous")


class Channel(models.TextChoices):
    API = "api", _("REST API")
    ADMIN = "admin", _("Admin")
    COMMAND = "command", _("Management command")
    TRIGGER = "trigger", _("Trigger")
    WEB = "web", _("Web")
    TASK = "task", _("Scheduled task")


class Result(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILED = "failed", _("Failed")


def _loose_key(to: type[models.Model] | str) -> models.ForeignKey[object, object]:
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )


class AuditEntry(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = _loose_key(settings.AUTH_USER_MODEL)
    actor_name = models.CharField(max_length=150, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=200, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    workspace = _loose_key(Workspace)
    workspace_name = models.CharField(max_length=63, blank=True)
    project = _loose_key(Project)
    project_name = models.CharField(max_length=63, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    result = models.CharField(max_length=16, choices=Result.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="audit_workspace_time"),
            models.Index(fields=["actor_name", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        who = self.actor_name or self.actor_kind
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {who} {self.action}"

    @property
    def detail_text(self) -> str:
        """The recorded fields as one short line of JSON, for the console's table."""
        text = json.dumps(self.detail, ensure_ascii=False, sort_keys=True) if self.detail else ""
        return text if len(text) <= DETAIL_TEXT_LIMIT else text[: DETAIL_TEXT_LIMIT - 1] + "…"
