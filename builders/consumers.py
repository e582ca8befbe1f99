"""WebSocket of one build run: the log backlog after a client-given seq, then live lines and
state changes.

URL: ws/workspaces/<ws>/projects/<p>/imagebuilders/<builder>/runs/<n>/log/?after=<seq>

Messages sent (JSON):
  {"type": "lines", "lines": [{"seq", "time", "text"}, …]}   in seq order, never repeated
  {"type": "state", "state", "error_code", "error_message", "digest", "image_reference", …}

The channel group rings a doorbell ("lines up to seq N", with the lines themselves when they
are small); a socket sends the lines it got only if they follow on from the last seq it sent,
else reads them from the database after that seq, so nothing is lost or sent twice, whatever
order notifications arrive in. Across a Redis outage the socket stays open: the channel layer
waits for Redis and the consumer then catches up from the database. Refusals accept, then
close the socket with 4401 (not logged in) or 4403 (no access) - also later, when a periodic
re-check finds the user lost access.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from b2i_console.sockets import object_for_socket_user, watch_access
from builders.logs import line_as_json, lines_after, run_group
from builders.models import BuildRun
from builders.selectors import get_run_for_user, run_state_payload

BATCH = 1000


# channels ships no type hints: its consumer base class is Any to mypy.
class BuildRunLogConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    run: BuildRun
    sent_seq: int = 0
    group: str = ""
    access: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        where = (kwargs["workspace"], kwargs["project"], kwargs["builder"], kwargs["number"])
        run = await object_for_socket_user(self, get_run_for_user, *where)
        if run is None:
            return
        self.access = watch_access(self, get_run_for_user, *where)
        self.run = run
        self.sent_seq = client_seq(self.scope.get("query_string", b""))
        # Join the group before reading the backlog: a line written in between rings the
        # doorbell we are already listening to, and the seq check drops what we already sent.
        self.group = run_group(self.run.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_new_lines()
        await self.send_state()

    async def disconnect(self, code: int) -> None:
        if self.access:
            self.access.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients only listen; a "ping" is answered so proxies keep the socket open.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def run_lines(self, event: dict[str, Any]) -> None:
        if int(event.get("last_seq", 0)) <= self.sent_seq:
            return
        # The lines came with the doorbell: send them if they follow on from what this socket
        # sent; anything else (a gap, no lines) is read from the database.
        fresh = [line for line in event.get("lines", []) if line["seq"] > self.sent_seq]
        if fresh and fresh[0]["seq"] == self.sent_seq + 1:
            await self.send_json({"type": "lines", "lines": fresh})
            self.sent_seq = fresh[-1]["seq"]
        if int(event["last_seq"]) > self.sent_seq:
            await self.send_new_lines()

    async def run_state(self, event: dict[str, Any]) -> None:
        await self.send_new_lines()  # the final line is stored before the final state
        await self.send_state()

    async def channel_layer_reconnected(self, event: dict[str, Any]) -> None:
        # Redis was away (b2i_console/channel_layer.py): doorbells rung meanwhile are lost, so
        # catch up from the database - the lines written meanwhile, and the state now.
        await self.send_new_lines()
        await self.send_state()

    async def send_new_lines(self) -> None:
        while True:
            lines = await database_sync_to_async(lines_after)(self.run, self.sent_seq, BATCH)
            if not lines:
                return
            await self.send_json({"type": "lines", "lines": [line_as_json(x) for x in lines]})
            self.sent_seq = lines[-1].seq
            if len(lines) < BATCH:
                return

    async def send_state(self) -> None:
        payload = await database_sync_to_async(run_state_payload)(self.run.pk)
        await self.send_json({"type": "state", **payload})


def client_seq(query_string: bytes) -> int:
    values = parse_qs(query_string.decode("latin-1")).get("after", ["0"])
    try:
        return max(0, int(values[-1]))
    except ValueError:
        return 0
