"""Credentials in URLs never reach the log: every line passes the settings' redaction filter.

The records are written the way ASGI servers write access lines (uvicorn's and daphne's
runserver formats) through the handler settings.LOGGING configures, and the handler's real
output is read back.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from b2i_console.log_redaction import redact_secrets

TOKEN = "Tr1ggerToken" * 2


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "stdout"]
    assert isinstance(handler, logging.StreamHandler)
    output = io.StringIO()
    previous = handler.setStream(output)
    yield output
    handler.setStream(previous)


def test_a_uvicorn_style_access_line_is_redacted(log_output: io.StringIO) -> None:
    path = f"/api/v1/workspaces/a/projects/b/imagebuilders/c/trigger/?token={TOKEN}&tag=v2"
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "POST", path, "1.1", 201
    )
    line = log_output.getvalue()
    assert TOKEN not in line
    assert "?token=[redacted]&tag=v2" in line


def test_a_daphne_runserver_style_line_is_redacted(log_output: io.StringIO) -> None:
    details = {"method": "POST", "path": f"/x/?a=1&token={TOKEN}", "status": 404}
    logging.getLogger("django.channels.server").warning(
        "HTTP %(method)s %(path)s %(status)s", details
    )
    assert TOKEN not in log_output.getvalue()
    assert "token=[redacted]" in log_output.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /p/?Token=abc HTTP/1.1", "GET /p/?Token=[redacted] HTTP/1.1"),
        ("/p/?x=1&access_token=abc#f", "/p/?x=1&access_token=[redacted]#f"),
        ("/p/?tokens=1&mytoken=2", "/p/?tokens=1&mytoken=2"),  # other names stay
        ('"POST /t/?token=abc" 201', '"POST /t/?token=[redacted]" 201'),
    ],
)
def test_only_credential_values_are_replaced(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected
