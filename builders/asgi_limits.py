"""ASGI guard: refuse an upload whose declared length is over B2I_MAX_ARTIFACT_BYTES at once.

Django's ASGI handler reads a whole request body (into a spooled temporary file) before any view
runs, so without this a 50 GB upload would fill the disk before the view could answer 413. A
body without Content-Length (chunked) is still counted by the upload handler while it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

# ASGI events are free-form mappings (the protocol's, typed as Django's ASGIHandler types them).
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATH_PARTS = ("/artifacts/", "/imagebuilders/", "/uploads/")
FORM_OVERHEAD = 64 * 1024


def declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def is_upload(scope: Scope) -> bool:
    path = scope.get("path", "")
    return (
        scope.get("type") == "http"
        and scope.get("method") in ("POST", "PUT", "PATCH")
        and path.startswith("/api/")
        and any(part in path for part in UPLOAD_PATH_PARTS)
    )


class UploadLimitMiddleware:
    """Answer 413 (JSON, like the API) before reading a body that is declared too large."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = int(settings.B2I_MAX_ARTIFACT_BYTES)
        if is_upload(scope) and declared_length(scope) > limit + FORM_OVERHEAD:
            await refuse(send, limit, declared_length(scope))
            return
        await self.app(scope, receive, send)


async def refuse(send: Send, limit: int, size: int) -> None:
    body = json.dumps(
        {
            "code": "artifact:too-large",
            "message": f"The file is larger than the limit of {limit} bytes ({size} bytes) "
            "(B2I_MAX_ARTIFACT_BYTES); use a smaller artifact or ask an admin to raise the limit.",
            "max_bytes": limit,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
