"""What every WebSocket consumer does: check the page's Origin as Django's CSRF check does, find
its object for the socket's user or close with a code the page can read, and keep checking
that the user may still see it while the socket is open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.http.request import split_domain_port, validate_host

if TYPE_CHECKING:
    from django.contrib.auth.models import User

T = TypeVar("T")
Args = TypeVarTuple("Args")
logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


# --- Origin -------------------------------------------------------------------------------


def header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def socket_is_secure(scope: dict[str, Any]) -> bool:
    """Whether the page that opened the socket came over HTTPS (directly or via the proxy)."""
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        meta_name = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        return bool(header(scope, meta_name).split(",")[0].strip() == secure_value)
    return False


def trusted_origin(origin: str) -> bool:
    """Whether `origin` matches CSRF_TRUSTED_ORIGINS (exactly, or a `*.` subdomain entry)."""
    parts = urlsplit(origin)
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if trusted == origin:
            return True
        allowed = urlsplit(trusted)
        if "*" in allowed.netloc and allowed.scheme == parts.scheme:
            suffix = allowed.netloc.split("*", 1)[1]  # "*.example.com" -> ".example.com"
            if parts.netloc.endswith(suffix):
                return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Django's CSRF origin rule for a WebSocket handshake: the Origin must be this very site
    (scheme, host and port of the request, the host in ALLOWED_HOSTS) or a trusted origin."""
    origin = header(scope, b"origin")
    if not origin or origin == "null":
        return False
    if trusted_origin(origin):
        return True
    host = header(scope, b"host")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    own = f"{'https' if socket_is_secure(scope) else 'http'}://{host}"
    return origin.lower() == own.lower()


class CsrfOriginValidator:
    """ASGI middleware refusing WebSocket handshakes from any other origin (HTTP 403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)


# --- access ---------------------------------------------------------------------------------


async def refuse(consumer: AsyncWebsocketConsumer, code: int) -> None:
    """Accept, then close with `code`: closed before accepting, the browser would only see 1006
    (the handshake answered 403) and could not tell "sign in again" from a network error."""
    await consumer.accept()
    await consumer.close(code=code)


async def lookup_for_user(user: Any, lookup: Callable[[User, *Args], T], *args: *Args) -> T | int:
    """`lookup(user, *args)`, or the close code that refuses it."""
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED
    try:
        # channels is untyped: its wrapper of `lookup` returns Any, not T.
        found: T = await database_sync_to_async(lookup)(user, *args)
        return found
    except (Http404, PermissionDenied):
        return CLOSE_FORBIDDEN


async def object_for_socket_user(
    consumer: AsyncWebsocketConsumer, lookup: Callable[[User, *Args], T], *args: *Args
) -> T | None:
    """Return `lookup(user, *args)` (an access-module lookup), or refuse the socket and return
    None: 4401 for an anonymous user, 4403 when the lookup hides (404) or refuses (403) it."""
    found = await lookup_for_user(consumer.scope.get("user"), lookup, *args)
    if isinstance(found, int):
        await refuse(consumer, found)
        return None
    return found


def watch_access(
    consumer: AsyncWebsocketConsumer, lookup: Callable[[User, *Args], object], *args: *Args
) -> asyncio.Task[None]:
    """Check again every B2I_SOCKET_ACCESS_RECHECK_SECONDS that the socket's user may still
    see the object (a removed member, a lowered role, a deactivated user, an ended session);
    close with 4401/4403 when not. Cancel the task on disconnect."""
    return asyncio.ensure_future(_recheck_access(consumer, lookup, *args))


async def _recheck_access(
    consumer: AsyncWebsocketConsumer, lookup: Callable[[User, *Args], object], *args: *Args
) -> None:
    while True:
        await asyncio.sleep(settings.B2I_SOCKET_ACCESS_RECHECK_SECONDS)
        try:
            user = await database_sync_to_async(current_user)(consumer.scope)
            found = await lookup_for_user(user, lookup, *args)
        except Exception:  # the database is away: keep the socket, check again next time
            logger.warning("could not re-check a socket's access", exc_info=True)
            continue
        if isinstance(found, int):
            await consumer.close(code=found)
            return


def current_user(scope: dict[str, Any]) -> User | None:
    """The socket's user as the database sees them now: None once the session ended or the
    user was deactivated or deleted."""
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated:
        return None
    if session is not None and not session.exists(session.session_key):
        return None
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()
