"""Build logs: lines are stored in the database first (batched), then a doorbell rings.

The channel layer only carries "there are lines up to seq N" notifications to the group
`build-run-<id>`; consumers always read the lines themselves from the database after the seq
they last sent. So a lost notification delays a line but never loses it, and a reconnecting
client asking for lines after its last seq gets neither gaps nor duplicates.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from b2i.safe_text import escape_unsafe_characters
from builders.log_archive import read_archived_lines
from builders.models import BuildLogLine, BuildRun

logger = logging.getLogger(__name__)

SUCCESS_LINE = "Build completed successfully"
# Written just before SUCCESS_LINE when a cancel was asked for after the last point the build
# could stop (its image pushed): the 202 the user got is not left unexplained.
LATE_CANCEL_LINE = "Cancel asked for after the image was pushed: the build completed"
MASK = "******"
MAX_LINE_CHARS = 8000


def run_group(run_id: int) -> str:
    return f"build-run-{run_id}"


# How long a build waits for one doorbell before going on without it (a hung Redis).
DOORBELL_TIMEOUT = 10.0


class _DoorbellLoop:
    """One event loop thread per process for the Redis channel layer's sends.

    `async_to_sync` runs each send in an event loop of its own, and channels_redis keeps its
    connections per loop: every doorbell opened and closed a Redis connection (~7 ms quiet,
    ~40 ms on a loaded host; a build rings ~10). One lasting loop keeps one connection.
    Created lazily and again after a fork (Celery's prefork children)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="doorbells", daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def send(self, layer: RedisChannelLayer, group: str, message: dict[str, object]) -> None:
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), self.loop())
        try:
            future.result(timeout=DOORBELL_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise


_DOORBELLS = _DoorbellLoop()


def ring_doorbell(run_id: int, message: dict[str, object]) -> None:
    """Notify a run's channel group; a broken channel layer must never break a build."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, RedisChannelLayer):
            _DOORBELLS.send(layer, run_group(run_id), message)
        else:  # e.g. the in-memory layer, whose queues belong to their consumers' loops
            async_to_sync(layer.group_send)(run_group(run_id), message)
    except Exception:  # the database holds the truth; clients catch up on their next read
        logger.warning("channel layer notification failed for run %s", run_id, exc_info=True)


# Lines up to this much text ride along with their doorbell, so each of many sockets sends them
# without a database read of its own (50 watchers of one build meant 50 reads per batch, in
# the server's one database thread). A socket uses them only if they follow what it sent.
DOORBELL_TEXT_LIMIT = 64 * 1024


def notify_lines(run_id: int, last_seq: int, lines: Sequence[BuildLogLine] = ()) -> None:
    message: dict[str, object] = {"type": "run.lines", "last_seq": last_seq}
    if lines and sum(len(line.text) for line in lines) <= DOORBELL_TEXT_LIMIT:
        message["lines"] = [line_as_json(line) for line in lines]
    ring_doorbell(run_id, message)


def notify_state(run_id: int) -> None:
    ring_doorbell(run_id, {"type": "run.state"})


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class RunLog:
    """Appends numbered lines to one run's log; thread-safe; flushes in batches.

    A line is stored at once when the previous batch left more than `batch_seconds` ago, else
    with the batch it joins, which a flusher thread (`flush_pending`, the build's heartbeat
    thread) stores at most `batch_seconds` after its first line was written - so a line never
    waits for a later line or for a heartbeat, and a chatty build still writes in batches.
    """

    def __init__(
        self,
        run_id: int,
        *,
        secrets: Sequence[str] = (),
        batch_lines: int = 500,
        batch_seconds: float = 0.1,
    ) -> None:
        self.run_id = run_id
        # Short secrets would mask ordinary words; anything under 4 chars is not worth hiding.
        self.secrets = sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True)
        self.batch_lines = batch_lines
        self.batch_seconds = batch_seconds
        self._lock = threading.Lock()
        self._pending: list[BuildLogLine] = []
        self._pending_since = 0.0
        self._lines_waiting = threading.Event()
        # Only a flush that stored lines counts: an empty one must not delay the next line.
        self._last_stored = 0.0
        last = BuildLogLine.objects.filter(run_id=run_id).aggregate(last=Max("seq"))["last"]
        self._next_seq = (last or 0) + 1

    def write(self, text: str) -> None:
        """Add one line, masked; store it now if a batch is due.

        One write is one line: line breaks and other control or bidi characters in the text
        (which often carries user data: file names, image names, URLs, a registry's answer)
        are stored as visible escapes, so user data can never forge a line of its own.
        """
        now = timezone.now()
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._append(now, escape_unsafe_characters(str(text)))
            due = (
                len(self._pending) >= self.batch_lines
                or time.monotonic() - self._last_stored >= self.batch_seconds
            )
        if due:
            self.flush()
        else:
            self._lines_waiting.set()

    def _append(self, now: datetime, line: str) -> None:
        clean = mask_secrets(line, self.secrets)[:MAX_LINE_CHARS]
        self._pending.append(
            BuildLogLine(run_id=self.run_id, seq=self._next_seq, time=now, text=clean)
        )
        self._next_seq += 1

    def flush(self) -> None:
        """Store buffered lines, then (after the transaction commits) ring the doorbell."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._lines_waiting.clear()
            if not batch:
                return
            BuildLogLine.objects.bulk_create(batch)
            self._last_stored = time.monotonic()
        last_seq = batch[-1].seq
        transaction.on_commit(lambda: notify_lines(self.run_id, last_seq, batch))

    def flush_pending(self, timeout: float) -> None:
        """Wait up to `timeout` for buffered lines; store them when their batch is due."""
        if not self._lines_waiting.wait(timeout):
            return
        with self._lock:
            due_in = self._pending_since + self.batch_seconds - time.monotonic()
        if due_in > 0:
            time.sleep(min(due_in, self.batch_seconds))
        self.flush()

    def wake_flusher(self) -> None:
        """Make a waiting `flush_pending` return now (the build is ending)."""
        self._lines_waiting.set()

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1


def lines_after(run: BuildRun, after: int, limit: int = 1000) -> list[BuildLogLine]:
    """Return up to `limit` lines of the run with seq > after, from the database or the archive."""
    if run.log_archive_key:
        return [line for line in read_archived_lines(run) if line.seq > after][:limit]
    return list(BuildLogLine.objects.filter(run=run, seq__gt=after).order_by("seq")[:limit])


def line_as_json(line: BuildLogLine) -> dict[str, object]:
    return {"seq": line.seq, "time": line.time.isoformat(), "text": line.text}


def failure_line(reason: str) -> str:
    return f"Build failed: {reason}"
