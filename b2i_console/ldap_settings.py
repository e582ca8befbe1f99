"""LDAP sign-in settings (django-auth-ldap) from B2I_LDAP_* environment variables.

Off unless B2I_LDAP_SERVER_URI is set. Every network wait is bounded (B2I_LDAP_TIMEOUT) so an
unreachable directory answers the sign-in page within seconds, not a TCP time-out.
"""

from __future__ import annotations

from typing import Any

import ldap
from django.core.exceptions import ImproperlyConfigured
from django_auth_ldap.config import (
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPGroupType,
    LDAPSearch,
    PosixGroupType,
)

from b2i_console.env import env_bool, env_int, env_str

_GROUP_TYPES: dict[str, type[LDAPGroupType]] = {
    "groupOfNames": GroupOfNamesType,
    "groupOfUniqueNames": GroupOfUniqueNamesType,
    "posixGroup": PosixGroupType,
}


def ldap_enabled() -> bool:
    return bool(env_str("B2I_LDAP_SERVER_URI"))


def ldap_settings() -> dict[str, Any]:
    """The AUTH_LDAP_* settings, or {} when LDAP is not configured."""
    if not ldap_enabled():
        return {}
    uri = env_str("B2I_LDAP_SERVER_URI")
    if not uri.startswith(("ldap://", "ldaps://")):
        raise ImproperlyConfigured("B2I_LDAP_SERVER_URI must start with ldap:// or ldaps://")
    return {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_START_TLS": env_bool("B2I_LDAP_START_TLS", False),
        "AUTH_LDAP_BIND_DN": env_str("B2I_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": env_str("B2I_LDAP_BIND_PASSWORD"),
        "AUTH_LDAP_USER_SEARCH": _user_search(),
        "AUTH_LDAP_USER_ATTR_MAP": {
            "first_name": env_str("B2I_LDAP_ATTR_FIRST_NAME", "givenName"),
            "last_name": env_str("B2I_LDAP_ATTR_LAST_NAME", "sn"),
            "email": env_str("B2I_LDAP_ATTR_EMAIL", "mail"),
        },
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CONNECTION_OPTIONS": _connection_options(),
        **_group_settings(),
    }


def _user_search() -> LDAPSearch:
    base = env_str("B2I_LDAP_USER_SEARCH_BASE")
    if not base:
        raise ImproperlyConfigured("B2I_LDAP_USER_SEARCH_BASE is needed with B2I_LDAP_SERVER_URI")
    user_filter = env_str("B2I_LDAP_USER_FILTER", "(uid=%(user)s)")
    return LDAPSearch(base, ldap.SCOPE_SUBTREE, user_filter)


def _group_settings() -> dict[str, Any]:
    base = env_str("B2I_LDAP_GROUP_SEARCH_BASE")
    if not base:
        return {}
    kind = env_str("B2I_LDAP_GROUP_TYPE", "groupOfNames")
    if kind not in _GROUP_TYPES:
        raise ImproperlyConfigured(f"B2I_LDAP_GROUP_TYPE must be one of {', '.join(_GROUP_TYPES)}")
    group_filter = env_str("B2I_LDAP_GROUP_FILTER", f"(objectClass={kind})")
    return {
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(base, ldap.SCOPE_SUBTREE, group_filter),
        "AUTH_LDAP_GROUP_TYPE": _GROUP_TYPES[kind](),
        # Group names are read at every sign-in (never cached): the mappings must see a removal.
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
    }


def _connection_options() -> dict[int, Any]:
    timeout = env_int("B2I_LDAP_TIMEOUT", 5)
    options: dict[int, Any] = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    ca_file = env_str("B2I_LDAP_CA_FILE")
    if ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
    # Per-connection TLS options take effect only in a new TLS context, made last (dict order).
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    return options
