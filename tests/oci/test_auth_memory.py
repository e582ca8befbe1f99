"""Registry clients of one process share learned challenges and tokens, per identity.

A worker builds many images against the same registries: each build used to begin with a 401
(to learn the challenge) and a token request. Against the real token-auth registry.
"""

from __future__ import annotations

from typing import Any

import httpx

from b2i.oci.auth import PROCESS_AUTH, Challenge, Credentials
from b2i.oci.probe import probe_registry
from b2i.oci.registry import RegistryClient
from tests.fixtures.registry import Registry

LOOPBACK = ["127.0.0.0/8"]
MISSING = "sha256:" + "7" * 64


def client_as(registry: Registry, user: str) -> RegistryClient:
    credentials = Credentials(user, registry.users[user])
    return RegistryClient(
        registry.host, scheme="http", credentials=credentials, allowed_networks=LOOPBACK
    )


def statuses(client: RegistryClient) -> list[int]:
    """Record the status of every answer of the registry (not its token service) from now on."""
    seen: list[int] = []

    def record(response: httpx.Response) -> None:
        if response.request.url.netloc.decode() == client.host:
            seen.append(response.status_code)

    client.http.event_hooks["response"].append(record)
    return seen


def token_requests(registry: Registry) -> list[dict[str, Any]]:
    assert registry.token_server is not None
    return registry.token_server.requests


def test_a_later_client_starts_with_the_token_an_earlier_one_fetched(
    token_registry: Registry,
) -> None:
    with client_as(token_registry, "pusher") as first:
        assert first.blob_exists("memory/app", MISSING) is None
    asked = len(token_requests(token_registry))

    with client_as(token_registry, "pusher") as later:
        seen = statuses(later)
        assert later.blob_exists("memory/app", MISSING) is None

    assert seen == [404]  # no 401 round trip first
    assert len(token_requests(token_registry)) == asked  # and no token request


def test_tokens_are_never_reused_for_another_identity(token_registry: Registry) -> None:
    with client_as(token_registry, "pusher") as pusher:
        pusher.blob_exists("memory/app", MISSING)
    asked = len(token_requests(token_registry))

    with client_as(token_registry, "reader") as reader:
        seen = statuses(reader)
        assert reader.blob_exists("memory/app", MISSING) is None

    assert seen == [404]  # the challenge is shared: the registry's, not the user's
    assert [request["user"] for request in token_requests(token_registry)[asked:]] == ["reader"]


def test_a_stale_remembered_challenge_falls_back_to_asking_the_registry(
    token_registry: Registry,
) -> None:
    gone = Challenge("bearer", {"realm": "http://127.0.0.1:9/token", "service": "old"})
    PROCESS_AUTH.remember_challenge(("http", token_registry.host), gone)

    with client_as(token_registry, "pusher") as client:
        seen = statuses(client)
        assert client.blob_exists("memory/app", MISSING) is None

    assert seen == [401, 404]  # asked without a token, learned the real challenge, got in
    learned = PROCESS_AUTH.challenge(("http", token_registry.host))
    assert learned is not None and learned.params["service"] == "b2i-test-registry"


def test_a_rejected_token_is_forgotten_for_every_client(token_registry: Registry) -> None:
    with client_as(token_registry, "pusher") as first:
        first.blob_exists("memory/app", MISSING)
    for token in PROCESS_AUTH._tokens.values():
        token.value = "forged"  # e.g. revoked by the registry meanwhile

    with client_as(token_registry, "pusher") as later:
        seen = statuses(later)
        assert later.blob_exists("memory/app", MISSING) is None

    assert seen == [401, 404]
    assert all(token.value != "forged" for token in PROCESS_AUTH._tokens.values())


def test_the_secret_check_always_asks_the_token_service(token_registry: Registry) -> None:
    with client_as(token_registry, "pusher") as client:
        client.blob_exists("memory/app", MISSING)
    asked = len(token_requests(token_registry))

    result = probe_registry(
        f"http://{token_registry.host}",
        "pusher",
        token_registry.users["pusher"],
        "memory/app",
        allowed_networks=LOOPBACK,
    )

    assert result.login_ok and result.push_ok
    assert len(token_requests(token_registry)) > asked
