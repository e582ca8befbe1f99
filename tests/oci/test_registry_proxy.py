"""The registry client through a real outbound proxy (tests/fixtures/forward_proxy.py) in front
of real registries: pushes and pulls go through it (forwarded for http://, CONNECT for
https://), NO_PROXY bypasses it, blocked hosts are refused before the proxy hears of them, and
a proxy that wants credentials or is gone fails with a clear code and no credentials shown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest

from b2i.oci.errors import (
    BlockedAddressError,
    OciError,
    ProxyAuthError,
    ProxyRefusedError,
    ProxyUnreachableError,
    TlsError,
)
from b2i.oci.proxy import ProxyConfig, proxy_config
from b2i.oci.registry import RegistryClient
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.oci.test_netpolicy import fake_dns
from tests.oci.test_registry_client import LOOPBACK, blob, push_image, upload

# The registries listen on loopback, which is never proxied by default: these tests opt in
# with an explicit, empty bypass list.
THROUGH_EVERYTHING = ""
NO_BLOB = "sha256:" + "0" * 64
E = TypeVar("E", bound=OciError)


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


def via(url: str, no_proxy: str = THROUGH_EVERYTHING) -> ProxyConfig:
    return proxy_config({}, proxy=url, no_proxy=no_proxy)


def proxied_client(
    registry: Registry, config: ProxyConfig, host: str | None = None, **options: object
) -> RegistryClient:
    ca = registry.ca_bundle.read_text() if registry.ca_bundle else None
    return RegistryClient(
        host or registry.host,
        scheme=registry.scheme,
        ca_bundle=ca,
        allowed_networks=LOOPBACK,
        retry_base_delay=0.01,
        proxy=config,
        **options,  # type: ignore[arg-type]
    )


def failure(client: RegistryClient, kind: type[E]) -> E:
    """Return the error of KIND that asking CLIENT for a blob raises."""
    with client, pytest.raises(kind) as caught:
        client.blob_exists("any/repo", NO_BLOB)
    return caught.value


def test_push_and_pull_of_a_plain_http_registry_go_through_the_proxy(
    registry: Registry, proxy: ForwardProxy
) -> None:
    with proxied_client(registry, via(proxy.url)) as client:
        digest = push_image(client, "proxy/plain", "v1")
        pulled = client.get_manifest("proxy/plain", "v1")
    assert pulled.digest == digest
    relayed = proxy.relayed_to(registry.host)
    methods = {method for method, _ in relayed}
    assert {"POST", "PUT", "GET"} <= methods, relayed
    assert ("PUT", f"http://{registry.host}/v2/proxy/plain/manifests/v1") in relayed


def test_an_https_registry_is_reached_through_a_connect_tunnel(
    tls_registry: Registry, proxy: ForwardProxy
) -> None:
    with proxied_client(tls_registry, via(proxy.url)) as client:
        data, digest = blob(2000, seed=41)
        upload(client, "proxy/tls", data, digest)
        assert client.blob_exists("proxy/tls", digest) == len(data)
    assert ("CONNECT", tls_registry.host) in proxy.relayed_to(tls_registry.host)


def test_hosts_in_no_proxy_and_loopback_by_default_bypass_the_proxy(
    registry: Registry, proxy: ForwardProxy
) -> None:
    listed = via(proxy.url, no_proxy=f"example.com,{registry.host}")
    default = proxy_config({"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url})
    for config in (listed, default):
        with proxied_client(registry, config) as client:
            push_image(client, "proxy/direct", "v1")
    assert proxy.log.connections == 0


def test_a_metadata_address_is_refused_before_any_proxy_connection(
    registry: Registry, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"metadata.example.test": ["169.254.169.254"]})
    hosts = ("169.254.169.254", "metadata.example.test:5000", "[::ffff:169.254.169.254]:80")
    for host in hosts:
        error = failure(proxied_client(registry, via(proxy.url), host=host), BlockedAddressError)
        assert "link-local or cloud metadata" in error.message
    assert proxy.log.connections == 0


def test_a_private_host_outside_the_allowed_networks_is_refused_before_the_proxy(
    registry: Registry, proxy: ForwardProxy
) -> None:
    client = RegistryClient(registry.host, scheme="http", allowed_networks=(), proxy=via(proxy.url))
    with client, pytest.raises(BlockedAddressError):
        client.blob_exists("any/repo", NO_BLOB)
    assert proxy.log.connections == 0


def test_a_token_realm_goes_through_the_proxy_and_is_checked_too(
    token_registry: Registry, proxy: ForwardProxy
) -> None:
    from b2i.oci.auth import Credentials

    assert token_registry.token_server is not None
    config = via(proxy.url)
    credentials = Credentials("pusher", token_registry.users["pusher"])
    with proxied_client(token_registry, config, credentials=credentials) as client:
        push_image(client, "proxy/token", "v1")
    realm_host = token_registry.token_server.realm.split("://", 1)[1].split("/", 1)[0]
    assert proxy.relayed_to(realm_host), "the token request should be proxied as well"


@pytest.mark.parametrize("tls", [False, True], ids=["forwarded", "connect"])
def test_a_proxy_asking_for_credentials_fails_clearly_and_is_not_retried(
    tls: bool, registry: Registry, tls_registry: Registry
) -> None:
    target = tls_registry if tls else registry
    with ForwardProxy(credentials=("alice", "proxy-pass")) as strict:
        wrong = strict.url.replace("proxy-pass", "wrong-pass")
        error = failure(proxied_client(target, via(wrong)), ProxyAuthError)
        assert error.code == "registry:proxy-auth-failed"
        assert "407" in error.message and f"http://***@{strict.address}" in error.message
        assert "wrong-pass" not in str(error) and "alice" not in str(error)
        assert len(strict.log.rejected) == 1  # not retried
        assert strict.log.proxy_authorizations  # the credentials were offered

        with proxied_client(target, via(strict.url)) as client:
            assert client.blob_exists("any/repo", NO_BLOB) is None
        assert strict.relayed_to(target.host)


def test_a_dead_proxy_is_a_clear_error_without_its_credentials(registry: Registry) -> None:
    dead = f"http://alice:proxy-pass@127.0.0.1:{free_port()}"
    error = failure(proxied_client(registry, via(dead), retries=1), ProxyUnreachableError)
    assert error.code == "registry:proxy-unreachable"
    assert "cannot connect to the proxy http://***@127.0.0.1:" in error.message
    assert "proxy-pass" not in str(error) and "alice" not in str(error)


def test_a_proxy_refusing_a_registry_by_policy_is_its_own_error(tls_registry: Registry) -> None:
    with ForwardProxy(forbidden=("127.0.0.1",)) as strict:
        error = failure(proxied_client(tls_registry, via(strict.url)), ProxyRefusedError)
        assert error.code == "registry:proxy-refused"
        assert "403" in error.message
        assert len(strict.log.rejected) == 1


def test_the_proxy_answering_gateway_errors_is_retried_like_the_registry(
    tls_registry: Registry,
) -> None:
    """A CONNECT to a registry the proxy cannot reach (502) is retried, then reported."""
    port = free_port()
    with ForwardProxy() as server:
        client = RegistryClient(
            f"127.0.0.1:{port}",
            allowed_networks=LOOPBACK,
            retries=2,
            retry_base_delay=0.01,
            proxy=via(server.url),
        )
        with client, pytest.raises(OciError) as caught:
            client.blob_exists("any/repo", NO_BLOB)
        assert caught.value.code == "registry:unreachable"
        assert "502" in caught.value.message
        assert [status for status, _ in server.log.rejected] == [502, 502, 502]


def test_a_dns_name_is_resolved_and_checked_then_sent_to_the_proxy_by_name(
    registry: Registry, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy is asked for the name (proxies filter by name), after our own check."""
    fake_dns(monkeypatch, {"registry.example.test": ["127.0.0.1"]})
    host = f"registry.example.test:{registry.port}"
    with proxied_client(registry, via(proxy.url), host=host) as client:
        assert client.blob_exists("any/repo", NO_BLOB) is None
    assert proxy.relayed_to(f"http://{host}/v2/")


def test_an_https_proxy_is_trusted_like_registries_through_ssl_cert_file(
    registry: Registry, tls_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS to the proxy itself uses the process's trust (SSL_CERT_FILE), not certifi only."""
    certificate = (tls_registry.workdir / "tls.crt", tls_registry.workdir / "tls.key")
    with ForwardProxy(tls=certificate) as tls_proxy:
        assert tls_proxy.url.startswith("https://")
        error = failure(proxied_client(registry, via(tls_proxy.url), retries=0), TlsError)
        assert error.code == "registry:tls"
        assert f"TLS with the proxy {tls_proxy.url}" in error.message
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        with proxied_client(registry, via(tls_proxy.url)) as client:
            assert client.blob_exists("any/repo", NO_BLOB) is None
        assert tls_proxy.relayed_to(registry.host)
