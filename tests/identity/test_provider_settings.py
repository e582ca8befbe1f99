"""Bad identity-provider configuration stops the start with a message naming the setting."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from b2i_console.ldap_settings import ldap_settings
from b2i_console.oidc_settings import oidc_options


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"B2I_LDAP_SERVER_URI": "http://ldap.example.com"}, "B2I_LDAP_SERVER_URI"),
        ({"B2I_LDAP_SERVER_URI": "ldap://ldap.example.com"}, "B2I_LDAP_USER_SEARCH_BASE"),
        (
            {
                "B2I_LDAP_SERVER_URI": "ldap://ldap.example.com",
                "B2I_LDAP_USER_SEARCH_BASE": "ou=people,dc=x",
                "B2I_LDAP_GROUP_SEARCH_BASE": "ou=groups,dc=x",
                "B2I_LDAP_GROUP_TYPE": "nestedMagic",
            },
            "B2I_LDAP_GROUP_TYPE",
        ),
        (
            {
                "B2I_LDAP_SERVER_URI": "ldap://x",
                "B2I_LDAP_USER_SEARCH_BASE": "o=x",
                "B2I_LDAP_TIMEOUT": "soon",
            },
            "B2I_LDAP_TIMEOUT",
        ),
    ],
)
def test_ldap_misconfiguration_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        ldap_settings()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {
                "B2I_OIDC_ISSUER": "http://idp.example.com",
                "B2I_OIDC_CLIENT_ID": "c",
                "B2I_OIDC_CLIENT_SECRET": "s",
            },
            "https://",
        ),
        ({"B2I_OIDC_ISSUER": "https://idp.example.com"}, "B2I_OIDC_CLIENT_ID"),
        (
            {"B2I_OIDC_ISSUER": "https://idp.example.com", "B2I_OIDC_CLIENT_ID": "c"},
            "B2I_OIDC_CLIENT_SECRET",
        ),
    ],
)
def test_oidc_misconfiguration_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        oidc_options()


def test_plain_http_is_allowed_only_to_a_provider_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("B2I_OIDC_ISSUER", "http://127.0.0.1:9000")
    monkeypatch.setenv("B2I_OIDC_CLIENT_ID", "c")
    monkeypatch.setenv("B2I_OIDC_CLIENT_SECRET", "s")
    assert oidc_options().issuer == "http://127.0.0.1:9000"
