"""The audit log over the REST API, read only: a page of entries, and the same as CSV.

Who reads what is decided by projects.access: platform admins read every entry, a workspace's
admins that workspace's (`?workspace=` narrows to one), anyone else gets 403.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.api.serializers import AuditEntrySerializer
from audit.models import AuditEntry
from audit.selectors import filter_from, filtered, visible_entries
from projects import access

CSV_MAX_ROWS = 100_000
# The same columns as an entry in the JSON list, in the same order: one list to keep.
CSV_COLUMNS = tuple(AuditEntrySerializer.Meta.fields)
# A cell a spreadsheet would run as a formula (CSV injection) starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FILTERS = [
    OpenApiParameter("workspace", str, description="Only this workspace's entries"),
    OpenApiParameter("user", str, description="Only this actor (a username)"),
    OpenApiParameter("action", str, description="An action (builder.create) or a prefix (builder)"),
    OpenApiParameter("object", str, description="Text in the object's name, or its id or type"),
    OpenApiParameter("since", str, description="From this date or ISO 8601 time (inclusive)"),
    OpenApiParameter("until", str, description="To this date (inclusive) or time (exclusive)"),
]


def readable_entries(request: Request) -> QuerySet[AuditEntry]:
    user = request.user
    name = request.query_params.get("workspace", "")
    workspace = access.access_workspace_for_user(user, name, "audit") if name else None
    if workspace is None and not access.may_read_any_audit(user):
        raise PermissionDenied("Only workspace admins and platform admins read the audit log.")
    entries = visible_entries(user, workspace)
    return filtered(entries, filter_from(request.query_params))


class AuditEntryList(generics.ListAPIView[AuditEntry]):
    serializer_class = AuditEntrySerializer

    @extend_schema(parameters=FILTERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return readable_entries(self.request)


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries[:CSV_MAX_ROWS].iterator(chunk_size=2000):
        yield writer.writerow([csv_cell(_column(entry, name)) for name in CSV_COLUMNS])


def _column(entry: AuditEntry, name: str) -> object:
    value = getattr(entry, name)
    if name == "detail":
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value.isoformat() if name == "created_at" else value


class AuditEntryCsv(APIView):
    """The filtered entries as CSV (at most CSV_MAX_ROWS, newest first)."""

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            csv_lines(readable_entries(request)), content_type="text/csv"
        )
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
