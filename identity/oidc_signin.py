"""Sign-in through an OpenID Connect provider (mozilla-django-oidc: code flow, PKCE, state, nonce).

Users are matched by the provider's stable key (issuer + sub, ExternalIdentity), never by user
name; by e-mail only when B2I_OIDC_MATCH_VERIFIED_EMAIL is on and the provider says the address
is verified. The groups claim goes through identity.group_roles at each sign-in. Endpoints come
from the discovery document; an unreachable provider sends the browser back to the sign-in page
with a message, not a 500.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from identity.group_roles import apply_group_roles
from identity.models import ExternalIdentity, Provider
from identity.oidc_discovery import ProviderUnreachable, provider_metadata

PROVIDER_BACKEND = "identity.oidc_signin.ProviderBackend"
UNREACHABLE_URL = "/login/?sso=unreachable"

_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def discovered_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings lookup, with the provider's endpoints from discovery."""
    if attr in _DISCOVERED:
        return provider_metadata().get(_DISCOVERED[attr])
    return import_from_settings(attr, *args)


# mozilla-django-oidc ships no type hints: its classes are Any to mypy.
class ProviderBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    get_settings = staticmethod(discovered_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django makes every backend for every sign-in and permission check: the parent would
        # read the provider's discovery document here, so a provider outage would break local
        # and LDAP sign-ins too. The endpoints are read when a provider sign-in needs them.
        self.UserModel = User
        self.OIDC_RP_CLIENT_ID = settings.B2I_OIDC.client_id
        self.OIDC_RP_CLIENT_SECRET = settings.B2I_OIDC.client_secret
        self.OIDC_RP_SIGN_ALGO = import_from_settings("OIDC_RP_SIGN_ALGO")
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> Any:
        return discovered_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> Any:
        return discovered_setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> Any:
        return discovered_setting("OIDC_OP_JWKS_ENDPOINT")

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The ID token's claims with the userinfo endpoint's (which must name the same sub)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("the userinfo answer names another subject")
            claims.update(userinfo)
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        linked = User.objects.filter(
            external_identities__provider=Provider.OIDC,
            external_identities__issuer=settings.B2I_OIDC.issuer,
            external_identities__subject=claims["sub"],
        )
        if linked.exists() or not _may_match_by_email(claims):
            return linked
        return User.objects.filter(email__iexact=claims["email"])

    @transaction.atomic
    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(_free_username(claims), email=claims.get("email", ""))
        return self.update_user(user, claims)

    @transaction.atomic
    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        _sync_attributes(user, claims)
        now = timezone.now()
        ExternalIdentity.objects.update_or_create(
            provider=Provider.OIDC,
            issuer=settings.B2I_OIDC.issuer,
            subject=claims["sub"],
            defaults={"user": user, "last_sign_in": now, "last_checked": now},
        )
        apply_group_roles(user, _groups(claims), Provider.OIDC)
        return user


def _may_match_by_email(claims: dict[str, Any]) -> bool:
    return bool(
        settings.B2I_OIDC.match_verified_email
        and claims.get("email")
        and claims.get("email_verified") is True
    )


def _groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get(settings.B2I_OIDC.groups_claim, [])
    if isinstance(value, str):
        return [value]
    return [str(group) for group in value] if isinstance(value, list) else []


def _free_username(claims: dict[str, Any]) -> str:
    """The provider's preferred name, made safe; numbered if a local user already has it."""
    wanted = claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0]
    base = _USERNAME_UNSAFE.sub("-", str(wanted or claims["sub"]))[:140] or "user"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _sync_attributes(user: User, claims: dict[str, Any]) -> None:
    user.first_name = str(claims.get("given_name", user.first_name))[:150]
    user.last_name = str(claims.get("family_name", user.last_name))[:150]
    if claims.get("email"):
        user.email = str(claims["email"])[:254]
    user.save(update_fields=["first_name", "last_name", "email"])


def _refuse_unless_configured() -> None:
    if not settings.B2I_OIDC.issuer:
        raise Http404("Single sign-on is not configured.")


_PROVIDER_DOWN = (ProviderUnreachable, requests.RequestException, httpx.HTTPError)


class ProviderSignInView(OIDCAuthenticationRequestView):  # type: ignore[misc]
    get_settings = staticmethod(discovered_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # not the parent's: it would read the endpoint here

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_configured()
        try:
            # The parent's __init__ read the endpoint before the request: read it here, where
            # an unreachable provider can still be answered with the sign-in page.
            self.OIDC_OP_AUTH_ENDPOINT = discovered_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = settings.B2I_OIDC.client_id
        except _PROVIDER_DOWN:
            return HttpResponseRedirect(UNREACHABLE_URL)
        response: HttpResponse = super().get(request)
        return response


class ProviderCallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    get_settings = staticmethod(discovered_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        _refuse_unless_configured()
        try:
            response: HttpResponse = super().get(request)
        except _PROVIDER_DOWN:
            return HttpResponseRedirect(UNREACHABLE_URL)
        return response

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        # A removal from a group reaches the console at the next sign-in: bound the session.
        self.request.session.set_expiry(settings.B2I_OIDC.session_seconds)
        return response


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send a browser signing out of a provider session (RP-initiated logout)."""
    id_token = request.session.get("oidc_id_token")
    if not id_token:
        return None
    try:
        end_session = provider_metadata().get("end_session_endpoint")
    except ProviderUnreachable:
        return None
    if not end_session:
        return None
    back = request.build_absolute_uri(reverse("login"))
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": back})
    return f"{end_session}?{query}"
