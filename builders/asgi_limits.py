"""ASGI guard: every request body is bounded by its route before the application reads it.

Upload routes (one artifact, a builder created or run with its artifact, a resumable chunk) may
send up to B2I_MAX_ARTIFACT_BYTES (plus the multipart form's overhead); every other request
B2I_MAX_REQUEST_BYTES. A body declared larger is answered 413 at once, before a byte of it is
read; a body without Content-Length (chunked) is counted as it streams in, and once it passes the
limit the application is told the client went away, the client gets the 413 and the connection
is closed. Django's ASGI handler copies a whole body to a temporary file before any view runs,
and the server (uvicorn) streams bodies to the application as they arrive, so this is the one
place that stands between a client and the disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

# ASGI events are free-form mappings (the protocol's, typed as Django's ASGIHandler types them).
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FORM_OVERHEAD = 64 * 1024
_PROJECT = r"^/api/v1/workspaces/[^/]+/projects/[^/]+/"
UPLOAD_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("POST", re.compile(_PROJECT + r"artifacts/$")),
    ("POST", re.compile(_PROJECT + r"imagebuilders/$")),
    ("POST", re.compile(_PROJECT + r"imagebuilders/[^/]+/run/$")),
    ("PATCH", re.compile(_PROJECT + r"uploads/[^/]+/$")),
]


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; None when absent (a chunked body)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def is_upload(scope: Scope) -> bool:
    method, path = scope.get("method"), scope.get("path", "")
    return any(method == verb and route.match(path) for verb, route in UPLOAD_ROUTES)


def body_limit(scope: Scope) -> int:
    """The most bytes a request to this route may send."""
    if is_upload(scope):
        return int(settings.B2I_MAX_ARTIFACT_BYTES) + FORM_OVERHEAD
    return int(settings.B2I_MAX_REQUEST_BYTES)


class BodyLimitMiddleware:
    """413 for a body over its route's limit: before reading it when declared, else as it passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await refuse(send, scope, limit, declared)
            return
        guard = _CountingGuard(receive, send, limit)
        await self.app(scope, guard.receive, guard.send)
        if guard.exceeded and not guard.response_started:
            await refuse(send, scope, limit, guard.received)


class _CountingGuard:
    """Counts the body as the application reads it; past the limit it reports a disconnect, so
    the application stops (Django raises RequestAborted) and the middleware answers 413."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.exceeded = False
        self.response_started = False

    async def receive(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.response_started:
            return  # the 413 is ours to send; nothing the application says after the cut-off
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


async def refuse(send: Send, scope: Scope, limit: int, size: int) -> None:
    """Answer 413 in the API's JSON error shape and ask the server to close the connection
    (the rest of the body is never read)."""
    if is_upload(scope):
        artifact_limit = int(settings.B2I_MAX_ARTIFACT_BYTES)
        code, message = (
            "artifact:too-large",
            f"The file is larger than the limit of {artifact_limit} bytes ({size} bytes) "
            "(B2I_MAX_ARTIFACT_BYTES); use a smaller artifact or ask an admin to raise the limit.",
        )
        limit = artifact_limit
    else:
        code, message = (
            "request:too-large",
            f"The request body is larger than the limit of {limit} bytes ({size} bytes or more) "
            "(B2I_MAX_REQUEST_BYTES).",
        )
    body = json.dumps({"code": code, "message": message, "max_bytes": limit}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
