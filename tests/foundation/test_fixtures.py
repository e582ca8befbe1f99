"""Each real-service fixture starts and behaves like the real thing."""

import base64
import ssl

import httpx
import pytest
import redis

from tests.fixtures.registry import Registry


def test_redis_fixture_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("b2i-test", "value")
    assert client.get("b2i-test") == b"value"


def test_open_registry_accepts_anonymous_catalog(registry: Registry) -> None:
    response = httpx.get(f"{registry.url}/v2/_catalog")
    assert response.status_code == 200
    assert "repositories" in response.json()


def test_htpasswd_registry_checks_passwords(htpasswd_registry: Registry) -> None:
    url = f"{htpasswd_registry.url}/v2/"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("alice", "wrong")).status_code == 401
    assert httpx.get(url, auth=("alice", htpasswd_registry.users["alice"])).status_code == 200


def bearer_token(registry: Registry, user: str, scope: str) -> str:
    challenge = httpx.get(f"{registry.url}/v2/").headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert registry.token_server is not None
    response = httpx.get(
        registry.token_server.realm,
        params={"service": "b2i-test-registry", "scope": scope},
        auth=(user, registry.users[user]),
    )
    response.raise_for_status()
    return str(response.json()["token"])


def test_token_registry_honours_issued_scopes(token_registry: Registry) -> None:
    pusher = bearer_token(token_registry, "pusher", "repository:demo/app:pull,push")
    reader = bearer_token(token_registry, "reader", "repository:demo/app:pull,push")
    uploads = f"{token_registry.url}/v2/demo/app/blobs/uploads/"
    started = httpx.post(uploads, headers={"Authorization": f"Bearer {pusher}"})
    assert started.status_code == 202
    refused = httpx.post(uploads, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 401


def test_token_server_refuses_wrong_password(token_registry: Registry) -> None:
    assert token_registry.token_server is not None
    basic = base64.b64encode(b"pusher:nope").decode()
    response = httpx.get(
        token_registry.token_server.realm, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 401


def test_tls_registry_needs_its_ca(tls_registry: Registry) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{tls_registry.url}/v2/")
    assert (
        httpx.get(
            f"{tls_registry.url}/v2/",
            verify=ssl.create_default_context(cafile=str(tls_registry.ca_bundle)),
        ).status_code
        == 200
    )
