"""A cancelled receive on the channel layer ends - at whatever moment the cancellation lands.

When a WebSocket closes, Channels cancels its consumer's pending `receive` and waits for it.
redis-py can lose a cancellation that lands while one of its commands is under way;
channels-redis then popped again every few seconds for a consumer that was gone, and the
socket's ASGI app never returned (the open-socket gauge stayed above 0 after every socket had
closed)."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync

from b2i_console.channel_layer import ReconnectingRedisChannelLayer
from b2i_console.redis_options import channel_layer_host

STEPS = range(12)  # event-loop turns before the cancel: each lands somewhere else in a command
TRIES = 5
ENDS_WITHIN_SECONDS = 4.0  # the blocking pop is shortened to 1 s: a lost cancel pops again


async def cancel_receives(layer: ReconnectingRedisChannelLayer) -> list[int]:
    """Cancel a receive after every number of STEPS; the steps at which it did not end."""
    channel = await layer.new_channel()
    stuck = []
    for steps in STEPS:
        for _ in range(TRIES):
            task = asyncio.ensure_future(layer.receive(channel))
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            done, _pending = await asyncio.wait([task], timeout=ENDS_WITHIN_SECONDS)
            if not done:
                stuck.append(steps)
                while not task.done():  # a lost cancel is only noticed between pops
                    task.cancel()
                    await asyncio.sleep(0.2)
    await layer.flush()
    return stuck


def test_a_cancelled_receive_ends_wherever_the_cancellation_lands(redis_url: str) -> None:
    layer = ReconnectingRedisChannelLayer(hosts=[channel_layer_host(redis_url)], prefix="cancel")
    layer.brpop_timeout = 1
    assert async_to_sync(cancel_receives)(layer) == []
