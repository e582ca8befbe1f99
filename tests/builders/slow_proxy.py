"""A TCP proxy that slows uploads down, so a test can act while a real build is pushing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.fixtures.processes import free_port


class SlowProxy:
    """Forwards 127.0.0.1:<port> to a target; client→server bytes at about `bytes_per_second`."""

    def __init__(
        self, target_port: int, bytes_per_second: int, receive_buffer: int | None = None
    ) -> None:
        self.target_port = target_port
        self.chunk = 8192
        self.delay = self.chunk / bytes_per_second
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        if receive_buffer:  # accepted connections inherit it: little is buffered in flight
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.stopped = threading.Event()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the target is down: refuse this client as the target would,
                client.close()  # and keep serving (the target may come back)
                continue
            pump(client, upstream, self.chunk, self.delay)
            pump(upstream, client, 65536, 0.0)


def pump(source: socket.socket, target: socket.socket, chunk: int, delay: float) -> None:
    def run() -> None:
        try:
            while data := source.recv(chunk):
                if delay:
                    time.sleep(delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    threading.Thread(target=run, daemon=True).start()


@contextmanager
def slow_proxy(
    target_port: int, bytes_per_second: int, receive_buffer: int | None = None
) -> Iterator[SlowProxy]:
    proxy = SlowProxy(target_port, bytes_per_second, receive_buffer)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stopped.set()
        thread.join(timeout=5)
        proxy.listener.close()
