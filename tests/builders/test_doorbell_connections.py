"""A build's doorbells share one Redis connection instead of opening one each (a build rings
about ten; each new connection cost ~7 ms quiet, ~40 ms on a loaded host), and still arrive."""

from __future__ import annotations

from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from b2i_console.redis_options import channel_layers
from builders.logs import ring_doorbell, run_group


def connections_received(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_doorbells_reuse_one_redis_connection_and_are_delivered(
    settings: Any, redis_url: str
) -> None:
    settings.CHANNEL_LAYERS = channel_layers(redis_url)
    layer = get_channel_layer()
    assert layer is not None
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(run_group(424242), listener)
    ring_doorbell(424242, {"type": "run.state"})  # the first may open the lasting connection
    before = connections_received(redis_url)
    for seq in range(20):
        ring_doorbell(424242, {"type": "run.lines", "last_seq": seq})
    opened = connections_received(redis_url) - before - 1  # minus the counting client itself
    assert opened <= 1, f"{opened} new Redis connections for 20 doorbells"

    async def receive_all() -> list[dict[str, Any]]:
        return [await layer.receive(listener) for _ in range(21)]

    received = async_to_sync(receive_all)()
    assert [message.get("last_seq") for message in received[1:]] == list(range(20)), received
