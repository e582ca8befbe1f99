"""A build's cancellation token: checked between steps, and able to interrupt blocked I/O.

A thread blocked in `recv` on a registry that accepted the connection but never answers would
wait for the client's read timeout (a minute); checking a flag between requests cannot reach
it. So the token remembers every socket the build's HTTP clients open (b2i.oci.transport's
backend hands them over) and `set()` shuts them down: the blocked read or write returns at
once, the request fails, and the code around it sees the token set and raises BuildCancelled.

`shutdown`, not `close`: on Linux closing a descriptor does not wake a thread blocked on it,
and the connection pool still owns (and later closes) the socket.

A connection being opened while the cancel comes (or by a request begun just before it) is
shut down as soon as it is registered: only code inside `cleaning_up()` may open connections
after a cancel, for the clean-up requests (DELETE of an upload session), each with a short
timeout of its own. (Telling them apart by "opened after the cancel" let a build's request
whose connect was under way at the cancel hang on a registry that never answers.)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import weakref
from collections.abc import Callable, Iterator


class BuildCancelled(Exception):
    """The build was cancelled (between steps, during a wait, or in a blocked request)."""


class CancelToken:
    """A threading.Event-like flag that also shuts down the sockets registered with it."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._cleaning_up = threading.local()

    def set(self) -> None:
        """Cancel: set the flag, then interrupt every registered connection."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            _interrupt(sock)

    def is_set(self) -> bool:
        """Tell whether the build was cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to TIMEOUT seconds for a cancel; return whether it came."""
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise BuildCancelled when the build was cancelled."""
        if self._event.is_set():
            raise BuildCancelled("the build was cancelled")

    def pause(self, seconds: float) -> None:
        """Sleep SECONDS (a retry's backoff), ended early by a cancel with BuildCancelled."""
        if self._event.wait(max(0.0, seconds)):
            raise BuildCancelled("the build was cancelled")

    def track(self, sock: socket.socket | None) -> None:
        """Register a build connection's socket, to be shut down by a cancel (at once when the
        cancel came already, unless this thread is cleaning up)."""
        if sock is None:
            return
        with self._lock:
            if not self._event.is_set():
                self._sockets.add(sock)
                return
        if not getattr(self._cleaning_up, "active", False):
            _interrupt(sock)

    @contextlib.contextmanager
    def cleaning_up(self) -> Iterator[None]:
        """Let this thread open connections that a cancel leaves alone (clean-up requests)."""
        before = getattr(self._cleaning_up, "active", False)
        self._cleaning_up.active = True
        try:
            yield
        finally:
            self._cleaning_up.active = before


def _interrupt(sock: socket.socket) -> None:
    # Linger 0: when the pool closes the socket it is reset, and what the kernel still held
    # to send is dropped; else the registry would go on receiving (and storing) megabytes of
    # a cancelled upload after our DELETE of its session.
    with contextlib.suppress(OSError, ValueError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # socket.socket's own shutdown, also for an SSLSocket: its override drops the TLS object
    # under the feet of the thread reading it; the plain one only ends the TCP connection.
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


@contextlib.contextmanager
def linked(cancel_requested: Callable[[], bool], token: CancelToken) -> Iterator[CancelToken]:
    """Set TOKEN within ~0.1 s of CANCEL_REQUESTED turning true, while the block runs.

    A caller that only offers a polled callable (the console's heartbeat, the CLI) still gets
    its blocked requests interrupted."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if cancel_requested():
                token.set()
                return

    watcher = threading.Thread(target=watch, name="b2i-cancel-watch", daemon=True)
    watcher.start()
    try:
        yield token
    finally:
        done.set()
        watcher.join()
