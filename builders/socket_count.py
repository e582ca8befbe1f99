"""Open WebSockets of this web server process, published for /metrics (builders.counters).

Each web server (uvicorn) process counts the sockets it accepted and not yet closed, and writes
that number to its own ProcessGauge row: after a change (at most once a second) and every
GAUGE_REFRESH_SECONDS while sockets are open, so /metrics sums the live processes and a killed
process drops out once its row is stale. A counter in memory alone would show only the process
that happens to answer the scrape.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.db import connection

from builders import counters

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLISH_DELAY_SECONDS = 1.0  # many sockets opening at once make one write, not one each


class SocketCountMiddleware:
    """Counts accepted WebSockets around the application; a thread publishes the count."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.publisher = CountPublisher(f"{socket.gethostname()}:{os.getpid()}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False

        async def counting_send(message: Message) -> None:
            nonlocal accepted
            if message.get("type") == "websocket.accept" and not accepted:
                accepted = True
                self.publisher.change(+1)
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                self.publisher.change(-1)


class CountPublisher:
    """Writes the count from a daemon thread of its own: never from the event loop (a database
    write would stall every socket), and not as an asyncio task (it must outlive any loop)."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.open = 0
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None

    def change(self, delta: int) -> None:
        with self._lock:
            self.open += delta
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="websocket-count", daemon=True
                )
                self._thread.start()
        self._changed.set()

    def _run(self) -> None:
        written: int | None = None
        while True:
            # While sockets are open (or a last 0 is unwritten) refresh the row so it stays
            # live; with none open and 0 written, sleep until the next change.
            idle = written == 0 and self.open == 0
            changed = self._changed.wait(None if idle else counters.GAUGE_REFRESH_SECONDS)
            if changed:
                time.sleep(PUBLISH_DELAY_SECONDS)
            self._changed.clear()
            value = self.open
            if self._write(value):
                written = value

    def _write(self, value: int) -> bool:
        try:
            counters.set_process_gauge(counters.WEBSOCKETS, self.process, value)
        except Exception:  # the database is away: try again at the next change or refresh
            logger.warning("could not publish the WebSocket count", exc_info=True)
            return False
        finally:
            connection.close()  # this thread's own connection, not held between writes
        return True
