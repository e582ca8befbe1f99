"""The login lock-out: django-axes per username+IP, plus a per-IP limit across usernames.

Axes locks one username from one address after B2I_LOGIN_FAILURE_LIMIT failures; one password
tried against many usernames would never reach it. This handler also refuses an address with
B2I_LOGIN_IP_FAILURE_LIMIT failures (any usernames) within the cool-off. The address is the
app's one client address (b2i_console.client_ip, AXES_CLIENT_IP_CALLABLE).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def failures_from_ip(ip_address: str) -> int:
    """Count the failed sign-ins from the address, all usernames, within the cool-off."""
    attempts = AccessAttempt.objects.filter(ip_address=ip_address)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


# django-axes ships no type hints: its handler class is Any to mypy.
class LoginLimitHandler(AxesDatabaseHandler):  # type: ignore[misc]
    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return super().is_locked(request, credentials) or self.ip_is_locked(request)

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        # Axes flags the request for its lock-out answer by the username+IP count only.
        if request is not None and self.ip_is_locked(request):
            request.axes_locked_out = True

    def ip_is_locked(self, request: Any) -> bool:
        ip_address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        limit = settings.B2I_LOGIN_IP_FAILURE_LIMIT
        return bool(ip_address) and failures_from_ip(ip_address) >= limit
