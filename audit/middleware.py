"""Records refused state-changing requests that no view recorded itself.

The REST API's views record their own outcomes (`audit.api.auditing.AuditedView`) and mark the
request; what is refused before a view runs - a failed CSRF check, a page or admin view's 403 -
is recorded here, as `request.denied`, in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from audit.models import Channel, Result
from audit.recording import Outcome, Scope, Target, actor_of, bounded, record, source_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DENIED_STATUSES = frozenset({401, 403})
RECORDED_MARK = "audit_recorded"


def mark_recorded(request: HttpRequest) -> None:
    """Tell the middleware that a view recorded this request's outcome itself."""
    setattr(request, RECORDED_MARK, True)


def _should_record(request: HttpRequest, response: HttpResponseBase) -> bool:
    return (
        request.method in UNSAFE_METHODS
        and response.status_code in DENIED_STATUSES
        and not getattr(request, RECORDED_MARK, False)
    )


def _scope_of(request: HttpRequest) -> Scope:
    match = request.resolver_match
    kwargs: dict[str, Any] = dict(match.kwargs) if match is not None else {}
    workspace = kwargs.get("workspace") or kwargs.get("ws") or ""
    return Scope.named(str(workspace), str(kwargs.get("project", "")))


def record_denied(request: HttpRequest, response: HttpResponseBase) -> None:
    channel = Channel.ADMIN if request.path.startswith("/admin/") else Channel.WEB
    with transaction.atomic():
        record(
            "request.denied",
            actor_of(getattr(request, "user", None)),
            source_of(request.META, channel),
            Target("url", bounded(request.path), scope=_scope_of(request)),
            Outcome(Result.DENIED, response.status_code),
            detail={"method": request.method},
        )


Handler = Callable[[HttpRequest], Any]


@sync_and_async_middleware
def denied_requests_middleware(get_response: Handler) -> Handler:
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            response: HttpResponseBase = await get_response(request)
            if _should_record(request, response):
                await sync_to_async(record_denied)(request, response)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = get_response(request)
        if _should_record(request, response):
            record_denied(request, response)
        return response

    return middleware
