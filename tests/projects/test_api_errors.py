"""The shared API error handler: every error is JSON {code, message}, never a 500 for bad input."""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction
from django.db.models import ProtectedError
from rest_framework.test import APIRequestFactory

from b2i_console.api_errors import api_exception_handler
from b2i_console.errors import UserError
from projects.crypto import SecretDecryptionError
from projects.models import Workspace


def handle(exc: Exception) -> tuple[int, dict[str, object]]:
    request = APIRequestFactory().get("/api/v1/x/")
    response = api_exception_handler(exc, {"request": request, "view": None})
    assert response is not None
    return response.status_code, dict(response.data)


def test_a_user_error_keeps_its_code_status_and_extras() -> None:
    status, body = handle(UserError("build:user:bad", "Fix it.", status=422, hint="h"))
    assert (status, body) == (422, {"code": "build:user:bad", "message": "Fix it.", "hint": "h"})


def test_domain_errors_with_code_and_message_become_400() -> None:
    status, body = handle(SecretDecryptionError())
    assert status == 400
    assert body["code"] == "secret:undecryptable"


def test_protected_error_names_what_still_uses_the_object() -> None:
    users = [Workspace(pk=i, name=f"w{i}") for i in range(7)]
    status, body = handle(ProtectedError("protected", users))
    assert status == 409
    assert body["code"] == "conflict:in-use"
    assert "workspace w0" in str(body["message"]) and "and 2 more" in str(body["message"])


def _refused_nul() -> DataError:
    """Return the error the database gives for a U+0000 in a text value."""
    if connection.vendor != "postgresql":
        # SQLite stores U+0000; this is the error PostgreSQL (psycopg) raises for it.
        return DataError("A string literal cannot contain NUL (0x00) characters.")
    with pytest.raises(DataError) as refused, transaction.atomic():
        Workspace.objects.create(name="nul", description="a\x00b")
    return refused.value


@pytest.mark.django_db
def test_a_value_the_database_refuses_is_a_400_not_a_500(caplog: pytest.LogCaptureFixture) -> None:
    status, body = handle(_refused_nul())
    assert (status, body["code"]) == (400, "request:unstorable-value")
    assert "NUL" in str(body["message"])
    assert "database refused a request value" in caplog.text  # still visible to operators


def test_unexpected_exceptions_are_left_to_django() -> None:
    request = APIRequestFactory().get("/api/v1/x/")
    assert api_exception_handler(RuntimeError("bug"), {"request": request}) is None
