"""Re-check directory users during their session, so a removal takes effect within a bound.

Every B2I_IDENTITY_RECHECK_SECONDS a signed-in LDAP user's entry and groups are read again with
the service account: changed groups change the mapped roles at once, and a user no longer in the
directory (deleted, or outside the search filter) is signed out. An unreachable directory
signs nobody out; the check is tried again a minute later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from identity.ldap_signin import DIRECTORY_BACKEND, DirectoryBackend, directory_error

_CHECKED_AT = "b2i_identity_checked_at"
_RETRY_AFTER_OUTAGE = 60


class DirectoryRecheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _recheck_due(request):
            _recheck(request)
        return self.get_response(request)


def _recheck_due(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if request.session.get(BACKEND_SESSION_KEY) != DIRECTORY_BACKEND:
        return False
    checked_at = request.session.get(_CHECKED_AT)
    if checked_at is None:
        request.session[_CHECKED_AT] = time.time()  # signed in just now: the directory vouched
        return False
    return bool(time.time() - float(checked_at) >= settings.B2I_IDENTITY_RECHECK_SECONDS)


def _recheck(request: HttpRequest) -> None:
    username = request.user.get_username()
    still_there = DirectoryBackend().populate_user(username)
    if still_there is None and directory_error() is None:
        logout(request)
        return
    if still_there is None:
        # Directory unreachable: keep the session, look again soon.
        delay = settings.B2I_IDENTITY_RECHECK_SECONDS - _RETRY_AFTER_OUTAGE
        request.session[_CHECKED_AT] = time.time() - max(delay, 0)
        return
    request.session[_CHECKED_AT] = time.time()
