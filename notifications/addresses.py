"""Which webhook URLs a channel may have: the registries' address policy, checked at save.

The policy is b2i.oci.netpolicy's, with the same operator setting (B2I_ALLOWED_REGISTRY_NETWORKS):
link-local and cloud metadata addresses are always refused, loopback and private ones unless in
an allowed network. An IP literal is checked when the channel is saved; a name is resolved and
checked at every send, by the guarded client, so DNS cannot swap in a forbidden address later.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from b2i.oci.errors import BlockedAddressError
from b2i.oci.netpolicy import check_address_allowed, parse_networks
from b2i_console.errors import UserError

MAX_URL_CHARS = 2048


def _bad_url(message: str) -> UserError:
    return UserError("notify:bad-url", message)


def check_webhook_url(url: str) -> str:
    """Check URL's shape and (for an IP literal) its address; return its host for display."""
    if len(url) > MAX_URL_CHARS:
        raise _bad_url(f"The webhook URL is longer than {MAX_URL_CHARS} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad_url("The webhook URL must be an http:// or https:// URL with a host.")
    if parts.username or parts.password or parts.fragment:
        raise _bad_url("Put no user name, password or #fragment in the webhook URL.")
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise _bad_url("The webhook URL's port is not a number 1-65535.") from exc
    check_literal_address(parts.hostname)
    return parts.hostname


def check_literal_address(hostname: str) -> None:
    """Refuse an IP-literal host the address policy forbids (names are checked when sending)."""
    try:
        address = ipaddress.ip_address(hostname.split("%", 1)[0])
    except ValueError:
        return
    networks = parse_networks(settings.B2I_ALLOWED_REGISTRY_NETWORKS)
    try:
        check_address_allowed(address, networks, hostname)
    except BlockedAddressError as exc:
        raise blocked(exc) from exc


def blocked(exc: BlockedAddressError) -> UserError:
    return UserError(
        "notify:blocked-address",
        f"Notifications are not sent to this address: {exc.message}",
    )
