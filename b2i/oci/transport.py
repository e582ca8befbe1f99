"""HTTP plumbing for registries: an httpx client that only connects to allowed addresses,
TLS settings, retry policy (backoff + jitter + Retry-After) and error translation.

The client never follows redirects by itself (the registry client does, dropping
Authorization when the host changes) and ignores proxy environment variables (httpx's
trust_env), so every connection goes through the address check below. A proxy is used only
when given as a `ProxyConfig` (b2i.oci.proxy, which reads those variables itself): its
transport checks each registry host before the proxy is asked to connect to it.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import os
import random
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpcore
import httpx

from b2i.oci.cancel import BuildCancelled, CancelToken
from b2i.oci.errors import (
    DigestMismatchError,
    OciError,
    ProxyAuthError,
    ProxyRefusedError,
    RegistryTimeoutError,
    TlsError,
    UnreachableError,
    is_tls_failure,
)
from b2i.oci.netpolicy import resolve_allowed
from b2i.oci.proxy import ProxyConfig, ProxyFailure, ProxyRoutingTransport
from b2i.oci.tracked_connections import TrackingBackend

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Registry error codes that mean "your bytes are wrong": retrying cannot help.
NEVER_RETRY_CODES = frozenset({"DIGEST_INVALID", "MANIFEST_INVALID", "SIZE_INVALID"})
READ_SIZE = 1024 * 1024
# Connection-level failures no retry can fix: a TLS mismatch, a proxy refusing us.
FINAL_CONNECTION_ERRORS = (TlsError, ProxyAuthError, ProxyRefusedError)
USER_AGENT = "b2i-console/0.1"


# Requests that clean up after a failed or cancelled build (DELETE of an upload session) get
# this long, once: a hung registry must not hold a cancelled build's worker slot.
CLEANUP_TIMEOUT = 1.5


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check and connect in one place, so DNS cannot change between check and use."""

    def __init__(self, allowed_networks: Sequence[str], cancel: CancelToken | None = None) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.inner = TrackingBackend(httpcore.SyncBackend(), cancel)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable checked address of HOST (TLS keeps HOST for SNI)."""
        addresses = resolve_allowed(host, port, self.allowed_networks)
        last: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

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


class DeferredTrustContext(ssl.SSLContext):
    """A verifying client TLS context that loads its trusted CAs at the first handshake.

    Loading the CA bundle costs ~20 ms; a plain-HTTP registry never needs it (an HTTPS redirect
    or token realm still does, so the context exists and verifies). The trust is httpx's
    default: $SSL_CERT_FILE, else $SSL_CERT_DIR, else certifi's bundle.
    """

    _trust_lock = threading.Lock()
    _trust_loaded = False
    _cafile: str | None = None
    _capath: str | None = None

    @classmethod
    def create(
        cls, cafile: str | None, capath: str | None, keylog: str | None
    ) -> DeferredTrustContext:
        """Return a context with ssl.create_default_context's client settings, CAs not loaded."""
        context = cls(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname
        context._cafile, context._capath = cafile, capath
        if keylog:
            context.keylog_filename = keylog
        return context

    def _load_trust(self) -> None:
        with self._trust_lock:
            if self._trust_loaded:
                return
            if self._cafile or self._capath:
                self.load_verify_locations(cafile=self._cafile, capath=self._capath)
            else:
                import certifi  # only TLS connections need it

                self.load_verify_locations(cafile=certifi.where())
            self._trust_loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """Load the trusted CAs (once), then wrap as SSLContext does."""
        self._load_trust()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        """Load the trusted CAs (once), then wrap as SSLContext does (async backends)."""
        self._load_trust()
        return super().wrap_bio(*args, **kwargs)


def tls_setting(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    """Return httpx's `verify` value: default trust, a custom CA (PEM text) or no checks."""
    if not verify:
        return False
    if ca_bundle:
        try:
            return ssl.create_default_context(cadata=ca_bundle)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsError("the custom CA bundle is not valid PEM certificate text") from exc
    return default_trust()


def default_trust() -> DeferredTrustContext:
    """Return the process's default verifying context (one per trust setting, shared).

    Clients share it, so the CA bundle is loaded once per process, not once per registry.
    """
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
    keylog = None if sys.flags.ignore_environment else os.environ.get("SSLKEYLOGFILE") or None
    return _trust_for(cafile, capath, keylog)


@functools.lru_cache(maxsize=8)
def _trust_for(cafile: str | None, capath: str | None, keylog: str | None) -> DeferredTrustContext:
    return DeferredTrustContext.create(cafile, capath, keylog)


def build_http_client(
    *,
    verify: bool = True,
    ca_bundle: str | None = None,
    allowed_networks: Sequence[str] = (),
    timeout: float = 60.0,
    proxy: ProxyConfig | None = None,
    cancel: CancelToken | None = None,
) -> httpx.Client:
    """Create an httpx client whose connections (direct or through PROXY) pass the policy.

    With CANCEL, setting the token interrupts every connection the client has open."""
    tls = tls_setting(verify, ca_bundle)
    transport = httpx.HTTPTransport(verify=tls, retries=0)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool):  # pragma: no cover - httpx internals
        raise RuntimeError("unexpected httpx transport: cannot install the address guard")
    # httpx exposes no public hook for the network backend; the pool reads this attribute
    # each time it opens a connection, so replacing it guards every connection.
    pool._network_backend = GuardedBackend(allowed_networks, cancel)
    routed: httpx.BaseTransport = transport
    if proxy is not None and proxy.enabled:
        routed = ProxyRoutingTransport(
            transport, proxy, allowed_networks, tls, default_trust(), cancel=cancel
        )
    return httpx.Client(
        transport=routed,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def translate_transport_error(exc: httpx.TransportError, what: str) -> OciError:
    """Turn an httpx connection-level error into an OciError with a stable code."""
    if isinstance(exc, ProxyFailure):
        return exc.error(what)
    if isinstance(exc, httpx.TimeoutException):
        return RegistryTimeoutError(f"{what}: no answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError) and is_tls_failure(exc):
        return TlsError(
            f"{what}: TLS failed ({exc}); give the registry's CA certificate, or enable "
            "skip-verify, or use http:// if the registry does not speak TLS"
        )
    if isinstance(exc, httpx.ConnectError):
        return UnreachableError(f"{what}: cannot connect ({exc or 'connection refused'})")
    return UnreachableError(f"{what}: connection failed ({type(exc).__name__}: {exc})")


class TransientError(Exception):
    """A failure worth retrying (5xx, 429, 408, connection reset), with the error to report."""

    def __init__(self, error: OciError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Parse Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class RetryPolicy:
    """How often and how long to retry one request: exponential backoff with jitter, capped,
    within a time budget shared by every request of the client (one build's push).

    A registry behind a load balancer hiccups for tens of seconds: the default waits (0.5, 1,
    2, 4, 8, then 10 s) let each request ride out a minute-long outage, and the budget bounds
    what a registry that stays down costs the build. A cancel (CANCEL set) ends any wait.
    """

    retries: int = 8
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.2
    # Seconds spent on failed attempts and waits before giving up, over all requests.
    budget: float = 180.0
    cancel: CancelToken | None = field(default=None, repr=False)
    # None: wait on the cancel token (or time.sleep without one); tests record the waits.
    sleep: Callable[[float], None] | None = field(default=None, repr=False)
    spent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Return the wait before retry number ATTEMPT (1-based), honouring Retry-After."""
        backoff = self.base_delay * self.factor ** (attempt - 1)
        backoff *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return min(backoff, self.max_delay)

    def check_cancel(self) -> None:
        """Raise BuildCancelled when the build was cancelled."""
        if self.cancel is not None:
            self.cancel.check()

    def wait(self, seconds: float) -> None:
        """Wait before a retry; a cancel ends the wait with BuildCancelled."""
        if self.sleep is not None:
            self.sleep(seconds)
        elif self.cancel is not None:
            self.cancel.pause(seconds)
        else:
            time.sleep(seconds)
        self.check_cancel()

    def spend(self, seconds: float) -> bool:
        """Charge SECONDS to the budget; False (charging nothing) when it would overrun it."""
        with self._lock:
            if self.spent + seconds > self.budget:
                return False
            self.spent += seconds
            return True

    def run(self, operation: Callable[[], T], on_retry: Callable[[int, float, str], None]) -> T:
        """Call OPERATION, retrying on TransientError; raise the last error's OciError."""
        attempt = 0
        while True:
            self.check_cancel()
            started = time.monotonic()
            try:
                return operation()
            except TransientError as exc:
                attempt += 1
                wait = self.delay(attempt, exc.retry_after)
                cost = time.monotonic() - started + wait
                if attempt > self.retries or not self.spend(cost):
                    raise exc.error from exc
                on_retry(attempt, wait, exc.error.message)
                self.wait(wait)


def registry_error_codes(response: httpx.Response) -> tuple[tuple[str, ...], str]:
    """Return the error codes and first message of a registry's JSON error body."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return (), ""
    codes = tuple(str(e.get("code", "")) for e in errors if isinstance(e, dict))
    messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
    return codes, next((m for m in messages if m), "")


def is_retryable(response: httpx.Response) -> bool:
    """Tell whether a response is worth retrying (408/429/5xx, but never bad bytes)."""
    if response.status_code not in RETRYABLE_STATUSES:
        return False
    codes, _ = registry_error_codes(response)
    return not NEVER_RETRY_CODES.intersection(codes)


class ReadableBody(Protocol):
    """What `open_body` returns: a binary file-like object (e.g. `open(path, "rb")`)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class CheckpointedBody:
    """A body that calls CHECKPOINT before every read: when that raises (a cancelled build),
    the upload in flight is abandoned (and its session deleted) instead of finished."""

    def __init__(self, body: ReadableBody, checkpoint: Callable[[], None]) -> None:
        self._body = body
        self._checkpoint = checkpoint

    def read(self, size: int = -1, /) -> bytes:
        self._checkpoint()
        return self._body.read(size)

    def close(self) -> None:
        self._body.close()


def sha256_digest(data: bytes) -> str:
    """Return `sha256:<hex>` of DATA."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobStream:
    """A blob being downloaded: iterate for chunks or read(n); checks the digest at the end."""

    def __init__(
        self, response: httpx.Response, digest: str, cancel: CancelToken | None = None
    ) -> None:
        self.response = response
        self.digest = digest
        self.cancel = cancel
        length = response.headers.get("Content-Length")
        self.size: int | None = int(length) if length and length.isdigit() else None
        self._chunks = response.iter_bytes(READ_SIZE)
        self._hasher = hashlib.sha256() if digest.startswith("sha256:") else None
        self._buffer = b""
        self._done = False

    def _next_chunk(self) -> bytes:
        if self._done:
            return b""
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            self._check_digest()
            return b""
        except httpx.TransportError as exc:
            if self.cancel is not None and self.cancel.is_set():
                raise BuildCancelled("the build was cancelled") from exc
            raise translate_transport_error(exc, f"downloading {self.digest}") from exc
        if self._hasher is not None:
            self._hasher.update(chunk)
        return chunk

    def _check_digest(self) -> None:
        if self._hasher is not None and f"sha256:{self._hasher.hexdigest()}" != self.digest:
            raise DigestMismatchError(f"downloaded blob does not match its digest {self.digest}")

    def __iter__(self) -> Iterator[bytes]:
        if self._buffer:
            yield self._buffer
            self._buffer = b""
        while chunk := self._next_chunk():
            yield chunk

    def read(self, size: int = -1, /) -> bytes:
        """Read up to SIZE bytes (all that is left when SIZE < 0)."""
        if size < 0:
            return b"".join(iter(self))  # __iter__ starts with what is buffered
        while len(self._buffer) < size and (chunk := self._next_chunk()):
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        """Release the connection."""
        self.response.close()


def body_pieces(body: ReadableBody, size: int, hasher: hashlib._Hash) -> Iterator[bytes]:
    """Yield exactly SIZE bytes of BODY in pieces, hashing them; a short body is an error."""
    left = size
    while left > 0:
        piece = body.read(min(READ_SIZE, left))
        if not piece:
            raise DigestMismatchError(f"blob body ended {left} bytes before its declared size")
        hasher.update(piece)
        left -= len(piece)
        yield piece
