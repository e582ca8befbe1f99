"""LDAP sign-in tests run against a real slapd (tests/fixtures/ldap_server.py) over StartTLS."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from b2i_console.ldap_settings import ldap_settings
from tests.fixtures.ldap_server import ADMIN_DN, ADMIN_PASSWORD, GROUPS, PEOPLE, LdapServer

_numbers = itertools.count(1)
PASSWORD = "directory password 1"


@dataclass
class Directory:
    server: LdapServer

    def new_user(self, given: str = "Dana", surname: str = "Reyes") -> str:
        """A fresh directory user (uid unique in this session); returns the uid."""
        uid = f"{given.lower()}{next(_numbers)}"
        self.server.add_user(uid, PASSWORD, given, surname, f"{uid}@corp.example")
        return uid

    def new_group(self, *uids: str) -> str:
        name = f"team-{next(_numbers)}"
        self.server.add_group(name, *uids)
        return name


def directory_environment(server: LdapServer, **overrides: str) -> dict[str, str]:
    values = {
        "B2I_LDAP_SERVER_URI": server.uri,
        "B2I_LDAP_START_TLS": "true",
        "B2I_LDAP_CA_FILE": str(server.ca_file),
        "B2I_LDAP_BIND_DN": ADMIN_DN,
        "B2I_LDAP_BIND_PASSWORD": ADMIN_PASSWORD,
        "B2I_LDAP_USER_SEARCH_BASE": PEOPLE,
        "B2I_LDAP_GROUP_SEARCH_BASE": GROUPS,
        "B2I_LDAP_TIMEOUT": "3",
    }
    values.update(overrides)
    return values


def use_directory(settings: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Switch the settings to LDAP sign-in as the environment variables would at start-up."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name, value in ldap_settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "identity.ldap_signin.DirectoryBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]


@pytest.fixture
def directory(
    ldap_server: LdapServer, settings: Any, monkeypatch: pytest.MonkeyPatch, db: None
) -> Iterator[Directory]:
    use_directory(settings, monkeypatch, directory_environment(ldap_server))
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield Directory(ldap_server)
