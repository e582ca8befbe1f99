"""What every WebSocket consumer does first: find its object for the socket's user, or close."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

if TYPE_CHECKING:
    from django.contrib.auth.models import User

T = TypeVar("T")
Args = TypeVarTuple("Args")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def object_for_socket_user(
    consumer: AsyncWebsocketConsumer, lookup: Callable[[User, *Args], T], *args: *Args
) -> T | None:
    """Return `lookup(user, *args)` (an access-module lookup), or close the socket and return
    None: 4401 for an anonymous user, 4403 when the lookup hides (404) or refuses (403) it."""
    user = consumer.scope.get("user")
    if user is None or not user.is_authenticated:
        await consumer.close(code=CLOSE_UNAUTHENTICATED)
        return None
    try:
        # channels is untyped: its wrapper of `lookup` returns Any, not T.
        found: T = await database_sync_to_async(lookup)(user, *args)
        return found
    except (Http404, PermissionDenied):
        await consumer.close(code=CLOSE_FORBIDDEN)
        return None
