"""The base image resolved in a worker thread while the artifact is inspected.

b2i.engine uses it when the base is known without the inspection (`--from`, a named
environment): the registry round trips then overlap the inspection. The worker's registry
events (retries) are held and the resolve-base step is announced by `join`, so every
"==> step" block of the live log stays whole and in the usual order. A build that fails first
stops the worker's retries and joins it: no thread outlives the build, and the build's own
error is the one reported.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Protocol

from b2i.oci.events import Event, EventSink
from b2i.oci.image import BaseImage
from b2i.oci.multiplatform import base_platform
from b2i.oci.references import Reference
from b2i.oci.registry import RegistryClient


class Steps(Protocol):
    """What a build run offers: step announcements, log lines and its event sink."""

    @property
    def on_event(self) -> EventSink: ...

    def step(self, name: str, message: str = "") -> AbstractContextManager[None]: ...

    def log(self, step: str, message: str) -> None: ...


class Abandoned(Exception):
    """Raised in the worker instead of a retry once the build has ended."""


class AdvanceResolve:
    """One base being resolved by a worker; `join` inside the build, `abandon` otherwise."""

    def __init__(self, run: Steps, client: RegistryClient, base_ref: Reference) -> None:
        self.run, self.client, self.base_ref = run, client, base_ref
        self.held: list[Event] = []
        self.stopped = threading.Event()
        self.ended = False
        self._sleep = client.retry.sleep
        self.resolving: Future[list[BaseImage]] | None = None

    def start(self, worker: ThreadPoolExecutor, resolve: Callable[[], list[BaseImage]]) -> None:
        """Run RESOLVE in WORKER, with the client's events held and its retries stoppable."""
        self.client.on_event, self.client.retry.sleep = self.held.append, self._retry_sleep
        self.resolving = worker.submit(resolve)

    def _retry_sleep(self, seconds: float) -> None:
        # Woken by the build ending (stopped) or by a cancel, whichever comes first.
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopped.wait(min(left, 0.1)):
                raise Abandoned("the build ended before its base was resolved")
            self.client.retry.check_cancel()

    def _end(self) -> None:
        self.ended = True
        self.client.on_event, self.client.retry.sleep = self.run.on_event, self._sleep

    def join(self) -> list[BaseImage]:
        """Wait for the worker inside the resolve-base step; replay its events there."""
        assert self.resolving is not None
        with self.run.step("resolve-base", str(self.base_ref)):
            try:
                bases = self.resolving.result()
            finally:
                if self.resolving.done():
                    self._end()
                    for event in self.held:
                        self.run.on_event(event)
            for base in bases:
                self.run.log("resolve-base", f"pinned {base.pinned_name} ({base_platform(base)})")
        return bases

    def abandon(self) -> None:
        """End a worker that was not joined: stop its retries, wait for it, drop its outcome.

        The build's own error is the one to report, so the worker's (if any) is discarded on
        purpose. An attempt already in flight ends within the client's timeout.
        """
        if self.ended or self.resolving is None:
            return
        self.stopped.set()
        with contextlib.suppress(Exception):
            self.resolving.result()
        self._end()


@contextlib.contextmanager
def base_in_advance(
    run: Steps,
    base_ref: Reference | None,
    client_for: Callable[[Reference], RegistryClient],
    resolve: Callable[[Reference], list[BaseImage]],
) -> Iterator[AdvanceResolve | None]:
    """Resolve BASE_REF in a worker while the body runs (None: the base needs the inspection).

    The client is made here, in the calling thread. Leaving the block always ends the worker:
    one not joined is abandoned.
    """
    advance = None
    if base_ref is not None:
        # A client that cannot be made (e.g. a bad CA bundle) fails after the inspection, as ever.
        with contextlib.suppress(Exception):
            advance = AdvanceResolve(run, client_for(base_ref), base_ref)
    if advance is None or base_ref is None:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="b2i-resolve") as worker:
        try:
            advance.start(worker, lambda: resolve(base_ref))
            yield advance
        finally:
            advance.abandon()
