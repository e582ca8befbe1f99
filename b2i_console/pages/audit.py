"""The audit log pages: a workspace's (its admins) and the whole installation's (platform admins).

Rendered on the server (Django escapes every value: names are user input), filtered by the same
query parameters as the API, whose CSV endpoint the download link points at.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from audit.selectors import EntryFilter, filter_from, filtered, visible_entries
from b2i_console.errors import UserError
from b2i_console.pages.context import base_context, workspace_context
from projects import access
from projects.models import Workspace

PAGE_SIZE = 50
FILTER_NAMES = ("user", "action", "object", "since", "until")


@login_required
def workspace_audit(request: HttpRequest, ws: str) -> HttpResponse:
    workspace = access.access_workspace_for_user(request.user, ws, "audit")
    context = workspace_context(request, workspace, "audit")
    context.update(audit_listing(request, workspace))
    return render(request, "console/audit.html", context)


@login_required
def platform_audit(request: HttpRequest) -> HttpResponse:
    if not access.may_read_all_audit(request.user):
        raise PermissionDenied("Only platform admins read the whole audit log.")
    context = base_context(request, "audit")
    context.update(audit_listing(request, None))
    return render(request, "console/audit.html", context)


def audit_listing(request: HttpRequest, workspace: Workspace | None) -> dict[str, Any]:
    """The page's entries, filter values, page links and CSV link."""
    given = {name: request.GET.get(name, "")[:100] for name in FILTER_NAMES}
    error = ""
    try:
        chosen = filter_from(given)
    except UserError as refused:
        chosen, error = EntryFilter(), refused.message
    entries = filtered(visible_entries(request.user, workspace), chosen)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {name: value for name, value in given.items() if value}
    csv_query = {**({"workspace": workspace.name} if workspace else {}), **kept}
    return {
        "entries": page,
        "filters": given,
        "filter_error": error,
        "page_query": urlencode(kept),
        "csv_url": reverse("api-audit-entries-csv") + "?" + urlencode(csv_query),
    }
