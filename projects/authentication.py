"""Personal API tokens: `Authorization: Bearer b2i_…` authenticates as the token's owner.

Only the SHA-256 of a token is stored; the token itself is shown once, when it is created.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from projects.models import ApiToken, TokenScope, hash_api_token

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from drf_spectacular.openapi import AutoSchema

    # Only for hints: rest_framework.views reads the authentication settings, which name
    # this module, when it is imported.
    from rest_framework.views import APIView

TOKEN_PREFIX = "b2i_"  # noqa: S105 (a public marker, not a secret)
# Writing last_used_at on every request would turn each API read into a write; a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_api_token(
    user: User, name: str, expires_at: datetime | None = None, scope: str = TokenScope.FULL
) -> tuple[ApiToken, str]:
    """Create a token for the user and return it with the raw token (never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_api_token(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        expires_at=expires_at,
        scope=scope,
    )
    return token, raw


def authenticated_by_token(request: Request) -> bool:
    return isinstance(request.auth, ApiToken)


class SessionOnly(permissions.BasePermission):
    """Token management needs a signed-in session: a leaked token cannot mint or list tokens."""

    message = "Manage API tokens from a signed-in browser session, not with an API token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated) and not (
            authenticated_by_token(request)
        )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if len(header) != 2 or header[0].lower() not in self.keywords:
            return None
        if not header[1].startswith(TOKEN_PREFIX):
            return None  # not ours (e.g. a registry bearer token forwarded by mistake)
        return self._authenticate_token(request, header[1])

    def _authenticate_token(self, request: Request, raw: str) -> tuple[User, ApiToken]:
        token = (
            ApiToken.objects.select_related("user").filter(token_hash=hash_api_token(raw)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API token.")
        if token.is_expired:
            raise exceptions.AuthenticationFailed("This API token has expired; create a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API token is deactivated.")
        if token.scope != TokenScope.FULL and request.method not in permissions.SAFE_METHODS:
            # Checked here, not by a permission class, so that no view can forget it.
            raise exceptions.PermissionDenied(
                "This API token is read-only; use a token with the full scope to change things."
            )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


# drf-spectacular's extension registry (OpenApiAuthenticationExtension.__init_subclass__) is
# unannotated.
class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "projects.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Personal API token (b2i_…)"}
