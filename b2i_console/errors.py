"""The one error type for what a user caused and can fix, raised by every domain module.

    from b2i_console.errors import UserError
    raise UserError("project:has-active-builds", "Cancel the running builds first.", status=409)

It carries a stable code, a message a person can act on, the HTTP status the API answers and
extra fields for the JSON body (e.g. `offset=` of a resumable upload). It knows nothing of DRF:
services, uploads and the runner raise it; the API's exception handler
(`b2i_console.api_errors.api_exception_handler`) turns it into `{"code", "message", **extra}`,
and a failed build records its code and message on the run.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A request the user can fix: a stable code, an actionable message, an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra
