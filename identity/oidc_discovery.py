"""The provider's discovery document (/.well-known/openid-configuration), read and cached.

The endpoints come from the issuer itself, checked to name the configured issuer (a document
that names another is refused: OpenID Connect Discovery 1.0, section 4.3). Kept for an hour.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

_CACHE_SECONDS = 3600
_MAX_DOCUMENT_BYTES = 256 * 1024
_REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderUnreachable(Exception):
    """The identity provider did not answer, or answered with something unusable."""


def provider_metadata() -> dict[str, Any]:
    issuer: str = settings.B2I_OIDC.issuer
    key = f"b2i:oidc-discovery:{issuer}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    metadata = _fetch(issuer)
    cache.set(key, metadata, _CACHE_SECONDS)
    return metadata


def forget_provider_metadata() -> None:
    cache.delete(f"b2i:oidc-discovery:{settings.B2I_OIDC.issuer}")


def _fetch(issuer: str) -> dict[str, Any]:
    url = f"{issuer}/.well-known/openid-configuration"
    verify = settings.B2I_OIDC.verify
    try:
        client = httpx.Client(timeout=settings.B2I_OIDC.timeout, verify=verify)
        with client, client.stream("GET", url) as response:
            response.raise_for_status()
            body = _read_bounded(response)
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(f"{url}: {exc}") from exc
    return _checked(httpx.Response(200, content=body).json(), issuer)


def _read_bounded(response: httpx.Response) -> bytes:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise ProviderUnreachable("the discovery document is too large")
    return body


def _checked(document: Any, issuer: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ProviderUnreachable("the discovery document is not a JSON object")
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnreachable(
            f"the discovery document names another issuer: {document.get('issuer')!r}"
        )
    missing = [name for name in _REQUIRED if not document.get(name)]
    if missing:
        raise ProviderUnreachable(f"the discovery document lacks {', '.join(missing)}")
    return document
