"""Sign-in through an LDAP directory (django-auth-ldap), with group mappings applied each time.

Users are created on their first sign-in and their name and e-mail synced at each; the
directory's group names go through identity.group_roles. A directory that cannot be reached is
told apart from a wrong password (directory_error), so the sign-in page can say which it was.
"""

from __future__ import annotations

import contextvars
from typing import Any

import ldap
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.utils import timezone
from django_auth_ldap.backend import LDAPBackend, ldap_error

from identity.group_roles import apply_group_roles
from identity.models import ExternalIdentity, Provider

DIRECTORY_BACKEND = "identity.ldap_signin.DirectoryBackend"

# The LDAP errors that mean "the directory did not answer", not "it said no".
_UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)

_directory_error: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar(
    "directory_error", default=None
)


def directory_error() -> BaseException | None:
    """The LDAP error of this context's last directory call, if it failed to reach the server."""
    return _directory_error.get()


def forget_directory_error() -> None:
    _directory_error.set(None)


def _remember_directory_error(sender: Any, exception: BaseException, **kwargs: Any) -> None:
    if isinstance(exception, _UNREACHABLE):
        _directory_error.set(exception)


def connect_receivers() -> None:
    ldap_error.connect(_remember_directory_error, dispatch_uid="b2i-directory-error")


# django-auth-ldap ships no type hints: its backend is Any to mypy.
class DirectoryBackend(LDAPBackend):  # type: ignore[misc]
    """LDAPBackend that applies the group mappings and records the user's directory identity."""

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> User | None:
        forget_directory_error()
        user: User | None = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        try:
            sync_directory_roles(user, ldap_user)
        except ldap.LDAPError as exc:
            # Signed in but the groups could not be read: the roles would be a guess. Refuse.
            _directory_error.set(exc)
            return None
        return user

    def populate_user(self, username: str) -> User | None:
        forget_directory_error()
        user: User | None = super().populate_user(username)
        if user is not None:
            sync_directory_roles(user, user.ldap_user)  # type: ignore[attr-defined]  # set by django-auth-ldap
        return user


def sync_directory_roles(user: User, ldap_user: Any) -> None:
    """Apply the directory's groups to the user's roles and note when the directory vouched."""
    groups = ldap_user.group_names if ldap_user.settings.GROUP_SEARCH is not None else set()
    apply_group_roles(user, groups, Provider.LDAP)
    now = timezone.now()
    ExternalIdentity.objects.update_or_create(
        provider=Provider.LDAP,
        issuer=ldap_user.settings.SERVER_URI,
        subject=ldap_user.dn,
        defaults={"user": user, "last_sign_in": now, "last_checked": now},
    )


class PermissionsOnlyBackend(ModelBackend):
    """Django's model permissions without local passwords (B2I_LOCAL_ACCOUNTS=false)."""

    def authenticate(self, request: Any, *args: Any, **kwargs: Any) -> None:
        return None
