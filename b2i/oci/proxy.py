"""Outbound HTTP(S) proxy for registry traffic, without giving up the address check.

    config = proxy_config(os.environ, proxy=None, no_proxy=None)   # HTTPS_PROXY, NO_PROXY...
    config.proxy_for("https", "registry-1.docker.io", 443)         # -> ProxyAddress | None

Where the settings come from (the same for `b2i` and the console's worker):

- the proxy: an explicit one (`--proxy`, B2I_REGISTRY_PROXY) for every registry, `off` for
  none; else the standard `https_proxy`/`HTTPS_PROXY` for https:// registries and
  `http_proxy`/`HTTP_PROXY` for http:// ones (lowercase first, as curl and Python do).
- the hosts that bypass it: an explicit list (`--no-proxy`, B2I_NO_PROXY) exactly as given,
  even empty; else `no_proxy`/`NO_PROXY` plus loopback (`localhost`, 127.0.0.0/8, ::1), which
  is never proxied unless the explicit list leaves it out. Entries: `*` (everything), a host or
  domain suffix (`corp.example`, `.corp.example`, `*.corp.example` match it and its
  subdomains), either with `:port`, an IP address (`10.1.2.3`, `[::1]:5000`) or a CIDR
  network (`10.0.0.0/8`), which match hosts written as IP addresses, as curl and Go do.

The proxy is the operator's (trusted, but it must be a valid http(s) URL); the registries are
not: `ProxyRoutingTransport` resolves and checks a registry host against the network policy
before it asks the proxy to CONNECT to it (or to forward a plain-HTTP request), so a name
resolving to a metadata address is refused without a byte sent to the proxy. The proxy then
resolves the name again itself; it is trusted not to answer with another address.

Credentials in a proxy URL (`http://user:secret@proxy:3128`) go to the proxy only, in
Proxy-Authorization; everything shown (`str`, `repr`, errors, events) has them redacted.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from b2i.oci.cancel import CancelToken
from b2i.oci.errors import (
    InvalidProxyError,
    OciError,
    ProxyAuthError,
    ProxyRefusedError,
    ProxyUnreachableError,
    RegistryTimeoutError,
    TlsError,
    UnreachableError,
    is_tls_failure,
)
from b2i.oci.netpolicy import IPNetwork, resolve_allowed, split_host_port
from b2i.oci.tracked_connections import TrackingBackend

OFF = "off"
LOOPBACK_BYPASS = "localhost,127.0.0.0/8,::1"
DEFAULT_PORTS = {"http": 80, "https": 443}


def redact_url(text: str) -> str:
    """Return TEXT with any `user:password@` replaced by `***@` (safe on unparsable text)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{tail}"


@dataclass(frozen=True)
class ProxyAddress:
    """A validated proxy URL; shown (str and repr) without its credentials."""

    url: str = field(repr=False)

    def __str__(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:
        return f"ProxyAddress({str(self)!r})"


def parse_proxy_url(text: str, source: str) -> ProxyAddress:
    """Validate a proxy URL (`http(s)://[user:pass@]host[:port][/]`, scheme defaults to http)."""
    value = text.strip()
    url = value if "://" in value else f"http://{value}"
    shown = redact_url(value)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidProxyError(f"{source}: {shown!r} is not a valid proxy URL") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidProxyError(
            f"{source}: only http:// and https:// proxies are supported, not {parts.scheme}://"
        )
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidProxyError(
            f"{source}: {shown!r} is not a proxy URL (http://[user:password@]host:port)"
        )
    if port == 0:
        raise InvalidProxyError(f"{source}: {shown!r} has no valid port")
    return ProxyAddress(url.rstrip("/"))


@dataclass(frozen=True)
class BypassRule:
    """One NO_PROXY entry: everything, a domain (and its subdomains) or an IP network."""

    domain: str = ""
    network: IPNetwork | None = None
    port: int | None = None
    everything: bool = False

    def matches(self, host: str, port: int) -> bool:
        """Tell whether HOST:PORT (a name or an IP address) bypasses the proxy."""
        if self.everything:
            return True
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            address = _ip_or_none(host)
            return address is not None and address in self.network
        return host == self.domain or host.endswith("." + self.domain)


def _ip_or_none(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def parse_bypass_entry(entry: str) -> BypassRule:
    """Parse one NO_PROXY entry; what is no IP form is taken as a domain (as curl does)."""
    text = entry.strip().lower().rstrip(".")
    if text == "*":
        return BypassRule(everything=True)
    try:
        return BypassRule(network=ipaddress.ip_network(text.strip("[]"), strict=False))
    except ValueError:
        pass
    try:
        name, port = split_host_port(text)
    except OciError:  # an unreadable port: keep the entry, it matches its own text only
        name, port = text, None
    address = _ip_or_none(name)
    if address is not None:
        return BypassRule(network=ipaddress.ip_network(address), port=port)
    return BypassRule(domain=name.removeprefix("*").lstrip("."), port=port)


def parse_no_proxy(text: str) -> tuple[BypassRule, ...]:
    """Parse a comma (or space) separated NO_PROXY list."""
    entries = text.replace(" ", ",").split(",")
    return tuple(parse_bypass_entry(entry) for entry in entries if entry.strip())


@dataclass(frozen=True)
class ProxyConfig:
    """Where registry traffic goes: a proxy per registry URL scheme, and who bypasses it."""

    http: ProxyAddress | None = None
    https: ProxyAddress | None = None
    bypass: tuple[BypassRule, ...] = ()

    @property
    def enabled(self) -> bool:
        """Tell whether any traffic may go through a proxy."""
        return self.http is not None or self.https is not None

    def proxy_for(self, scheme: str, host: str, port: int | None = None) -> ProxyAddress | None:
        """Return the proxy for a request to SCHEME://HOST:PORT, None to connect directly."""
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is None:
            return None
        name = host.lower().rstrip(".").strip("[]")
        effective_port = port or DEFAULT_PORTS.get(scheme, 0)
        if any(rule.matches(name, effective_port) for rule in self.bypass):
            return None
        return proxy

    def describe(self) -> str:
        """Return the settings in one line, credentials redacted (for logs and `b2i`)."""
        if not self.enabled:
            return "no proxy"
        if self.http == self.https:
            return f"proxy {self.https}"
        parts = [f"https proxy {self.https}" if self.https else "https direct"]
        parts.append(f"http proxy {self.http}" if self.http else "http direct")
        return ", ".join(parts)


NO_PROXY = ProxyConfig()


def _first(environ: Mapping[str, str], *names: str) -> str:
    return next((environ[name].strip() for name in names if environ.get(name, "").strip()), "")


def proxy_config(
    environ: Mapping[str, str], *, proxy: str | None = None, no_proxy: str | None = None
) -> ProxyConfig:
    """Return the proxy settings: PROXY / NO_PROXY when given (see the module), else ENVIRON's."""
    http: ProxyAddress | None
    https: ProxyAddress | None
    if proxy is not None and proxy.strip():
        if proxy.strip().lower() == OFF:
            return NO_PROXY
        both = parse_proxy_url(proxy, "the registry proxy")
        http, https = both, both
    else:
        https_text = _first(environ, "https_proxy", "HTTPS_PROXY")
        http_text = _first(environ, "http_proxy", "HTTP_PROXY")
        https = parse_proxy_url(https_text, "HTTPS_PROXY") if https_text else None
        http = parse_proxy_url(http_text, "HTTP_PROXY") if http_text else None
    return ProxyConfig(
        http=http, https=https, bypass=parse_no_proxy(bypass_list(environ, no_proxy))
    )


def bypass_list(environ: Mapping[str, str], no_proxy: str | None = None) -> str:
    """Return the bypass list in force as text: NO_PROXY exactly as given, else ENVIRON's
    `no_proxy`/`NO_PROXY` plus loopback (what `proxy_config` parses; handed on to build pods)."""
    if no_proxy is not None:
        return no_proxy
    return ",".join(filter(None, [_first(environ, "no_proxy", "NO_PROXY"), LOOPBACK_BYPASS]))


class ProxyFailure(httpx.TransportError):
    """A request failed at the proxy; `error(what)` is the OciError to report."""

    def __init__(self, kind: type[OciError], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail

    def error(self, what: str) -> OciError:
        """Return the error for the operation WHAT (e.g. `GET registry:5000`)."""
        return self.kind(f"{what}: {self.detail}")


def connect_failure(status_text: str, proxy: ProxyAddress, target: str) -> ProxyFailure:
    """Describe the proxy's non-2xx answer to CONNECT (httpcore gives `407 Proxy Auth...`)."""
    status = int(status_text[:3]) if status_text[:3].isdigit() else 0
    if status == 407:
        return proxy_auth_failure(proxy)
    if status >= 500:  # the proxy could not reach the registry: worth a retry
        return ProxyFailure(
            UnreachableError, f"the proxy {proxy} could not reach {target} ({status_text})"
        )
    return ProxyFailure(
        ProxyRefusedError,
        f"the proxy {proxy} refused to connect to {target} ({status_text}); "
        "ask its administrators to allow this registry, or list it in NO_PROXY",
    )


def proxy_auth_failure(proxy: ProxyAddress) -> ProxyFailure:
    """Describe a 407: the proxy wants (other) credentials."""
    return ProxyFailure(
        ProxyAuthError,
        f"the proxy {proxy} refused the request (407 Proxy Authentication Required); "
        "put valid credentials in the proxy URL (http://user:password@host:port)",
    )


class ProxyRoutingTransport(httpx.BaseTransport):
    """Send each request directly (DIRECT, guarded) or through its proxy, after the check."""

    def __init__(
        self,
        direct: httpx.BaseTransport,
        config: ProxyConfig,
        allowed_networks: Sequence[str],
        verify: ssl.SSLContext | bool,
        proxy_trust: ssl.SSLContext | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self.direct = direct
        self.cancel = cancel
        self.config = config
        self.allowed_networks = tuple(allowed_networks)
        self.verify = verify
        self.proxy_trust = proxy_trust
        self.proxied: dict[ProxyAddress, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()  # a client may be shared by threads (base in advance)

    def _transport_for(self, proxy: ProxyAddress) -> httpx.HTTPTransport:
        with self._lock:
            return self._proxied_transport(proxy)

    def _proxied_transport(self, proxy: ProxyAddress) -> httpx.HTTPTransport:
        if proxy not in self.proxied:
            # The proxy is operator configuration: its own address is not checked; `verify`
            # is the registry's TLS trust (the tunnel's TLS is with the registry), PROXY_TRUST
            # that of an https:// proxy (else httpcore would use certifi, not SSL_CERT_FILE).
            tls_proxy = proxy.url.startswith("https://")
            transport = httpx.HTTPTransport(
                verify=self.verify,
                proxy=httpx.Proxy(proxy.url, ssl_context=self.proxy_trust if tls_proxy else None),
                retries=0,
            )
            # As for direct connections (transport.py): a cancel interrupts the proxied ones.
            pool = transport._pool
            pool._network_backend = TrackingBackend(pool._network_backend, self.cancel)
            self.proxied[proxy] = transport
        return self.proxied[proxy]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Route REQUEST; refuse a blocked registry host before any proxy connection."""
        url = request.url
        proxy = self.config.proxy_for(url.scheme, url.host, url.port)
        if proxy is None:
            return self.direct.handle_request(request)
        resolve_allowed(url.host, url.port, self.allowed_networks)
        target = f"{url.host}:{url.port or DEFAULT_PORTS.get(url.scheme, 0)}"
        response = self._send_via(proxy, request, target)
        if response.status_code == 407:  # plain HTTP is forwarded: the 407 is the proxy's
            response.close()
            raise proxy_auth_failure(proxy)
        return response

    def _send_via(self, proxy: ProxyAddress, request: httpx.Request, target: str) -> httpx.Response:
        try:
            return self._transport_for(proxy).handle_request(request)
        except httpx.ProxyError as exc:
            raise connect_failure(str(exc), proxy, target) from exc
        except httpx.ConnectTimeout as exc:
            raise ProxyFailure(
                RegistryTimeoutError, f"no answer in time from the proxy {proxy} or {target}"
            ) from exc
        except httpx.ConnectError as exc:
            if is_tls_failure(exc) and proxy.url.startswith("https://"):
                raise ProxyFailure(
                    TlsError,
                    f"TLS with the proxy {proxy} or, through it, with {target} failed ({exc}); "
                    "the proxy's CA certificate belongs in SSL_CERT_FILE",
                ) from exc
            if is_tls_failure(exc):  # the registry's TLS, inside the tunnel
                raise
            raise ProxyFailure(
                ProxyUnreachableError,
                f"cannot connect to the proxy {proxy} ({exc or 'connection refused'}); "
                "check the proxy setting (--proxy, B2I_REGISTRY_PROXY or HTTPS_PROXY)",
            ) from exc

    def close(self) -> None:
        """Close the direct and every proxy connection pool."""
        self.direct.close()
        for transport in self.proxied.values():
            transport.close()
