"""JSON errors for the REST API: every error answer is `{"code": "...", "message": "..."}`.

Domain code and views raise `b2i_console.errors.UserError` (free of DRF); this handler
(settings REST_FRAMEWORK["EXCEPTION_HANDLER"]) is the one place that turns it into a response,
with its status and extra fields. It also turns Django's Http404 / PermissionDenied, DRF's
exceptions, and errors carrying `.code` + `.message` (OciError, SecretDecryptionError) into this
shape. Validation errors add `"fields": {name: [messages]}`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from b2i_console.errors import UserError

logger = logging.getLogger(__name__)

UNSTORABLE_MESSAGE = (
    "A value in the request cannot be stored (a NUL character, a number out of range or a text "
    "too long); change it and try again."
)


_DRF_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "auth:not-authenticated"),
    (exceptions.AuthenticationFailed, "auth:failed"),
    (exceptions.PermissionDenied, "access:forbidden"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "request:method-not-allowed"),
    (exceptions.NotAcceptable, "request:not-acceptable"),
    (exceptions.UnsupportedMediaType, "request:unsupported-media-type"),
    (exceptions.ParseError, "request:malformed"),
    (exceptions.Throttled, "request:throttled"),
]


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _flatten_messages(detail: object) -> object:
    if isinstance(detail, dict):
        return {key: _flatten_messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten_messages(item) for item in detail]
    return str(detail)


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = _flatten_messages(exc.detail)
    if not isinstance(fields, dict):
        fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
    first = _first_message(fields)
    return _body("validation:invalid", first or "The request is not valid.", fields=fields)


def _first_message(fields: dict[str, Any]) -> str:
    for name, messages in fields.items():
        message = messages
        while isinstance(message, list | dict):
            if not message:
                break
            message = message[0] if isinstance(message, list) else next(iter(message.values()))
        if isinstance(message, str):
            return message if name == "non_field_errors" else f"{name}: {message}"
    return ""


def _in_use_message(exc: ProtectedError | RestrictedError) -> str:
    in_use = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    users = sorted(f"{obj._meta.verbose_name} {obj}" for obj in in_use)
    shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
    return f"This is still used by {shown}; delete or change those first."


def _convert_foreign(exc: Exception) -> Exception:
    """Map Django's exceptions onto DRF ones, and coded errors onto UserError."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or "You may not do this.")
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return exceptions.ValidationError(detail)
    if isinstance(exc, ProtectedError | RestrictedError):
        # RESTRICT (e.g. a registry secret used by an image builder) is "in use" as well.
        return UserError("conflict:in-use", _in_use_message(exc), status=409)
    if isinstance(exc, DataError):
        # The database refused a value validation let through: the request's fault, but logged
        # with its traceback so the missing validation gets noticed and added.
        logger.warning("database refused a request value: %s", exc, exc_info=exc)
        return UserError("request:unstorable-value", UNSTORABLE_MESSAGE, status=400)
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, str) and isinstance(message, str) and not isinstance(exc, UserError):
        # Errors of the engine and of libraries (OciError, SecretDecryptionError…) carry their
        # own stable code; they are the user's to fix here (a bad registry, an old secret).
        return UserError(code, message)
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as {"code", "message"} with the right 4xx status."""
    exc = _convert_foreign(exc)
    if isinstance(exc, UserError):
        set_rollback()  # as DRF does for its own exceptions: ATOMIC_REQUESTS work is undone
        return Response(_body(exc.code, exc.message, **exc.extra), status=exc.status)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    else:
        code = next((c for kind, c in _DRF_CODES if isinstance(exc, kind)), "request:error")
        response.data = _body(code, str(exc.detail))
    return response
