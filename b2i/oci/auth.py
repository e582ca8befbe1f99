"""Registry authentication: credentials, WWW-Authenticate challenges, the Bearer token flow.

`Authenticator` learns the registry's challenge from a 401, then pre-authorises requests:
Basic credentials, or a Bearer token fetched from the realm for the request's repository scopes
(cached per scope set until shortly before it expires). The realm is validated before any
credential is sent to it: https unless the registry itself is plain http, and an allowed address.

Registry clients share what they learn within the process (`PROCESS_AUTH`): a worker's builds
against Docker Hub or a Harbor each began with a 401 to learn the challenge and a token request
(two round trips, ~0.2-0.5 s to Docker Hub); a later build now starts with the token. Tokens
are keyed by registry, realm, service, scopes and a digest of the credentials, so they are only
ever reused for the same identity; a rejected token is forgotten by every client. The secret
check (`probe`) keeps its own memory: it must really ask the token service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from b2i.oci.errors import (
    AuthFailedError,
    InvalidReferenceError,
    OciError,
    ProtocolError,
)
from b2i.oci.netpolicy import check_host_allowed
from b2i.oci.references import HOST_PATTERN
from b2i.oci.transport import (
    FINAL_CONNECTION_ERRORS,
    TransientError,
    is_retryable,
    parse_retry_after,
    translate_transport_error,
)

DOCKER_HUB_CONFIG_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io")
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# Refresh a token this many seconds before the registry would reject it.
TOKEN_EXPIRY_MARGIN = 10.0


@dataclass(frozen=True)
class Credentials:
    """A username with its password or token (the password never appears in repr)."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        """Return the value of a Basic Authorization header."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """A parsed WWW-Authenticate challenge: scheme in lower case and its parameters."""

    scheme: str
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`; None if absent."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
    return Challenge(scheme.lower(), params)


def repository_scope(repository: str, actions: Sequence[str]) -> str:
    """Return the token scope `repository:<name>:<actions>`."""
    return f"repository:{repository}:{','.join(actions)}"


def _config_keys(registry_host: str) -> list[str]:
    host = registry_host.lower()
    if host in DOCKER_HUB_HOSTS:
        return list(DOCKER_HUB_CONFIG_KEYS)
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]


def _entry_credentials(entry: dict[str, object]) -> Credentials | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            username, sep, password = base64.b64decode(auth).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthFailedError(
                "docker config: an `auth` entry is not base64(user:pass)"
            ) from exc
        if sep:
            return Credentials(username, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None


def credentials_from_docker_config(path: str | Path, registry_host: str) -> Credentials | None:
    """Return the credentials a docker config.json holds for REGISTRY_HOST, if any."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise AuthFailedError(f"cannot read docker config {path}: {exc}") from exc
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        return None
    normalised = {str(key).lower().rstrip("/"): value for key, value in auths.items()}
    for key in _config_keys(registry_host):
        entry = normalised.get(key.lower().rstrip("/"))
        if isinstance(entry, dict):
            found = _entry_credentials(entry)
            if found is not None:
                return found
    return None


@dataclass
class _Token:
    value: str = field(repr=False)  # a bearer token: never in a repr, a traceback or a log
    expires_at: float


class AuthMemory:
    """Learned challenges per registry and unexpired tokens, least recently used out first."""

    def __init__(self, max_tokens: int = 256) -> None:
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._challenges: dict[tuple[str, str], Challenge] = {}
        self._tokens: OrderedDict[tuple[str, ...], _Token] = OrderedDict()

    def challenge(self, registry: tuple[str, str]) -> Challenge | None:
        with self._lock:
            return self._challenges.get(registry)

    def remember_challenge(self, registry: tuple[str, str], challenge: Challenge) -> None:
        with self._lock:
            self._challenges[registry] = challenge

    def forget_challenge(self, registry: tuple[str, str]) -> None:
        with self._lock:
            self._challenges.pop(registry, None)

    def token(self, key: tuple[str, ...]) -> _Token | None:
        """Return the token kept under KEY unless it (nearly) expired."""
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_at <= time.monotonic():
                self._tokens.pop(key, None)
                return None
            self._tokens.move_to_end(key)
            return token

    def keep_token(self, key: tuple[str, ...], token: _Token) -> None:
        with self._lock:
            self._tokens[key] = token
            self._tokens.move_to_end(key)
            while len(self._tokens) > self.max_tokens:
                self._tokens.popitem(last=False)

    def forget_token(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._challenges.clear()
            self._tokens.clear()


PROCESS_AUTH = AuthMemory()


class Authenticator:
    """Authorise requests to one registry; learns Basic or Bearer from the first 401."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        registry_scheme: str,
        registry_host: str,
        credentials: Credentials | None,
        allowed_networks: Sequence[str] = (),
        memory: AuthMemory | None = None,
    ) -> None:
        self.client = client
        self.registry_scheme = registry_scheme
        self.registry_host = registry_host
        self.credentials = credentials
        self.allowed_networks = tuple(allowed_networks)
        self.memory = memory if memory is not None else AuthMemory()
        self.challenge = self.memory.challenge((registry_scheme, registry_host))
        # A challenge remembered from another client is a hint: if its token service fails,
        # the request goes without Authorization and the registry's 401 teaches the current one.
        self._hinted = self.challenge is not None
        self._identity = _identity_of(credentials)

    def authorization(self, scopes: Sequence[str]) -> str | None:
        """Return the Authorization header value for SCOPES, or None (anonymous/unknown)."""
        if self.challenge is None:
            return None
        if self.challenge.scheme == "basic":
            return self.credentials.basic_header() if self.credentials else None
        if self.challenge.scheme == "bearer":
            key = self._token_key(self.challenge, scopes)
            token = self.memory.token(key)
            if token is None:
                try:
                    token = self._fetch_token(self.challenge, tuple(sorted(scopes)))
                except (OciError, TransientError):
                    if not self._hinted:
                        raise
                    self._drop_hint()
                    return None
                self.memory.keep_token(key, token)
            return f"Bearer {token.value}"
        raise AuthFailedError(
            f"{self.registry_host} asks for unsupported authentication {self.challenge.scheme!r}"
        )

    def learn(self, response: httpx.Response, scopes: Sequence[str]) -> None:
        """Take the challenge of a 401 answer and forget the token it rejected."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        if challenge is None:
            raise ProtocolError(
                f"{self.registry_host} answered 401 without a WWW-Authenticate challenge",
                status=401,
            )
        rejected = self.challenge
        self.challenge, self._hinted = challenge, False
        self.memory.remember_challenge((self.registry_scheme, self.registry_host), challenge)
        for known in (rejected, challenge):  # the token it rejected: forgotten by every client
            if known is not None:
                self.memory.forget_token(self._token_key(known, scopes))

    def _drop_hint(self) -> None:
        self.memory.forget_challenge((self.registry_scheme, self.registry_host))
        self.challenge, self._hinted = None, False

    def _token_key(self, challenge: Challenge, scopes: Sequence[str]) -> tuple[str, ...]:
        params = challenge.params
        where = (self.registry_scheme, self.registry_host, params.get("realm", ""))
        return (*where, params.get("service", ""), self._identity, *sorted(scopes))

    def _realm_url(self, challenge: Challenge) -> str:
        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        allowed_schemes = ("https", "http") if self.registry_scheme == "http" else ("https",)
        if parts.scheme not in allowed_schemes or not parts.hostname:
            raise AuthFailedError(
                f"{self.registry_host} sent token realm {realm!r}: it must be an https URL "
                "(http only for a plain-http registry); credentials were not sent"
            )
        try:
            check_host_allowed(parts.netloc.rpartition("@")[2], self.allowed_networks)
        except OciError as exc:
            exc.message = f"token realm of {self.registry_host}: {exc.message}"
            raise
        return realm

    def _fetch_token(self, challenge: Challenge, scopes: tuple[str, ...]) -> _Token:
        realm = self._realm_url(challenge)
        params: list[tuple[str, str | int | float | bool | None]] = []
        if "service" in challenge.params:
            params.append(("service", challenge.params["service"]))
        params.extend(("scope", scope) for scope in scopes)
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        try:
            response = self.client.get(realm, params=params, headers=headers)
        except httpx.TransportError as exc:
            error = translate_transport_error(exc, f"token service {realm}")
            if isinstance(error, FINAL_CONNECTION_ERRORS):
                raise error from exc
            raise TransientError(error) from exc
        if is_retryable(response):
            # A flaky token service is retried like the registry itself.
            raise TransientError(
                AuthFailedError(
                    f"the token service of {self.registry_host} answered {response.status_code}",
                    status=response.status_code,
                ),
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code in (401, 403):
            who = f"user {self.credentials.username!r}" if self.credentials else "anonymous access"
            raise AuthFailedError(
                f"the token service of {self.registry_host} refused {who}: "
                "check the username and password or token",
                status=response.status_code,
            )
        return self._parse_token(response)

    def _parse_token(self, response: httpx.Response) -> _Token:
        try:
            response.raise_for_status()
            body = response.json()
            value = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or 60)
        except (httpx.HTTPStatusError, ValueError, AttributeError, TypeError) as exc:
            raise AuthFailedError(
                f"the token service of {self.registry_host} answered "
                f"{response.status_code} without a usable token",
                status=response.status_code,
            ) from exc
        if not isinstance(value, str) or not value:
            raise AuthFailedError(f"the token service of {self.registry_host} sent no token")
        expires = time.monotonic() + max(lifetime - TOKEN_EXPIRY_MARGIN, 1.0)
        return _Token(value, expires)


def _identity_of(credentials: Credentials | None) -> str:
    """A digest naming the credentials in token keys (never the password itself)."""
    if credentials is None:
        return "anonymous"
    raw = f"{credentials.username}\0{credentials.password}".encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def check_registry_address(address: str) -> tuple[str, str]:
    """Split `https://host[:port]` (scheme optional, https default) into (scheme, host)."""
    text = address.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError as exc:
        raise InvalidReferenceError(f"registry address {address!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidReferenceError(f"registry address {address!r}: use http:// or https://")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidReferenceError(
            f"registry address {address!r}: expected scheme://host[:port] without credentials"
        )
    if parts.path not in ("", "/", "/v2", "/v2/"):
        raise InvalidReferenceError(
            f"registry address {address!r} has a path; give only scheme://host[:port]"
        )
    if not HOST_PATTERN.match(parts.netloc):
        raise InvalidReferenceError(
            f"registry address {address!r}: the host name is not valid (ASCII letters, digits, "
            "'-' and '.', or an IP address)"
        )
    return parts.scheme, parts.netloc.lower()
