"""`AuditedView`: every state-changing REST request records exactly one audit entry.

The base of every API view (the tenancy views' `WorkspaceScoped`/`ProjectScoped` and the few
unscoped ones). The handler of a POST, PUT, PATCH or DELETE runs in one transaction with its
entry (authentication and access checks before it, outside): the entry of a success is written
before that transaction commits, so a change that rolls back leaves none.
A refusal (401/403: "denied") or another error ("failed", with the error's code) is recorded
afterwards in a transaction of its own. The console's pages change things through this API,
so they are covered too.

A view says what it changes: `audit_object_type` ("builder"), optionally `audit_actions`
({"POST": "run.start"}; the default is <type>.create/update/delete), `audit_fields` (the request
fields worth recording: an allow-list, so a new secret field is never recorded by accident),
and where the object's id is (`audit_id_key` in the response, `audit_id_kwarg` in the URL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from rest_framework.exceptions import APIException
from rest_framework.request import Empty, Request
from rest_framework.views import APIView

from audit.middleware import UNSAFE_METHODS, mark_recorded
from audit.models import ActorKind, Channel, Result
from audit.recording import (
    Actor,
    Outcome,
    Scope,
    Target,
    actor_of,
    record,
    sanitized,
    source_of,
)

logger = logging.getLogger(__name__)

VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
DENIED = frozenset({401, 403})


class AuditedView(APIView):
    audit_object_type: ClassVar[str] = ""
    audit_actions: ClassVar[Mapping[str, str]] = {}
    audit_fields: ClassVar[tuple[str, ...]] = ()
    audit_id_key: ClassVar[str] = "name"
    audit_id_kwarg: ClassVar[str] = "name"
    # A response field naming the object for people (a token's name), when the id does not.
    audit_display_key: ClassVar[str] = ""
    # A URL keyword naming the parent shown before the id ("hello/3": run 3 of builder hello).
    audit_parent_kwarg: ClassVar[str] = ""
    audit_channel: ClassVar[str] = Channel.API
    # Set by the scoped views once they resolved their workspace/project (before a deletion).
    audit_scope: Scope | None = None

    # Parse the body before the transaction begins (multipart uploads: a large file streams
    # to disk with no transaction open, after the access checks of initial()).
    audit_parse_body_first: ClassVar[bool] = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        method = str(request.method)
        if method not in UNSAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        mark_recorded(request)
        handler = getattr(self, method.lower(), None)
        if handler is not None:
            # DRF looks the handler up on the instance after initial(): this runs it in the
            # transaction, after authentication and the access checks (held no longer).
            setattr(self, method.lower(), self._in_transaction(handler))
        try:
            response = super().dispatch(request, *args, **kwargs)
        except Exception:
            self.record_crash()
            raise
        if response.status_code >= 400:  # refused or failed: its own transaction
            with transaction.atomic():
                self.record_outcome(response)
        return response

    def _in_transaction(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(request: Request, *args: Any, **kwargs: Any) -> Any:
            try:
                if self.audit_parse_body_first:
                    request.data  # noqa: B018 (parsing is the point)
            except Exception as error:
                return self.handle_exception(error)
            with transaction.atomic():
                try:
                    response = handler(request, *args, **kwargs)
                except Exception as error:
                    # Answered as DRF would (a bug re-raises: the transaction rolls back);
                    # what the view wrote before a handled error stays, as without the audit.
                    response = self.handle_exception(error)
                if response.status_code < 400:
                    self.record_outcome(response)  # before the commit: with the change
            return response

        return run

    # --- what is recorded -------------------------------------------------------------------

    def audit_action(self) -> str:
        method = str(self.request.method)
        return self.audit_actions.get(method) or f"{self.audit_object_type}.{VERBS[method]}"

    def audit_actor(self) -> Actor:
        try:
            return actor_of(self.request.user, self.request.auth)
        except APIException:  # the credentials were refused: nobody signed in
            return Actor(ActorKind.ANONYMOUS)

    def audit_target(self, response: HttpResponseBase | None) -> Target:
        ident = shown = ""
        data = getattr(response, "data", None)
        if response is not None and response.status_code < 400 and isinstance(data, Mapping):
            ident = str(data.get(self.audit_id_key) or "")
            shown = str(data.get(self.audit_display_key) or "") if self.audit_display_key else ""
        ident = ident or str(self.kwargs.get(self.audit_id_kwarg, ""))
        parent = (
            str(self.kwargs.get(self.audit_parent_kwarg, "")) if self.audit_parent_kwarg else ""
        )
        display = shown or (f"{parent}/{ident}" if parent else ident)
        return Target(self.audit_object_type, ident, display, self.current_scope(response))

    def current_scope(self, response: HttpResponseBase | None) -> Scope:
        if self.audit_scope is not None:
            return self.audit_scope
        return Scope.named(
            str(self.kwargs.get("workspace", "")), str(self.kwargs.get("project", ""))
        )

    def audit_detail(self) -> dict[str, object]:
        if not self.audit_fields:
            return {}
        # Only a body the view already parsed: parsing here could read a refused upload.
        parsed = getattr(self.request, "_full_data", Empty)
        return sanitized(parsed, self.audit_fields) if parsed is not Empty else {}

    # --- writing ----------------------------------------------------------------------------

    def record_outcome(self, response: HttpResponseBase) -> None:
        record(
            self.audit_action(),
            self.audit_actor(),
            source_of(self.request.META, self.audit_channel),
            self.audit_target(response),
            outcome_of(response),
            self.audit_detail(),
        )

    def record_crash(self) -> None:
        """An unexpected error rolled the change back: record that it failed (the caller
        re-raises the error; a failure to record it must not hide it)."""
        try:
            with transaction.atomic():
                record(
                    self.audit_action(),
                    self.audit_actor(),
                    source_of(self.request.META, self.audit_channel),
                    self.audit_target(None),
                    Outcome(Result.FAILED, 500, "server:error"),
                )
        except Exception:
            logger.exception("the failure of a request could not be recorded in the audit log")


def outcome_of(response: HttpResponseBase) -> Outcome:
    status = response.status_code
    if status < 400:
        return Outcome(Result.SUCCESS, status)
    data = getattr(response, "data", None)
    code = str(data.get("code", "")) if isinstance(data, Mapping) else ""
    return Outcome(Result.DENIED if status in DENIED else Result.FAILED, status, code)
