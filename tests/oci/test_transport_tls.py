"""The verifying TLS context loads its trusted CAs at the first handshake, once per process:
plain HTTP never pays for them, HTTPS still verifies, with the trust httpx would use
($SSL_CERT_FILE, else $SSL_CERT_DIR, else certifi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2i.oci.errors import TlsError
from b2i.oci.registry import RegistryClient
from b2i.oci.transport import DeferredTrustContext
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)
NO_BLOB = "sha256:" + "0" * 64


def trust_of(client: RegistryClient) -> DeferredTrustContext:
    context = client.http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, DeferredTrustContext)
    return context


@pytest.fixture
def default_trust_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)


def test_a_plain_http_registry_never_loads_the_ca_bundle(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))  # a trust setting no other test used
    with RegistryClient(registry.host, scheme="http", allowed_networks=LOOPBACK) as client:
        assert client.blob_exists("tls/plain", NO_BLOB) is None
        assert trust_of(client).cert_store_stats()["x509_ca"] == 0


@pytest.mark.usefixtures("default_trust_env")
def test_https_loads_the_default_trust_and_refuses_an_unknown_ca(tls_registry: Registry) -> None:
    with RegistryClient(tls_registry.host, allowed_networks=LOOPBACK, retries=0) as client:
        with pytest.raises(TlsError):
            client.blob_exists("tls/default", NO_BLOB)
        assert trust_of(client).cert_store_stats()["x509_ca"] > 10  # certifi's bundle


@pytest.mark.usefixtures("default_trust_env")
def test_clients_share_one_default_trust(registry: Registry, tls_registry: Registry) -> None:
    with (
        RegistryClient(registry.host, scheme="http", allowed_networks=LOOPBACK) as plain,
        RegistryClient(tls_registry.host, allowed_networks=LOOPBACK) as tls,
    ):
        assert trust_of(plain) is trust_of(tls)


def test_ssl_cert_file_is_the_trust_when_set(
    tls_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_registry.ca_bundle is not None  # the PEM file of its self-signed certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.ca_bundle))
    with RegistryClient(tls_registry.host, allowed_networks=LOOPBACK, retries=0) as client:
        assert client.blob_exists("tls/env", NO_BLOB) is None
        assert trust_of(client).cert_store_stats()["x509_ca"] == 1
