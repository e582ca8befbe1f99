"""Open WebSockets of this web server process, published for /metrics (builders.counters).

Each web server (uvicorn) process counts the sockets it accepted and not yet closed, and writes
that number to its own ProcessGauge row: at once after a change (at most once a second) and
every GAUGE_REFRESH_SECONDS while it lives, so /metrics sums the live processes and a killed
process drops out once its row is stale. A counter in memory alone would show only the process
that happens to answer the scrape.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from channels.db import database_sync_to_async

from builders import counters

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLISH_DELAY_SECONDS = 1.0  # many sockets opening at once make one write, not one each


class SocketCountMiddleware:
    """Counts accepted WebSockets around the application; publishes the count."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = 0
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._changed: asyncio.Event | None = None  # made in the server's event loop
        self._publisher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False

        async def counting_send(message: Message) -> None:
            nonlocal accepted
            if message.get("type") == "websocket.accept" and not accepted:
                accepted = True
                self._change(+1)
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                self._change(-1)

    def _change(self, delta: int) -> None:
        self.open += delta
        if self._changed is None:
            self._changed = asyncio.Event()
        self._changed.set()
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.ensure_future(self._publish_loop())

    async def _publish_loop(self) -> None:
        """Write the count after a change (batched) and every refresh period; runs for the
        life of the process once a socket was opened."""
        assert self._changed is not None
        last_write = 0.0
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=counters.GAUGE_REFRESH_SECONDS)
                await asyncio.sleep(max(0.0, last_write + PUBLISH_DELAY_SECONDS - time.monotonic()))
            except TimeoutError:
                pass  # nothing changed: refresh the row so it stays live
            self._changed.clear()
            last_write = time.monotonic()
            try:
                await database_sync_to_async(counters.set_process_gauge)(
                    counters.WEBSOCKETS, self.process, self.open
                )
            except Exception:  # the database is away: try again at the next change or refresh
                logger.warning("could not publish the WebSocket count", exc_info=True)
