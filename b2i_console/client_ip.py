"""The client's address, the one way for the whole app (trigger rate limit, login lock-out).

`X-Forwarded-For` is believed only from proxies listed in `B2I_TRUSTED_PROXIES` (CIDRs): the
header is read from the right (the hop nearest to us) past every trusted proxy, and the first
address not in a trusted network is the client. Without trusted proxies, or when the direct
peer is not one, the header is ignored and the peer's address is the client: anybody can write
`X-Forwarded-For`, so believing it would let one client pose as many (and escape every limit).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Parse CIDRs (a bare address is a /32 or /128); raise ImproperlyConfigured when invalid."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"B2I_TRUSTED_PROXIES: {value!r} is not an address or CIDR network"
            ) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return parse_networks(values)


def trusted_proxies() -> tuple[IpNetwork, ...]:
    return _networks(tuple(getattr(settings, "B2I_TRUSTED_PROXIES", ())))


def _address(text: str) -> IpAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:1234"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:1234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _is_trusted(address: IpAddress | None, networks: tuple[IpNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(meta: Mapping[str, Any]) -> str:
    """Return the client's address from a request's META (or an ASGI-built equivalent)."""
    peer = str(meta.get("REMOTE_ADDR") or "")
    networks = trusted_proxies()
    if not _is_trusted(_address(peer), networks):
        return peer
    hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    client = peer
    for hop in reversed([hop for hop in hops if hop]):
        address = _address(hop)
        if address is None:
            break  # a garbled hop: what lies left of it cannot be believed either
        client = str(address)
        if not _is_trusted(address, networks):
            break
    return client


def client_ip_of_request(request: Any) -> str:
    """The same for django-axes (AXES_CLIENT_IP_CALLABLE takes the request)."""
    return client_ip(request.META)
