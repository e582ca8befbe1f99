"""probe_registry against the real registry fixtures: login and push reported separately."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from b2i.oci.probe import probe_registry
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def leftover_uploads(registry: Registry, repository: str) -> list[Path]:
    """Uploads still open: registry 2.8 keeps `hashstates` of a cancelled one, not `startedat`."""
    uploads = registry.workdir / "data/docker/registry/v2/repositories" / repository / "_uploads"
    return list(uploads.glob("*/startedat"))


def test_leftover_upload_check_sees_an_open_upload(registry: Registry) -> None:
    started = httpx.post(f"{registry.url}/v2/probe/control/blobs/uploads/")
    assert started.status_code == 202
    assert len(leftover_uploads(registry, "probe/control")) == 1


def test_open_registry_allows_login_and_push_and_cancels_the_upload(registry: Registry) -> None:
    result = probe_registry(registry.url, None, None, "probe/open", allowed_networks=LOOPBACK)
    assert (result.login_ok, result.push_ok) == (True, True)
    assert "probe/open" in result.push_message
    assert leftover_uploads(registry, "probe/open") == []


def test_htpasswd_right_password_logs_in_and_may_push(htpasswd_registry: Registry) -> None:
    password = htpasswd_registry.users["alice"]
    result = probe_registry(
        htpasswd_registry.url, "alice", password, "probe/basic", allowed_networks=LOOPBACK
    )
    assert (result.login_ok, result.push_ok) == (True, True), result
    assert leftover_uploads(htpasswd_registry, "probe/basic") == []


def test_htpasswd_wrong_password_fails_login_and_skips_push(htpasswd_registry: Registry) -> None:
    result = probe_registry(
        htpasswd_registry.url, "alice", "wrong", "probe/basic", allowed_networks=LOOPBACK
    )
    assert result.login_ok is False
    assert result.login_code == "registry:auth-failed"
    assert "rejected" in result.login_message
    assert result.push_ok is None


def test_htpasswd_without_credentials_says_they_are_needed(htpasswd_registry: Registry) -> None:
    result = probe_registry(htpasswd_registry.url, None, None, "probe/x", allowed_networks=LOOPBACK)
    assert result.login_ok is False
    assert "requires a username and password" in result.login_message


def test_token_pusher_logs_in_and_may_push(token_registry: Registry) -> None:
    result = probe_registry(
        token_registry.url,
        "pusher",
        token_registry.users["pusher"],
        "probe/token",
        allowed_networks=LOOPBACK,
    )
    assert (result.login_ok, result.push_ok) == (True, True), result


def test_token_pull_only_user_logs_in_but_push_is_refused(token_registry: Registry) -> None:
    result = probe_registry(
        token_registry.url,
        "reader",
        token_registry.users["reader"],
        "probe/token",
        allowed_networks=LOOPBACK,
    )
    assert result.login_ok is True
    assert result.push_ok is False
    assert result.push_code == "registry:push-denied"
    assert "may not push to probe/token" in result.push_message


def test_token_wrong_password_is_refused_by_the_token_service(token_registry: Registry) -> None:
    result = probe_registry(
        token_registry.url, "pusher", "nope", "probe/token", allowed_networks=LOOPBACK
    )
    assert result.login_ok is False
    assert result.login_code == "registry:auth-failed"
    assert "token service" in result.login_message


def test_closed_port_is_reported_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = probe_registry(
        f"http://127.0.0.1:{port}", None, None, "a/b", allowed_networks=LOOPBACK
    )
    assert result.login_ok is False
    assert result.login_code == "registry:unreachable"
    assert "cannot connect" in result.login_message


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A socket that accepts connections (via the backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_silent_registry_times_out_with_a_clear_code(silent_server: int) -> None:
    result = probe_registry(
        f"http://127.0.0.1:{silent_server}",
        None,
        None,
        "a/b",
        allowed_networks=LOOPBACK,
        timeout=0.5,
    )
    assert result.login_ok is False
    assert result.login_code == "registry:timeout"


def test_self_signed_tls_is_refused_by_default(tls_registry: Registry) -> None:
    result = probe_registry(tls_registry.url, None, None, "probe/tls", allowed_networks=LOOPBACK)
    assert result.login_ok is False
    assert result.login_code == "registry:tls"
    assert "CA certificate" in result.login_message


def test_self_signed_tls_is_accepted_with_its_ca(tls_registry: Registry) -> None:
    assert tls_registry.ca_bundle is not None
    result = probe_registry(
        tls_registry.url,
        None,
        None,
        "probe/tls",
        ca_bundle=tls_registry.ca_bundle.read_text(),
        allowed_networks=LOOPBACK,
    )
    assert (result.login_ok, result.push_ok) == (True, True), result


def test_self_signed_tls_is_accepted_with_skip_verify(tls_registry: Registry) -> None:
    result = probe_registry(
        tls_registry.url, None, None, "probe/tls", verify=False, allowed_networks=LOOPBACK
    )
    assert (result.login_ok, result.push_ok) == (True, True), result


def test_metadata_address_is_refused_even_when_allowed() -> None:
    result = probe_registry(
        "http://169.254.169.254", None, None, "a/b", allowed_networks=("169.254.0.0/16",)
    )
    assert result.login_ok is False
    assert result.login_code == "registry:blocked-address"


def test_hostname_resolving_to_metadata_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake_dns(host: str, *args: object, **kwargs: object) -> object:
        if host == "metadata.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    result = probe_registry("https://metadata.example.test", "u", "p", "a/b")
    assert result.login_code == "registry:blocked-address"
    assert "169.254.169.254" in result.login_message


def test_loopback_is_refused_unless_allowed(registry: Registry) -> None:
    result = probe_registry(registry.url, None, None, "a/b", allowed_networks=())
    assert result.login_code == "registry:blocked-address"
    assert "B2I_ALLOWED_REGISTRY_NETWORKS" in result.login_message


def test_dns_failure_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    result = probe_registry("registry.example.test", "u", "p", "a/b")
    assert result.login_ok is False
    assert result.login_code == "registry:dns-failed"


@pytest.mark.parametrize(
    ("address", "repository"),
    [
        ("ftp://registry.example.test", "a/b"),
        ("https://h/some/path", "a/b"),
        ("h", "Bad Name"),
        ("https://[::1", "a/b"),
        ("https://user:pw@h", "a/b"),
        ("https://h:99999", "a/b"),
        ("https://h#fragment", "a/b"),
        ("exa mple.com", "a/b"),
        ("https://\u00e9xample.com", "a/b"),
        ("", "a/b"),
    ],
)
def test_bad_address_or_repository_is_a_clear_error(address: str, repository: str) -> None:
    result = probe_registry(address, None, None, repository)
    assert result.login_ok is False
    assert result.login_code == "reference:invalid"


def test_docker_hub_address_is_probed_on_its_api_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """docker.io is checked as registry-1.docker.io (resolved here to a blocked address)."""
    looked_up: list[str] = []

    def fake_dns(host: str, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.1.1", 443))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    result = probe_registry("docker.io", "u", "p", "team/app")
    assert looked_up == ["registry-1.docker.io"]
    assert result.login_code == "registry:blocked-address"
