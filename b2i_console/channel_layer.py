"""The channel layer: channels-redis, riding out a Redis outage instead of closing sockets.

channels-redis lets a lost Redis connection escape from `receive`; Channels then ends every
open WebSocket of the server with 1011 (issue 20.1: 4/4 sockets across a 5 s outage). Here
`receive` waits for Redis instead (backoff up to RECONNECT_MAX_SECONDS), joins the channel's
groups again (a restarted Redis may have lost them) and hands the consumer one message,
{"type": "channel_layer.reconnected"}: doorbells rung during the outage are gone, so the
consumer reads what it missed from the database (consumers handle it as
`channel_layer_reconnected`).

It also makes a cancelled `receive` end. redis-py (8.1) can finish a command normally although
the task awaiting it was cancelled meanwhile - the cancellation is lost. channels-redis then pops
again, and again every 5 s, for a consumer whose socket has closed: the socket's ASGI app never
returned (found as the WebSocket gauge stuck above 0 after every socket closed).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RECONNECTED = {"type": "channel_layer.reconnected"}
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 2.0
# What a Redis that went away raises (redis-py's own, or the socket's when it connects).
REDIS_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


# channels-redis ships no type hints: its layer is Any to mypy.
class ReconnectingRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # channel -> the groups it joined here, to join them again after an outage.
        self.joined: defaultdict[str, set[str]] = defaultdict(set)

    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        self.joined[channel].add(group)

    async def group_discard(self, group: str, channel: str) -> None:
        self.joined[channel].discard(group)
        if not self.joined[channel]:
            del self.joined[channel]
        try:
            await super().group_discard(group, channel)
        except REDIS_LOST:  # the membership expires on its own (group_expiry)
            logger.warning("could not leave group %s: Redis is away", group)

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        """channels-redis' blocking pop, which it repeats until a message comes: once this task
        has been asked to cancel (a request redis-py may have lost), no pop is repeated."""
        member = await super()._brpop_with_clean(index, channel, timeout)
        if member is None:
            raise_if_cancel_was_lost()
        return member

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            message: dict[str, Any] = await super().receive(channel)
            return message
        except REDIS_LOST:
            logger.warning("channel layer lost Redis; waiting for it (channel %s)", channel)
        await self.rejoin_when_back(channel)
        logger.warning("channel layer reached Redis again (channel %s)", channel)
        return dict(RECONNECTED)

    async def rejoin_when_back(self, channel: str) -> None:
        """Wait until Redis answers again, then join CHANNEL's groups anew."""
        delay = RECONNECT_FIRST_SECONDS
        while True:
            raise_if_cancel_was_lost()  # a ping below may have lost it: stop waiting for Redis
            await asyncio.sleep(delay)
            try:
                await self.connection(self.consistent_hash(channel)).ping()
                for group in list(self.joined.get(channel, ())):
                    await super().group_add(group, channel)
                return
            except REDIS_LOST:
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)


def raise_if_cancel_was_lost() -> None:
    """Raise CancelledError when this task was asked to cancel yet is still running (a library
    below swallowed the request)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
