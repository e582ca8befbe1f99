"""Retries: pushes through a fault-injecting proxy still land with correct digests."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import json
import socket

import httpx
import pytest

from b2i.oci.errors import RegistryRequestError, UnreachableError
from b2i.oci.events import Event
from b2i.oci.image import OCI_MANIFEST
from b2i.oci.registry import RegistryClient
from b2i.oci.transport import RetryPolicy, is_retryable, parse_retry_after
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def blob(size: int, seed: int) -> tuple[bytes, str]:
    data = (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def proxied_client(proxy: FaultyProxy, events: list[Event], **options: object) -> RegistryClient:
    client = RegistryClient(
        proxy.host,
        scheme="http",
        allowed_networks=LOOPBACK,
        on_event=events.append,
        retries=4,
        retry_base_delay=0.001,
        **options,  # type: ignore[arg-type]
    )
    client.retry.max_delay = 0.05  # Retry-After from the proxy is 0; keep the suite fast
    return client


class CountingOpener:
    """open_body that counts how often an upload (re)started."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opened = 0

    def __call__(self) -> io.BytesIO:
        self.opened += 1
        return io.BytesIO(self.data)


def push_blobs_and_manifest(client: RegistryClient, repo: str) -> tuple[list[str], str]:
    digests = []
    for seed, size in enumerate((2_000, 150_000, 400_000)):
        data, digest = blob(size, seed + 100)
        client.upload_blob(repo, digest, size, CountingOpener(data))
        digests.append(digest)
    config = json.dumps({"os": "linux", "architecture": "amd64"}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    client.upload_blob(repo, config_digest, len(config), lambda: io.BytesIO(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
            for d, s in zip(digests, (2_000, 150_000, 400_000), strict=True)
        ],
    }
    body = json.dumps(manifest).encode()
    return digests, client.put_manifest(repo, "v1", body, OCI_MANIFEST)


def test_push_through_faults_lands_every_blob_with_its_digest(registry: Registry) -> None:
    events: list[Event] = []
    plan = FaultPlan(share=0.35, seed=7)
    with (
        FaultyProxy(registry.url, plan) as proxy,
        proxied_client(proxy, events, monolithic_limit=100_000, chunk_size=128 * 1024) as client,
    ):
        digests, manifest_digest = push_blobs_and_manifest(client, "retry/faults")
    kinds = {fault for _, _, fault in proxy.faults}
    assert len(proxy.faults) >= 5, proxy.faults
    assert {"500", "503", "429"} & kinds and {"reset", "reset-after-body"} & kinds
    # Each fault costs one retry, except on the best-effort DELETE cancelling an upload.
    retried = [f for f in proxy.faults if f[0] != "DELETE"]
    assert len([e for e in events if e.kind == "retry"]) == len(retried)
    with RegistryClient(registry.host, scheme="http", allowed_networks=LOOPBACK) as direct:
        for digest in digests:
            with direct.open_blob("retry/faults", digest) as stream:
                data = stream.read()
            assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        assert direct.get_manifest("retry/faults", "v1").digest == manifest_digest


def test_same_push_gives_the_same_digest_with_and_without_faults(registry: Registry) -> None:
    with RegistryClient(registry.host, scheme="http", allowed_networks=LOOPBACK) as clean:
        _, expected = push_blobs_and_manifest(clean, "retry/clean")
    with (
        FaultyProxy(registry.url, FaultPlan(share=0.4, seed=3)) as proxy,
        proxied_client(proxy, []) as client,
    ):
        _, digest = push_blobs_and_manifest(client, "retry/again")
    assert proxy.faults
    assert digest == expected


def test_reset_during_upload_restarts_the_whole_upload(registry: Registry) -> None:
    data, digest = blob(300_000, seed=9)
    opener = CountingOpener(data)
    plan = FaultPlan(script=["reset-after-body"], only_methods=("PATCH",))
    with (
        FaultyProxy(registry.url, plan) as proxy,
        proxied_client(proxy, [], monolithic_limit=1000, chunk_size=100_000) as client,
    ):
        client.upload_blob("retry/restart", digest, len(data), opener)
        assert client.blob_exists("retry/restart", digest) == len(data)
    assert opener.opened == 2
    assert [m for m, _ in proxy.requests].count("POST") == 2
    # The abandoned first upload was cancelled.
    assert [m for m, _ in proxy.requests].count("DELETE") == 1


def test_relative_location_headers_are_followed(registry: Registry) -> None:
    small, small_digest = blob(1000, seed=10)
    large, large_digest = blob(250_000, seed=11)
    with (
        FaultyProxy(registry.url, FaultPlan(), relative_location=True) as proxy,
        proxied_client(proxy, [], monolithic_limit=100_000, chunk_size=100_000) as client,
    ):
        client.upload_blob("retry/relative", small_digest, len(small), lambda: io.BytesIO(small))
        client.upload_blob("retry/relative", large_digest, len(large), lambda: io.BytesIO(large))
        assert client.blob_exists("retry/relative", large_digest) == len(large)
    assert proxy.locations and all(loc.startswith("/v2/") for loc in proxy.locations)


def test_retry_after_is_honoured(registry: Registry) -> None:
    waits: list[float] = []
    plan = FaultPlan(script=["429"], retry_after="3")
    with FaultyProxy(registry.url, plan) as proxy:
        client = RegistryClient(
            proxy.host, scheme="http", allowed_networks=LOOPBACK, retry_base_delay=0.001
        )
        client.retry.sleep = waits.append
        with client:
            assert client.blob_exists("retry/after", "sha256:" + "1" * 64) is None
    assert len(waits) == 1 and waits[0] >= 3.0


def test_persistent_503_gives_up_after_the_configured_retries(registry: Registry) -> None:
    events: list[Event] = []
    plan = FaultPlan(share=1.0, kinds=("503",), max_in_a_row=1000)
    with FaultyProxy(registry.url, plan) as proxy:
        client = proxied_client(proxy, events)
        with client, pytest.raises(RegistryRequestError) as caught:
            client.get_manifest("retry/down", "v1")
    assert len(proxy.requests) == 5  # first try + 4 retries
    assert caught.value.status == 503
    assert "503" in caught.value.message
    # Four retries; each of the five error answers is also reported (registry-error, its
    # status: the metrics count them).
    assert [e.kind for e in events] == ["registry-error", "retry"] * 4 + ["registry-error"]
    assert {e.message for e in events if e.kind == "registry-error"} == {"503"}


def test_closed_port_is_retried_then_reported_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    events: list[Event] = []
    client = RegistryClient(
        f"127.0.0.1:{port}",
        scheme="http",
        allowed_networks=LOOPBACK,
        on_event=events.append,
        retries=2,
        retry_base_delay=0.001,
    )
    with client, pytest.raises(UnreachableError) as caught:
        client.blob_exists("a/b", "sha256:" + "2" * 64)
    assert caught.value.code == "registry:unreachable"
    assert len(events) == 2


def test_bad_bytes_are_never_retried_even_on_a_server_error() -> None:
    body = {"errors": [{"code": "DIGEST_INVALID", "message": "digest did not match"}]}
    assert not is_retryable(httpx.Response(500, json=body))
    assert not is_retryable(httpx.Response(400, json=body))
    assert is_retryable(httpx.Response(502, json={"errors": [{"code": "UNAVAILABLE"}]}))
    assert is_retryable(httpx.Response(429))
    assert is_retryable(httpx.Response(408))
    assert not is_retryable(httpx.Response(404))


def test_backoff_grows_exponentially_with_bounded_jitter_and_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, factor=3.0, jitter=0.1, max_delay=20.0)
    for attempt, nominal in ((1, 1.0), (2, 3.0), (3, 9.0)):
        for _ in range(50):
            assert nominal * 0.9 <= policy.delay(attempt, None) <= nominal * 1.1
    assert policy.delay(5, None) == 20.0
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 500.0) == 20.0


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("5") == 5.0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    parsed = parse_retry_after(email.utils.format_datetime(later, usegmt=True))
    assert parsed is not None and 25 <= parsed <= 31
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
