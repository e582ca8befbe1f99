"""Which hosts the engine may talk to (SSRF guard for registries, token realms and redirects).

Link-local and cloud metadata addresses are always refused, also in their IPv6 disguises
(IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo). Loopback, private and other non-global
addresses are refused unless inside one of the allowed networks; global addresses pass.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from b2i.oci.errors import BlockedAddressError, InvalidReferenceError, UnreachableError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALWAYS_BLOCKED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def split_host_port(host: str) -> tuple[str, int | None]:
    """Split `host`, `host:port`, `[v6]:port` or a bare IPv6 address into name and port."""
    text = host.strip()
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise InvalidReferenceError(f"invalid host {host!r}")
        return name, _parse_port(port_text, host)
    if text.count(":") == 1:
        name, _, port_text = text.partition(":")
        return name, _parse_port(port_text, host)
    return text, None


def _parse_port(text: str, host: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidReferenceError(f"invalid port in {host!r}")
    return int(text)


def parse_networks(allowed_networks: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings such as `127.0.0.0/8`; raises ValueError naming a bad entry."""
    networks = []
    for entry in allowed_networks:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid network {entry!r} in allowed registry networks") from exc
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, ...), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address_allowed(address: IPAddress, networks: Sequence[IPNetwork], host: str) -> None:
    """Raise BlockedAddressError unless ADDRESS may be contacted for HOST."""
    candidates: list[IPAddress] = [address]
    inner = embedded_ipv4(address)
    if inner is not None:
        candidates.append(inner)
    for candidate in candidates:
        if any(candidate in net for net in ALWAYS_BLOCKED if net.version == candidate.version):
            raise BlockedAddressError(
                f"{host} resolves to {address}, a link-local or cloud metadata address; "
                "registries there are never contacted"
            )
    effective = inner if inner is not None else address
    if effective.is_global and not effective.is_multicast:
        return
    if any(c in net for c in candidates for net in networks if net.version == c.version):
        return
    raise BlockedAddressError(
        f"{host} resolves to {address}, a loopback or private address not listed in "
        "B2I_ALLOWED_REGISTRY_NETWORKS; ask an administrator to allow that network"
    )


# B2I_ALLOWED_REGISTRY_NETWORKS=none for `b2i`: no loopback or private network at all (empty
# gives b2i its own default; the console's worker passes this to its build Jobs).
NO_NETWORKS = "none"

# Docker Hub's names: a machine that cannot resolve them is usually offline or behind a proxy.
_DOCKER_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                               "auth.docker.io", "production.cloudflare.docker.com"})  # fmt: skip


def dns_failure_message(name: str) -> str:
    """Say that NAME does not resolve, with what usually helps for Docker Hub's names."""
    message = f"cannot resolve registry host {name!r}: check the address and this machine's DNS"
    if name.lower().rstrip(".") in _DOCKER_HUB_NAMES:
        message += (
            "; where Docker Hub is out of reach, use a mirror (B2I_REGISTRY_MIRROR, b2i --mirror),"
            " a proxy (docs/proxy.md) or a base image in a registry this machine reaches"
        )
    return message


def resolve(name: str, port: int | None = None) -> list[IPAddress]:
    """Resolve NAME to its IP addresses (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(name.split("%", 1)[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnreachableError(dns_failure_message(name), code="registry:dns-failed") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def resolve_allowed(
    name: str, port: int | None, allowed_networks: Sequence[str]
) -> list[IPAddress]:
    """Resolve NAME and check every address (all must pass, so DNS cannot pick a bad one)."""
    if not name:
        raise InvalidReferenceError("empty registry host")
    networks = parse_networks(allowed_networks)
    addresses = resolve(name, port)
    for address in addresses:
        check_address_allowed(address, networks, name)
    return addresses


def check_host_allowed(host: str, allowed_networks: Sequence[str]) -> None:
    """Resolve HOST (`name`, `name:port`, `[v6]:port`) and refuse blocked addresses."""
    name, port = split_host_port(host)
    resolve_allowed(name, port, allowed_networks)
