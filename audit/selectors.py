"""Reading the audit log: who may see which entries (decided by projects.access), and filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from audit.models import AuditEntry
from b2i_console.errors import UserError
from projects import access
from projects.access import RequestUser
from projects.models import Workspace

FILTER_TEXT_LIMIT = 100


@dataclass(frozen=True)
class EntryFilter:
    user: str = ""
    action: str = ""
    object: str = ""
    since: datetime | None = None
    until: datetime | None = None


def visible_entries(user: RequestUser, workspace: Workspace | None = None) -> QuerySet[AuditEntry]:
    """The entries the user may read, of one workspace when given (its access checked before)."""
    entries = AuditEntry.objects.all()
    if workspace is not None:
        entries = entries.filter(workspace_id=workspace.pk)
    readable = access.audit_workspaces_for(user)
    if readable is None:
        return entries
    return entries.filter(workspace_id__in=readable.values("pk"))


def filtered(entries: QuerySet[AuditEntry], chosen: EntryFilter) -> QuerySet[AuditEntry]:
    if chosen.user:
        entries = entries.filter(actor_name=chosen.user)
    if chosen.action:
        # "builder" finds every builder.* action; "builder.create" just that one.
        if "." in chosen.action:
            entries = entries.filter(action=chosen.action)
        else:
            entries = entries.filter(action__startswith=chosen.action + ".")
    if chosen.object:
        text = chosen.object
        entries = entries.filter(
            Q(object_repr__icontains=text) | Q(object_id=text) | Q(object_type=text)
        )
    if chosen.since is not None:
        entries = entries.filter(created_at__gte=chosen.since)
    if chosen.until is not None:
        entries = entries.filter(created_at__lt=chosen.until)
    return entries


def _moment(text: str, name: str, end_of_day: bool = False) -> datetime | None:
    if not text:
        return None
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        moment = datetime.combine(day, datetime.min.time())
        if end_of_day:
            moment = moment + timedelta(days=1)
    if moment is None:
        message = _("%(name)s must be a date (2026-01-31) or an ISO 8601 date-time.")
        raise UserError("audit:bad-time", message % {"name": name})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def filter_from(params: Mapping[str, Any]) -> EntryFilter:
    """Read the filter from query parameters: user, action, object, since, until (dates)."""
    text = {
        key: str(params.get(key, "")).strip()[:FILTER_TEXT_LIMIT]
        for key in EntryFilter.__dataclass_fields__
    }
    return EntryFilter(
        user=text["user"],
        action=text["action"],
        object=text["object"],
        since=_moment(text["since"], "since"),
        until=_moment(text["until"], "until", end_of_day=True),
    )
