"""Connections a CancelToken can interrupt: an httpcore backend registering every socket it opens.

b2i.oci.transport installs it under the address guard (direct connections), b2i.oci.proxy
under each proxy's pool (connections to the proxy, tunnels included).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore

from b2i.oci.cancel import CancelToken


class TrackedStream(httpcore.NetworkStream):
    """A connection whose socket (also after a TLS upgrade) is registered with a CancelToken."""

    def __init__(self, inner: httpcore.NetworkStream, cancel: CancelToken) -> None:
        self.inner = inner
        self.cancel = cancel
        cancel.track(inner.get_extra_info("socket"))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The TLS socket takes over the descriptor (the plain socket object is detached).
        upgraded = self.inner.start_tls(ssl_context, server_hostname, timeout)
        return TrackedStream(upgraded, self.cancel)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class TrackingBackend(httpcore.NetworkBackend):
    """Connects through INNER and registers every connection with a CancelToken."""

    def __init__(self, inner: httpcore.NetworkBackend, cancel: CancelToken | None) -> None:
        self.inner = inner
        self.cancel = cancel

    def track(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        """Return STREAM registered with the token (as it is when there is none)."""
        return stream if self.cancel is None else TrackedStream(stream, self.cancel)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Connect as INNER does; the connection is the token's to interrupt."""
        stream = self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return self.track(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Refuse unix sockets: registries are reached over TCP only."""
        raise httpcore.ConnectError("unix sockets are not allowed for registries")

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore uses this between its own connection attempts)."""
        self.inner.sleep(seconds)
