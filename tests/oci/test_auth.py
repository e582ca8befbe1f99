"""Challenges, docker config credentials, token realm validation and token caching."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from b2i.oci.auth import Credentials, credentials_from_docker_config, parse_challenge
from b2i.oci.errors import AuthFailedError, BlockedAddressError
from b2i.oci.registry import RegistryClient
from tests.fixtures.registry import HTPASSWD_USERS, Registry

LOOPBACK = ("127.0.0.0/8",)


def test_bearer_challenge_keeps_commas_inside_quotes() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:team/app:pull,push"'
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:team/app:pull,push",
    }


def test_basic_and_unquoted_and_escaped_challenges() -> None:
    basic = parse_challenge('Basic realm="Registry \\"Realm\\""')
    assert basic is not None and basic.scheme == "basic"
    assert basic.params["realm"] == 'Registry "Realm"'
    bare = parse_challenge("Bearer realm=https://a/token, service=svc")
    assert bare is not None and bare.params == {"realm": "https://a/token", "service": "svc"}
    assert parse_challenge("") is None
    assert parse_challenge(None) is None


def test_credentials_repr_hides_the_password() -> None:
    credentials = Credentials("robot$ci", "s3cret-value")
    assert "s3cret-value" not in repr(credentials)
    assert (
        credentials.basic_header() == "Basic " + base64.b64encode(b"robot$ci:s3cret-value").decode()
    )


def write_config(tmp_path: Path, auths: dict[str, object]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return path


def test_docker_config_auth_field_and_hub_aliases(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"hubuser:hubpass:with-colon").decode()
    path = write_config(tmp_path, {"https://index.docker.io/v1/": {"auth": encoded}})
    for host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        assert credentials_from_docker_config(path, host) == Credentials(
            "hubuser", "hubpass:with-colon"
        )
    assert credentials_from_docker_config(path, "quay.io") is None


def test_docker_config_username_password_and_host_with_port(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "https://registry.example.com:5000": {"username": "u", "password": "p"},
            "other.example.com": {"auth": base64.b64encode(b"o:q").decode()},
        },
    )
    assert credentials_from_docker_config(path, "registry.example.com:5000") == Credentials(
        "u", "p"
    )
    assert credentials_from_docker_config(path, "OTHER.example.com") == Credentials("o", "q")
    assert credentials_from_docker_config(path, "registry.example.com") is None


def test_broken_docker_config_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(AuthFailedError, match="cannot read docker config"):
        credentials_from_docker_config(path, "r.example.com")
    bad = write_config(tmp_path, {"r.example.com": {"auth": "%%%not-base64"}})
    with pytest.raises(AuthFailedError, match="not base64"):
        credentials_from_docker_config(bad, "r.example.com")
    with pytest.raises(AuthFailedError):
        credentials_from_docker_config(tmp_path / "missing.json", "r.example.com")


class ChallengingRegistry:
    """Answers every request with 401 and a Bearer challenge pointing at REALM."""

    def __init__(self, realm: str) -> None:
        self.realm = realm
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                self.send_response(401)
                self.send_header("WWW-Authenticate", f'Bearer realm="{outer.realm}",service="x"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def challenging() -> Iterator[ChallengingRegistry]:
    server = ChallengingRegistry("")
    yield server
    server.close()


@pytest.mark.parametrize(
    ("scheme", "realm", "error", "fragment"),
    [
        ("https", "http://127.0.0.1:1/token", AuthFailedError, "must be an https URL"),
        ("http", "ftp://127.0.0.1/token", AuthFailedError, "must be an https URL"),
        ("http", "http://169.254.169.254/token", BlockedAddressError, "link-local"),
        ("http", "http://[::ffff:169.254.169.254]/token", BlockedAddressError, "link-local"),
        ("http", "http://10.1.2.3/token", BlockedAddressError, "private"),
    ],
)
def test_token_realm_is_validated_before_credentials_are_sent(
    challenging: ChallengingRegistry,
    scheme: str,
    realm: str,
    error: type[Exception],
    fragment: str,
) -> None:
    """The registry's realm is checked; for https the challenge comes from the auth module."""
    challenging.realm = realm
    client = RegistryClient(
        challenging.host,
        scheme="http",
        credentials=Credentials("u", "p"),
        allowed_networks=LOOPBACK,
    )
    # An https registry must not send us to an http realm: same check, simulated scheme.
    client.auth.registry_scheme = scheme
    with client, pytest.raises(error) as caught:
        client.get_manifest("a/b", "v1")
    assert fragment in str(caught.value)
    assert "token realm" in str(caught.value)
    assert len(challenging.requests) == 1


def pusher_client(token_registry: Registry, **options: Any) -> RegistryClient:
    """A client of the token registry with the push-allowed user's credentials."""
    return RegistryClient(
        token_registry.host,
        scheme="http",
        credentials=Credentials("pusher", token_registry.users["pusher"]),
        allowed_networks=LOOPBACK,
        **options,
    )


def test_expired_token_is_fetched_again(token_registry: Registry) -> None:
    assert token_registry.token_server is not None
    with pusher_client(token_registry) as client:
        client.blob_exists("auth/expiry", "sha256:" + "3" * 64)
        before = len(token_registry.token_server.requests)
        client.blob_exists("auth/expiry", "sha256:" + "3" * 64)
        assert len(token_registry.token_server.requests) == before
        for token in client.auth.memory._tokens.values():
            token.expires_at = 0.0
        client.blob_exists("auth/expiry", "sha256:" + "3" * 64)
        assert len(token_registry.token_server.requests) == before + 1


def test_cached_bearer_tokens_stay_out_of_reprs(token_registry: Registry) -> None:
    with pusher_client(token_registry) as client:
        client.blob_exists("auth/repr", "sha256:" + "6" * 64)
        tokens = [token.value for token in client.auth.memory._tokens.values()]
        assert tokens and all(len(token) > 20 for token in tokens)
        shown = repr(client.auth.memory._tokens)
    assert not any(token in shown for token in tokens)


def test_token_request_carries_service_scopes_and_user(token_registry: Registry) -> None:
    assert token_registry.token_server is not None
    with pusher_client(token_registry) as client:
        before = len(token_registry.token_server.requests)
        client.mount_blob("auth/target", "sha256:" + "4" * 64, "auth/source")
        request = token_registry.token_server.requests[before]
    path = str(request["path"])
    assert "service=b2i-test-registry" in path
    assert "scope=repository%3Aauth%2Ftarget%3Apull%2Cpush" in path
    assert "scope=repository%3Aauth%2Fsource%3Apull" in path
    assert request["user"] == "pusher"


def test_flaky_token_service_is_retried(token_registry: Registry) -> None:
    """The realm is pointed at a fault-injecting proxy in front of the real token server."""
    from b2i.oci.auth import Challenge
    from b2i.oci.events import Event
    from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy

    assert token_registry.token_server is not None
    events: list[Event] = []
    plan = FaultPlan(script=["503", "reset"])
    with FaultyProxy(token_registry.token_server.realm.rsplit("/", 1)[0], plan) as proxy:
        client = pusher_client(token_registry, on_event=events.append, retry_base_delay=0.001)
        client.auth.challenge = Challenge(
            "bearer", {"realm": f"http://{proxy.host}/token", "service": "b2i-test-registry"}
        )
        with client:
            assert client.blob_exists("auth/flaky", "sha256:" + "5" * 64) is None
    assert [fault for _, _, fault in proxy.faults] == ["503", "reset"]
    assert [e.kind for e in events] == ["retry", "retry"]


def test_a_wrong_password_says_so_first(htpasswd_registry: Registry) -> None:
    """A push with a wrong password fails with words a build log's reader acts on, not only
    "answered 401 to HEAD blob sha256:…" (as seen in the issue 14 walk)."""
    assert "alice" in HTPASSWD_USERS
    wrong = Credentials("alice", "not-the-password")
    with (
        RegistryClient(
            htpasswd_registry.host,
            scheme="http",
            credentials=wrong,
            allowed_networks=["127.0.0.0/8"],
        ) as client,
        pytest.raises(AuthFailedError) as failure,
    ):
        client.blob_exists("walk/app", "sha256:" + "0" * 64)
    message = failure.value.message  # as the build log shows it (after "Build failed: ")
    assert message.startswith(
        f"{htpasswd_registry.host} rejected the username or password of alice"
    ), message
    assert "check the password or token" in message and "answered 401" in message
