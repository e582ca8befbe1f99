"""Build a run again when it failed only on a transient registry error.

Each registry request is already retried within a time budget (b2i.oci.transport); a registry
down for longer than that fails the push. Such a failure says nothing about the build itself,
so the run is built again (same claim, same worker slot) up to B2I_BUILD_TRANSIENT_RETRIES
times, after a pause that doubles; the build log says so. A timeout is not retried: a registry
that accepts connections and never answers would hold the worker slot for minutes more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from b2i.oci.cancel import BuildCancelled, CancelToken
from builders.logs import RunLog

T = TypeVar("T")

TRANSIENT_CODES = frozenset({"registry:unreachable", "registry:proxy-unreachable"})
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_transient_registry_error(error: BaseException) -> bool:
    """Tell whether ERROR is a registry being unavailable, not anything about the build."""
    code = getattr(error, "code", None)
    if code in TRANSIENT_CODES:
        return True
    return code == "registry:request-failed" and getattr(error, "status", None) in (
        TRANSIENT_STATUSES
    )


def execute_with_transient_retries(execute: Callable[[], T], log: RunLog, cancel: CancelToken) -> T:
    """Return EXECUTE(); build again after a transient registry failure (a cancel ends the wait)."""
    retries = settings.B2I_BUILD_TRANSIENT_RETRIES
    attempt = 1
    while True:
        try:
            return execute()
        except Exception as error:
            if attempt > retries or cancel.is_set() or not is_transient_registry_error(error):
                raise
            pause = settings.B2I_BUILD_TRANSIENT_RETRY_DELAY * 2 ** (attempt - 1)
            log.write(
                f"Build attempt {attempt} failed on a transient registry error "
                f"({getattr(error, 'code', '')}: {getattr(error, 'message', error)}); "
                f"building again in {pause} s (retry {attempt}/{retries})"
            )
            if cancel.wait(pause):
                raise BuildCancelled("the build was cancelled") from error
            attempt += 1
