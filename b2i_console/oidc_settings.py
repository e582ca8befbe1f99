"""OpenID Connect sign-in settings (mozilla-django-oidc) from B2I_OIDC_* environment variables.

Off unless B2I_OIDC_ISSUER is set. The provider's endpoints are not settings: they are read from
its discovery document (identity/oidc_discovery.py) when first needed, so one issuer URL is all
an operator configures (as with Keycloak's or Dex's realm URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from b2i_console.env import env_bool, env_int, env_str

# Plain HTTP only to a provider on this machine: tokens and codes must not cross a network clear.
_LOOPBACK_HTTP = ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")


@dataclass(frozen=True)
class OidcOptions:
    issuer: str  # "" = single sign-on off
    client_id: str
    client_secret: str
    label: str
    groups_claim: str
    match_verified_email: bool
    session_seconds: int
    timeout: int
    verify: str | bool  # a CA file, or True for the system's


def oidc_enabled() -> bool:
    return bool(env_str("B2I_OIDC_ISSUER"))


def oidc_options() -> OidcOptions:
    issuer = env_str("B2I_OIDC_ISSUER").rstrip("/")
    client_id, secret = env_str("B2I_OIDC_CLIENT_ID"), env_str("B2I_OIDC_CLIENT_SECRET")
    if issuer and not issuer.startswith(("https://", *_LOOPBACK_HTTP)):
        raise ImproperlyConfigured("B2I_OIDC_ISSUER must be an https:// URL")
    if issuer and (not client_id or not secret):
        raise ImproperlyConfigured("B2I_OIDC_CLIENT_ID and B2I_OIDC_CLIENT_SECRET are needed")
    return OidcOptions(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        label=env_str("B2I_OIDC_LABEL", "single sign-on"),
        groups_claim=env_str("B2I_OIDC_GROUPS_CLAIM", "groups"),
        match_verified_email=env_bool("B2I_OIDC_MATCH_VERIFIED_EMAIL", False),
        session_seconds=env_int("B2I_OIDC_SESSION_SECONDS", 8 * 3600),
        timeout=env_int("B2I_OIDC_TIMEOUT", 5),
        verify=env_str("B2I_OIDC_CA_FILE") or True,
    )


def library_settings(options: OidcOptions) -> dict[str, Any]:
    """The OIDC_* settings mozilla-django-oidc reads by name."""
    return {
        "OIDC_RP_CLIENT_ID": options.client_id,
        "OIDC_RP_CLIENT_SECRET": options.client_secret,
        "OIDC_RP_SIGN_ALGO": env_str("B2I_OIDC_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": env_str("B2I_OIDC_SCOPES", "openid email profile groups"),
        "OIDC_USE_PKCE": True,
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of the logout at the provider
        "OIDC_VERIFY_SSL": options.verify,
        "OIDC_TIMEOUT": options.timeout,
        "LOGIN_REDIRECT_URL_FAILURE": "/login/?sso=failed",
    }


def oidc_settings() -> dict[str, Any]:
    """Every setting single sign-on needs: B2I_OIDC (the options) and the library's."""
    options = oidc_options()
    return {"B2I_OIDC": options, **library_settings(options)}
