"""What every WebSocket consumer does first: find its object for the socket's user, or close."""

from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

T = TypeVar("T")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def object_for_socket_user(
    consumer: AsyncWebsocketConsumer, lookup: Callable[..., T], *args: Any
) -> T | None:
    """Return `lookup(user, *args)` (an access-module lookup), or close the socket and return
    None: 4401 for an anonymous user, 4403 when the lookup hides (404) or refuses (403) it."""
    user = consumer.scope.get("user")
    if user is None or not user.is_authenticated:
        await consumer.close(code=CLOSE_UNAUTHENTICATED)
        return None
    try:
        return await database_sync_to_async(lookup)(user, *args)
    except (Http404, PermissionDenied):
        await consumer.close(code=CLOSE_FORBIDDEN)
        return None
