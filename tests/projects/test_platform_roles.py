"""`manage.py set_platform_role` switches a user between the three platform roles."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from projects import access


def set_role(username: str, role: str) -> User:
    call_command("set_platform_role", username, role, stdout=StringIO())
    # A fresh instance: Django caches permissions on the user object.
    return User.objects.get(username=username)


@pytest.mark.django_db
def test_roles_grant_and_withdraw_workspace_creation() -> None:
    User.objects.create_user("paula")
    paula = set_role("paula", "platform-self-provisioner")
    assert access.can_create_workspace(paula) and not paula.is_superuser
    paula = set_role("paula", "platform-admin")
    assert paula.is_superuser and paula.is_staff
    paula = set_role("paula", "platform-regular")
    assert not access.can_create_workspace(paula)
    assert not paula.is_superuser


@pytest.mark.django_db
def test_unknown_user_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("set_platform_role", "ghost", "platform-admin")
