"""RegistryClient and ensure_blob against real registries (open, htpasswd, token, TLS)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from b2i.oci.auth import Credentials
from b2i.oci.errors import (
    AuthFailedError,
    BlobUnknownError,
    DigestMismatchError,
    ManifestUnknownError,
    PullDeniedError,
    PushDeniedError,
    RegistryRequestError,
    TlsError,
)
from b2i.oci.events import Event
from b2i.oci.image import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from b2i.oci.registry import RegistryClient
from b2i.oci.transfer import ensure_blob
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def blob(size: int, seed: int = 0) -> tuple[bytes, str]:
    data = (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def client_for(registry: Registry, user: str | None = None, **options: object) -> RegistryClient:
    credentials = Credentials(user, registry.users[user]) if user else None
    ca = registry.ca_bundle.read_text() if registry.ca_bundle else None
    return RegistryClient(
        registry.host,
        scheme=registry.scheme,
        credentials=credentials,
        ca_bundle=ca,
        allowed_networks=LOOPBACK,
        retry_base_delay=0.01,
        **options,  # type: ignore[arg-type]
    )


def upload(client: RegistryClient, repo: str, data: bytes, digest: str) -> None:
    client.upload_blob(repo, digest, len(data), lambda: io.BytesIO(data))


def push_image(client: RegistryClient, repo: str, tag: str, media_type: str = OCI_MANIFEST) -> str:
    """Push a one-layer image; returns the manifest digest."""
    layer, layer_digest = blob(3000, seed=hash(repo) % 1000)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    upload(client, repo, layer, layer_digest)
    upload(client, repo, config, config_digest)
    docker = media_type == DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json"
            if docker
            else "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"
                if docker
                else "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest,
                "size": len(layer),
            }
        ],
    }
    body = json.dumps(manifest).encode()
    return client.put_manifest(repo, tag, body, media_type)


class RequestLog:
    """Records method and path of every request a client sends."""

    def __init__(self, client: RegistryClient) -> None:
        self.seen: list[tuple[str, str]] = []
        self.urls: list[str] = []
        client.http.event_hooks["request"].append(self.record)

    def record(self, request: httpx.Request) -> None:
        self.seen.append((request.method, request.url.path))
        self.urls.append(str(request.url))

    def methods(self) -> list[str]:
        return [method for method, _ in self.seen]


def test_monolithic_upload_is_found_and_reads_back(registry: Registry) -> None:
    data, digest = blob(100_000)
    events: list[Event] = []
    with client_for(registry, on_event=events.append) as client:
        assert client.blob_exists("rc/mono", digest) is None
        upload(client, "rc/mono", data, digest)
        assert client.blob_exists("rc/mono", digest) == len(data)
        with client.open_blob("rc/mono", digest) as stream:
            assert b"".join(stream) == data
    assert [(e.kind, e.bytes, e.digest) for e in events] == [("blob-pushed", len(data), digest)]


def test_large_blob_goes_up_in_chunks(registry: Registry) -> None:
    data, digest = blob(300_000, seed=1)
    with client_for(registry, monolithic_limit=100_000, chunk_size=64 * 1024) as client:
        log = RequestLog(client)
        upload(client, "rc/chunked", data, digest)
        assert log.methods().count("PATCH") == 5
        with client.open_blob("rc/chunked", digest) as stream:
            assert stream.read(10) == data[:10]
            assert stream.read() == data[10:]


def test_wrong_digest_is_refused_not_retried_and_the_upload_cancelled(registry: Registry) -> None:
    data, _ = blob(5000, seed=2)
    _, wrong = blob(5000, seed=3)
    with client_for(registry) as client:
        log = RequestLog(client)
        with pytest.raises(DigestMismatchError) as caught:
            upload(client, "rc/wrong", data, wrong)
        assert log.methods().count("POST") == 1
        assert log.methods()[-1] == "DELETE"
        assert client.blob_exists("rc/wrong", wrong) is None
    assert caught.value.code == "registry:digest-mismatch"


def test_wrong_digest_in_chunked_upload_is_caught_before_commit(registry: Registry) -> None:
    data, _ = blob(200_000, seed=4)
    _, wrong = blob(10, seed=5)
    with client_for(registry, monolithic_limit=1000, chunk_size=100_000) as client:
        log = RequestLog(client)
        with pytest.raises(DigestMismatchError):
            upload(client, "rc/wrong-chunked", data, wrong)
        assert "PUT" not in log.methods()
        assert log.methods()[-1] == "DELETE"


def test_body_shorter_than_declared_size_fails_clearly(registry: Registry) -> None:
    data, digest = blob(5000, seed=6)
    with client_for(registry) as client, pytest.raises(DigestMismatchError) as caught:
        client.upload_blob("rc/short", digest, 6000, lambda: io.BytesIO(data))
    assert "before its declared size" in caught.value.message


def test_mount_within_a_registry_then_ensure_blob_reuses(registry: Registry) -> None:
    data, digest = blob(4000, seed=7)

    class Desc:
        def __init__(self) -> None:
            self.digest, self.size = digest, len(data)

    with client_for(registry) as client:
        upload(client, "rc/base", data, digest)
        log = RequestLog(client)
        outcome = ensure_blob(client, "rc/app", Desc(), source=client, source_repo="rc/base")
        assert outcome == "mounted"
        assert "PATCH" not in log.methods() and "PUT" not in log.methods()
        assert client.blob_exists("rc/app", digest) == len(data)
        again = ensure_blob(client, "rc/app", Desc(), source=client, source_repo="rc/base")
        assert again == "reused"


def test_mount_of_a_missing_blob_returns_false_and_cancels(registry: Registry) -> None:
    _, digest = blob(10, seed=8)
    with client_for(registry) as client:
        log = RequestLog(client)
        assert client.mount_blob("rc/app", digest, "rc/nowhere") is False
        assert log.methods() == ["POST", "DELETE"]


def test_ensure_blob_streams_between_registries(registry: Registry, tls_registry: Registry) -> None:
    data, digest = blob(250_000, seed=9)

    class Desc:
        def __init__(self) -> None:
            self.digest, self.size = digest, len(data)

    with client_for(tls_registry) as source, client_for(registry) as target:
        upload(source, "rc/src", data, digest)
        assert ensure_blob(target, "rc/dst", Desc(), source=source, source_repo="rc/src") == (
            "uploaded"
        )
        with target.open_blob("rc/dst", digest) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digest.split(":")[1]


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_manifest_round_trip_keeps_bytes_type_and_digest(
    registry: Registry, media_type: str
) -> None:
    with client_for(registry) as client:
        digest = push_image(client, "rc/manifest", f"t-{media_type[-8:-5]}", media_type)
        by_tag = client.get_manifest("rc/manifest", f"t-{media_type[-8:-5]}")
        by_digest = client.get_manifest("rc/manifest", digest)
        head = client.head_manifest("rc/manifest", f"t-{media_type[-8:-5]}")
    assert by_tag == by_digest
    assert (by_tag.digest, by_tag.media_type) == (digest, media_type)
    assert "sha256:" + hashlib.sha256(by_tag.content).hexdigest() == digest
    assert head is not None and head.digest == digest and head.size == len(by_tag.content)


def test_index_is_fetched_with_its_media_type(registry: Registry) -> None:
    with client_for(registry) as client:
        child = push_image(client, "rc/index", "child")
        size = len(client.get_manifest("rc/index", child).content)
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child,
                    "size": size,
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
        client.put_manifest("rc/index", "multi", json.dumps(index).encode(), OCI_INDEX)
        fetched = client.get_manifest("rc/index", "multi")
    assert fetched.media_type == OCI_INDEX
    assert fetched.json()["manifests"][0]["digest"] == child  # type: ignore[index]


def test_unknown_manifest_and_blob_have_their_own_codes(registry: Registry) -> None:
    _, digest = blob(10, seed=10)
    with client_for(registry) as client:
        push_image(client, "rc/known", "v1")
        with pytest.raises(ManifestUnknownError) as caught:
            client.get_manifest("rc/known", "nope")
        assert client.head_manifest("rc/known", "nope") is None
        with pytest.raises(BlobUnknownError), client.open_blob("rc/known", digest):
            pass
    assert caught.value.code == "registry:manifest-unknown"


def test_manifest_naming_a_missing_blob_is_invalid_and_not_retried(registry: Registry) -> None:
    _, missing = blob(10, seed=11)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": missing,
            "size": 10,
        },
        "layers": [],
    }
    with client_for(registry) as client:
        log = RequestLog(client)
        with pytest.raises(RegistryRequestError) as caught:
            client.put_manifest("rc/bad", "v1", json.dumps(manifest).encode(), OCI_MANIFEST)
        assert log.methods() == ["PUT"]
    assert caught.value.code == "registry:manifest-invalid"


def test_htpasswd_credentials_push_and_wrong_password_fails(htpasswd_registry: Registry) -> None:
    with client_for(htpasswd_registry, "alice") as client:
        push_image(client, "rc/basic", "v1")
    wrong = RegistryClient(
        htpasswd_registry.host,
        scheme="http",
        credentials=Credentials("alice", "wrong"),
        allowed_networks=LOOPBACK,
    )
    with wrong, pytest.raises(AuthFailedError) as caught:
        wrong.get_manifest("rc/basic", "v1")
    assert caught.value.code == "registry:auth-failed"


def test_token_pusher_pushes_with_one_token_per_scope(token_registry: Registry) -> None:
    assert token_registry.token_server is not None
    before = len(token_registry.token_server.requests)
    with client_for(token_registry, "pusher") as client:
        push_image(client, "rc/token", "v1")
        client.get_manifest("rc/token", "v1")
    scopes = [r["path"] for r in token_registry.token_server.requests[before:]]
    # One token for pull,push (uploads, manifest PUT) and one for pull (GET), none repeated.
    assert len(scopes) == 2, scopes


def test_token_reader_may_pull_but_push_is_denied_clearly(token_registry: Registry) -> None:
    with client_for(token_registry, "pusher") as pusher:
        push_image(pusher, "rc/shared", "v1")
    data, digest = blob(100, seed=12)
    with client_for(token_registry, "reader") as reader:
        assert reader.get_manifest("rc/shared", "v1").digest
        with pytest.raises(PushDeniedError) as caught:
            upload(reader, "rc/shared", data, digest)
    assert caught.value.code == "registry:push-denied"
    assert "reader may not push" in caught.value.message


def test_token_anonymous_pull_says_credentials_are_needed(token_registry: Registry) -> None:
    with client_for(token_registry) as anonymous, pytest.raises(AuthFailedError) as caught:
        anonymous.get_manifest("rc/shared", "v1")
    assert "requires credentials" in caught.value.message


def test_expired_token_is_refreshed_once(token_registry: Registry) -> None:
    assert token_registry.token_server is not None
    with client_for(token_registry, "pusher") as client:
        pushed = push_image(client, "rc/refresh", "v1")
        for token in client.auth.memory._tokens.values():
            token.value = "expired.invalid.token"
        before = len(token_registry.token_server.requests)
        assert client.get_manifest("rc/refresh", "v1").digest == pushed
    assert len(token_registry.token_server.requests) == before + 1


def test_mount_without_pull_on_source_falls_back_to_upload(
    token_registry: Registry, registry: Registry
) -> None:
    """The token service grants `pusher2` nothing on rc/private: mount is refused, upload works."""
    from tests.fixtures.token_server import TokenUser

    assert token_registry.token_server is not None
    token_registry.token_server.users["pusher2"] = TokenUser(
        "pusher2-secret", {"rc/private": [], "*": ["pull", "push"]}
    )
    token_registry.users["pusher2"] = "pusher2-secret"
    data, digest = blob(20_000, seed=13)

    class Desc:
        def __init__(self) -> None:
            self.digest, self.size = digest, len(data)

    with client_for(token_registry, "pusher") as owner:
        upload(owner, "rc/private", data, digest)
    events: list[Event] = []
    with (
        client_for(token_registry, "pusher2", on_event=events.append) as target,
        client_for(token_registry, "pusher") as source,
    ):
        log = RequestLog(target)
        outcome = ensure_blob(target, "rc/public", Desc(), source=source, source_repo="rc/private")
        assert outcome == "uploaded"
        assert target.blob_exists("rc/public", digest) == len(data)
        with pytest.raises(PullDeniedError):
            target.get_manifest("rc/private", "latest")
    assert any("mount=" in url for url in log.urls)
    assert "PUT" in log.methods()
    assert [e.message for e in events if e.kind == "log"] == ["mount from rc/private refused (401)"]


def test_tls_registry_needs_ca_unless_skip_verify(tls_registry: Registry) -> None:
    plain = RegistryClient(tls_registry.host, allowed_networks=LOOPBACK, retries=0)
    with plain, pytest.raises(TlsError):
        plain.blob_exists("rc/tls", "sha256:" + "0" * 64)
    skip = RegistryClient(tls_registry.host, verify=False, allowed_networks=LOOPBACK)
    with skip:
        assert skip.blob_exists("rc/tls", "sha256:" + "0" * 64) is None


class RedirectingRegistry:
    """Registry stand-in: Basic auth on 127.0.0.1, blob GETs redirect to storage on 127.0.0.2."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.storage_headers: list[dict[str, str]] = []
        self.storage = ThreadingHTTPServer(("127.0.0.2", 0), self._storage_handler())
        self.api = ThreadingHTTPServer(("127.0.0.1", 0), self._api_handler())
        for server in (self.storage, self.api):
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()

    def close(self) -> None:
        for server in (self.storage, self.api):
            server.shutdown()
            server.server_close()

    def _api_handler(self) -> type[BaseHTTPRequestHandler]:
        storage_port = self.storage.server_address[1]

        class Api(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.headers.get("Authorization"):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.2:{storage_port}/bucket/blob")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        return Api

    def _storage_handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Storage(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.storage_headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.data)))
                self.end_headers()
                self.wfile.write(outer.data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Storage


@pytest.fixture
def redirecting() -> Iterator[RedirectingRegistry]:
    server = RedirectingRegistry(os.urandom(10_000))
    yield server
    server.close()


def test_redirected_blob_download_never_carries_authorization(
    redirecting: RedirectingRegistry,
) -> None:
    digest = "sha256:" + hashlib.sha256(redirecting.data).hexdigest()
    client = RegistryClient(
        f"127.0.0.1:{redirecting.api.server_address[1]}",
        scheme="http",
        credentials=Credentials("alice", "secret"),
        allowed_networks=LOOPBACK,
    )
    with client, client.open_blob("rc/redirect", digest) as stream:
        assert stream.read() == redirecting.data
    assert len(redirecting.storage_headers) == 1
    assert "Authorization" not in redirecting.storage_headers[0]


def test_redirected_blob_with_wrong_bytes_fails_the_digest_check(
    redirecting: RedirectingRegistry,
) -> None:
    _, other = blob(10, seed=14)
    client = RegistryClient(
        f"127.0.0.1:{redirecting.api.server_address[1]}",
        scheme="http",
        credentials=Credentials("alice", "secret"),
        allowed_networks=LOOPBACK,
    )
    with (
        client,
        client.open_blob("rc/redirect", other) as stream,
        pytest.raises(DigestMismatchError),
    ):
        stream.read()


class BareNotFound:
    """A registry stand-in that answers 404 with no error body (some proxies do)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_bare_404_is_classified_by_what_was_asked() -> None:
    server = BareNotFound()
    client = RegistryClient(
        f"127.0.0.1:{server.server.server_address[1]}", scheme="http", allowed_networks=LOOPBACK
    )
    try:
        with client:
            with pytest.raises(ManifestUnknownError):
                client.get_manifest("a/b", "v1")
            with pytest.raises(BlobUnknownError), client.open_blob("a/b", "sha256:" + "6" * 64):
                pass
    finally:
        server.close()
