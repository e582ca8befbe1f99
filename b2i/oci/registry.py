"""RegistryClient: the distribution-spec HTTP API over httpx, for one registry host.

    with RegistryClient("127.0.0.1:5000", scheme="http", credentials=Credentials(u, p),
                        allowed_networks=["127.0.0.0/8"], on_event=sink) as client:
        client.blob_exists(repo, digest) -> int | None        # HEAD: size when present
        client.mount_blob(repo, digest, from_repo) -> bool     # 201 mounted, else False
        client.upload_blob(repo, digest, size, open_body)      # monolithic or chunked
        with client.open_blob(repo, digest) as blob:           # BlobStream: iterate or read()
            for chunk in blob: ...
        client.head_manifest(repo, ref) -> ManifestInfo | None   # HEAD: resolve a tag, no pull
        client.get_manifest(repo, ref) -> Manifest(content, media_type, digest)
        client.put_manifest(repo, tag_or_digest, body, media_type) -> digest

Authentication is learnt from the first 401 (Basic, or Bearer tokens scoped `pull` on what is
read and `pull,push` on what is written; a 401 refreshes the token once). 408/429/5xx and
connection errors are retried with exponential backoff and jitter honouring Retry-After; a
blob upload restarts whole (`open_body` is called again) and abandoned uploads are cancelled.
DIGEST_INVALID / MANIFEST_INVALID are never retried. Redirects are followed by hand so
Authorization never reaches another host. Every failure raises an OciError with a stable code.
With `proxy` (b2i.oci.proxy.ProxyConfig) requests go through an HTTP(S) proxy unless its
NO_PROXY rules say otherwise; each host is still checked against the network policy first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from b2i.oci.auth import PROCESS_AUTH, Authenticator, Credentials, repository_scope
from b2i.oci.cancel import CancelToken
from b2i.oci.errors import (
    AuthFailedError,
    BlobUnknownError,
    DigestMismatchError,
    InvalidReferenceError,
    ManifestUnknownError,
    OciError,
    ProtocolError,
    RegistryRequestError,
)
from b2i.oci.events import Event, EventSink, ignore_event
from b2i.oci.failures import Access, FailedRequest, classify_failure
from b2i.oci.image import ACCEPT_MANIFESTS
from b2i.oci.proxy import ProxyConfig
from b2i.oci.references import (
    DOCKER_HUB,
    DOCKER_HUB_API,
    HOST_PATTERN,
    normalise_registry,
)
from b2i.oci.transport import (
    CLEANUP_TIMEOUT,
    FINAL_CONNECTION_ERRORS,
    RETRYABLE_STATUSES,
    BlobStream,
    ReadableBody,
    RetryPolicy,
    TransientError,
    body_pieces,
    build_http_client,
    is_retryable,
    parse_retry_after,
    registry_error_codes,
    sha256_digest,
    translate_transport_error,
)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Manifest:
    """A manifest or index exactly as stored: its bytes, media type and digest."""

    content: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, object]:
        """Return the manifest parsed as a JSON object."""
        parsed = json.loads(self.content)
        if not isinstance(parsed, dict):
            raise ProtocolError("manifest is not a JSON object")
        return parsed


@dataclass(frozen=True)
class ManifestInfo:
    """What a HEAD on a manifest tells: digest, media type and size."""

    digest: str
    media_type: str
    size: int


class RegistryClient:
    """Talk to one registry host: blobs, mounts, manifests, with auth and retries."""

    def __init__(
        self,
        host: str,
        *,
        scheme: str = "https",
        credentials: Credentials | None = None,
        verify: bool = True,
        ca_bundle: str | None = None,
        allowed_networks: Sequence[str] = (),
        on_event: EventSink | None = None,
        retries: int = 8,
        retry_base_delay: float = 0.5,
        retry_budget: float = 180.0,
        timeout: float = 60.0,
        monolithic_limit: int = 32 * 1024 * 1024,
        chunk_size: int = 32 * 1024 * 1024,
        proxy: ProxyConfig | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        if scheme not in ("http", "https"):
            raise OciError(f"registry scheme must be http or https, not {scheme!r}")
        if not HOST_PATTERN.match(host):
            raise InvalidReferenceError(f"invalid registry host {host!r}")
        registry = normalise_registry(host)
        self.host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
        self.scheme = scheme
        self.base_url = f"{scheme}://{self.host}"
        self.on_event: EventSink = on_event or ignore_event
        self.retry = RetryPolicy(
            retries=retries, base_delay=retry_base_delay, budget=retry_budget, cancel=cancel
        )
        self.cancel = cancel
        self.monolithic_limit = monolithic_limit
        self.chunk_size = chunk_size
        self.http = build_http_client(
            verify=verify,
            ca_bundle=ca_bundle,
            allowed_networks=allowed_networks,
            timeout=timeout,
            proxy=proxy,
            cancel=cancel,
        )
        self.auth = Authenticator(
            self.http,
            registry_scheme=scheme,
            registry_host=self.host,
            credentials=credentials,
            allowed_networks=allowed_networks,
            memory=PROCESS_AUTH,  # challenges and tokens learned by the process's other builds
        )

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------

    def _url(self, repo: str, tail: str) -> str:
        return f"{self.base_url}/v2/{repo}/{tail}"

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == self.scheme and parts.netloc.lower() == self.host

    def _headers(self, url: str, scopes: Sequence[str], extra: dict[str, str]) -> dict[str, str]:
        headers = dict(extra)
        if self._same_origin(url):
            authorization = self.auth.authorization(scopes)
            if authorization:
                headers["Authorization"] = authorization
        return headers

    def _emit_retry(self, what: str) -> Callable[[int, float, str], None]:
        def emit(attempt: int, wait: float, reason: str) -> None:
            message = f"{reason}; retry {attempt}/{self.retry.retries} in {wait:.1f}s"
            self.on_event(Event("retry", step=what, message=message))

        return emit

    def _send_once(
        self, method: str, url: str, headers: dict[str, str], content: object, stream: bool
    ) -> httpx.Response:
        self.retry.check_cancel()
        # content is bytes or an iterator of bytes (httpx's RequestContent, which it does not
        # export); callers of _send_once pass only those.
        request = self.http.build_request(method, url, headers=headers, content=content)  # type: ignore[arg-type]
        try:
            return self.http.send(request, stream=stream)
        except httpx.TransportError as exc:
            self.retry.check_cancel()  # a cancel shut the connection down: that is the news
            error = translate_transport_error(exc, f"{method} {urlsplit(url).netloc}")
            if isinstance(error, FINAL_CONNECTION_ERRORS):
                raise error from exc
            raise TransientError(error) from exc

    def _send_following(
        self,
        method: str,
        url: str,
        scopes: Sequence[str],
        extra: dict[str, str],
        content: object = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send, following redirects by hand: Authorization only ever goes to the registry."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_once(
                method, url, self._headers(url, scopes, extra), content, stream
            )
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            response.close()
            target = urljoin(url, location)
            if self.scheme == "https" and urlsplit(target).scheme != "https":
                raise ProtocolError(f"{self.host} redirected to insecure {target}")
            url = target
            method = "GET" if response.status_code == 303 else method
        raise ProtocolError(f"{self.host}: too many redirects for {method} {url}")

    def _request(
        self,
        method: str,
        url: str,
        *,
        scopes: Sequence[str],
        headers: dict[str, str] | None = None,
        content: object = None,
        replayable: bool = True,
        stream: bool = False,
        follow: bool = False,
    ) -> httpx.Response:
        """One attempt with auth: a 401 learns the challenge and retries once.

        Raises TransientError for what the caller's retry loop should retry."""
        extra = headers or {}
        response: httpx.Response | None = None
        for round_ in range(2):
            if follow:
                response = self._send_following(method, url, scopes, extra, content, stream)
            else:
                headers_now = self._headers(url, scopes, extra)
                response = self._send_once(method, url, headers_now, content, stream)
            if response.status_code != 401 or round_ == 1:
                break
            self.auth.learn(response, scopes)
            response.close()
            if not replayable:
                # The body was consumed: the whole operation restarts with a fresh token.
                raise TransientError(AuthFailedError(f"{self.host}: token expired during upload"))
        assert response is not None
        if response.status_code in RETRYABLE_STATUSES:
            response.read()  # the error body decides (DIGEST_INVALID is never retried)
        if is_retryable(response):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            what = f"{method} {urlsplit(url).path}"  # no query: upload state is noise
            raise TransientError(self._error(response, what, "pull"), retry_after)
        return response

    def _error(self, response: httpx.Response, what: str, access: Access) -> OciError:
        """Map a failed response to an OciError with a stable code and a useful message."""
        response.read()
        codes, detail = registry_error_codes(response)
        status = response.status_code
        text = f"{self.host} answered {status} to {what}" + (f": {detail}" if detail else "")
        bearer = self.auth.challenge is not None and self.auth.challenge.scheme == "bearer"
        error = classify_failure(
            FailedRequest(self.host, status, codes, text, access),
            self.auth.credentials.username if self.auth.credentials else None,
            bearer=bearer,
        )
        if status == 404 and type(error) is RegistryRequestError:
            kind = ManifestUnknownError if "manifest" in what.lower() else BlobUnknownError
            error = kind(text)
        error.status = status
        error.registry_codes = codes
        self.on_event(Event("registry-error", step=what, message=str(status)))
        return error

    # -- blobs -------------------------------------------------------------------------

    def blob_exists(self, repo: str, digest: str) -> int | None:
        """Return the blob's size when REPO has it (HEAD), else None."""
        scopes = (repository_scope(repo, ("pull",)),)

        def attempt() -> int | None:
            url = self._url(repo, f"blobs/{digest}")
            response = self._request("HEAD", url, scopes=scopes, follow=True)
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise self._error(response, f"HEAD blob {digest}", "pull")
            return int(response.headers.get("Content-Length", "0") or 0)

        return self.retry.run(attempt, self._emit_retry(f"check blob {digest}"))

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        """Mount DIGEST from FROM_REPO into REPO; False when the registry would not (202/401/…)."""
        scopes = (repository_scope(repo, ("pull", "push")), repository_scope(from_repo, ("pull",)))
        url = httpx.URL(
            self._url(repo, "blobs/uploads/"), params={"mount": digest, "from": from_repo}
        )

        def attempt() -> bool:
            response = self._request("POST", str(url), scopes=scopes)
            if response.status_code == 201:
                return True
            if response.status_code == 202:
                # Registry 2.8 starts an ordinary upload when it cannot mount: cancel it.
                self._cancel_upload(self._location(response, url), scopes)
            else:
                response.close()
                message = f"mount from {from_repo} refused ({response.status_code})"
                self.on_event(Event("log", step="mount", message=message, digest=digest))
            return False

        try:
            return self.retry.run(attempt, self._emit_retry(f"mount {digest}"))
        except OciError as exc:
            self.on_event(Event("log", step="mount", message=f"mount failed: {exc.message}"))
            return False

    def _location(self, response: httpx.Response, request_url: object) -> str:
        location = str(response.headers.get("Location") or "")
        if not location:
            raise ProtocolError(f"{self.host} answered {response.status_code} without Location")
        # Registries may send a relative Location (registry 2.8 does for some setups).
        return urljoin(str(request_url), location)

    def _start_upload(self, repo: str, scopes: Sequence[str]) -> str:
        url = self._url(repo, "blobs/uploads/")
        response = self._request("POST", url, scopes=scopes)
        if response.status_code != 202:
            raise self._error(response, f"starting an upload to {repo}", "push")
        return self._location(response, url)

    def _cancel_upload(self, location: str, scopes: Sequence[str]) -> None:
        # Best effort, once, briefly, and also after a cancel (on a connection of its own): the
        # session's bytes stay on the registry's disk until it expires them (registry 2.8
        # purges after a week by default). Registry 2.8 refuses (BLOB_UPLOAD_INVALID) to
        # cancel a session that received part of a body after LOCATION was issued: a body
        # cut short on a direct connection stays; behind a proxy that buffers request bodies
        # (nginx, as in Harbor) the registry never saw it, and the DELETE frees the session.
        with contextlib.suppress(Exception), self._cleaning_up():
            headers = self._headers(location, scopes, {})
            request = self.http.build_request(
                "DELETE", location, headers=headers, timeout=CLEANUP_TIMEOUT
            )
            self.http.send(request).close()

    def _cleaning_up(self) -> contextlib.AbstractContextManager[None]:
        """A block whose connections a cancel leaves alone (None without a cancel token)."""
        return self.cancel.cleaning_up() if self.cancel is not None else contextlib.nullcontext()

    def upload_blob(
        self, repo: str, digest: str, size: int, open_body: Callable[[], ReadableBody]
    ) -> None:
        """Upload a blob of SIZE bytes read from open_body() (called again on each retry)."""
        scopes = (repository_scope(repo, ("pull", "push")),)

        def attempt() -> None:
            # Start and commit are retried on their own; a failed request that carried the
            # body restarts the blob here (a new session, the body opened again).
            location = self.start_upload(repo)
            body = open_body()
            try:
                if size <= self.monolithic_limit:
                    self._put_monolithic(location, digest, size, body, scopes)
                else:
                    self._put_chunked(repo, location, digest, size, body)
            except BaseException:
                self._cancel_upload(location, scopes)
                raise
            finally:
                body.close()

        self.retry.run(attempt, self._emit_retry(f"upload {digest}"))
        self.on_event(Event("blob-pushed", step="upload", bytes=size, digest=digest))

    def _put_monolithic(
        self, location: str, digest: str, size: int, body: ReadableBody, scopes: Sequence[str]
    ) -> None:
        hasher = hashlib.sha256()
        self._finish_upload(location, digest, scopes, body_pieces(body, size, hasher), size)
        self._check_hash(hasher, digest)

    def _put_chunked(
        self, repo: str, location: str, digest: str, size: int, body: ReadableBody
    ) -> None:
        scopes = (repository_scope(repo, ("pull", "push")),)
        hasher = hashlib.sha256()
        offset = 0
        while offset < size:
            length = min(self.chunk_size, size - offset)
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                "Content-Range": f"{offset}-{offset + length - 1}",
            }
            pieces = body_pieces(body, length, hasher)
            response = self._request(
                "PATCH", location, scopes=scopes, headers=headers, content=pieces, replayable=False
            )
            if response.status_code != 202:
                raise self._error(response, f"uploading a chunk of {digest}", "push")
            location = self._location(response, location)
            offset += length
        # Check before committing so a wrong body never becomes a blob under a wrong name.
        self._check_hash(hasher, digest)
        self.commit_upload(repo, location, digest)

    def _commit(self, repo: str, location: str, digest: str) -> None:
        """Complete an upload whose bytes were all sent (an empty PUT: replayable, retried).

        A commit whose answer was lost may have succeeded: a retry then finds no session
        (404) and asks whether the blob is there."""

        scopes = (repository_scope(repo, ("pull", "push")),)

        def attempt() -> None:
            try:
                self._finish_upload(location, digest, scopes, b"", 0)
            except OciError as error:
                if error.status != 404 or self.blob_exists(repo, digest) is None:
                    raise

        self.retry.run(attempt, self._emit_retry(f"complete the upload of {digest}"))

    # -- uploads streamed while their blob is still being written (see early_upload.py) --

    def start_upload(self, repo: str) -> str:
        """Open an upload session in REPO (with retries); return its location."""
        scopes = (repository_scope(repo, ("pull", "push")),)
        start = lambda: self._start_upload(repo, scopes)  # noqa: E731
        return self.retry.run(start, self._emit_retry(f"start an upload to {repo}"))

    def stream_to_upload(self, repo: str, location: str, pieces: Iterable[bytes]) -> str:
        """Send PIECES to the upload at LOCATION as one chunked PATCH; return the next location.

        Not retried: the pieces are consumed as they are sent (the caller falls back to a
        whole upload)."""
        scopes = (repository_scope(repo, ("pull", "push")),)
        headers = {"Content-Type": "application/octet-stream"}
        response = self._request(
            "PATCH", location, scopes=scopes, headers=headers, content=pieces, replayable=False
        )
        if response.status_code != 202:
            raise self._error(response, f"streaming an upload to {repo}", "push")
        return self._location(response, location)

    def commit_upload(self, repo: str, location: str, digest: str) -> None:
        """Complete the upload at LOCATION as blob DIGEST (the registry checks the digest)."""
        self._commit(repo, location, digest)

    def cancel_upload(self, repo: str, location: str) -> None:
        """Abandon the upload at LOCATION (best effort)."""
        self._cancel_upload(location, (repository_scope(repo, ("pull", "push")),))

    def _finish_upload(
        self, location: str, digest: str, scopes: Sequence[str], content: object, size: int
    ) -> None:
        url = httpx.URL(location).copy_merge_params({"digest": digest})
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        response = self._request(
            "PUT", str(url), scopes=scopes, headers=headers, content=content, replayable=size == 0
        )
        if response.status_code != 201:
            raise self._error(response, f"completing the upload of {digest}", "push")
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise DigestMismatchError(f"{self.host} stored {stored} instead of {digest}")

    @staticmethod
    def _check_hash(hasher: hashlib._Hash, digest: str) -> None:
        if digest.startswith("sha256:") and f"sha256:{hasher.hexdigest()}" != digest:
            raise DigestMismatchError(f"the bytes read do not match the declared digest {digest}")

    def fetch_blob(self, repo: str, digest: str) -> BlobStream:
        """Start downloading a blob; the caller must close() the returned stream."""
        scopes = (repository_scope(repo, ("pull",)),)
        url = self._url(repo, f"blobs/{digest}")

        def attempt() -> httpx.Response:
            response = self._request("GET", url, scopes=scopes, stream=True, follow=True)
            if response.status_code != 200:
                raise self._error(response, f"GET blob {digest}", "pull")
            return response

        response = self.retry.run(attempt, self._emit_retry(f"download {digest}"))
        return BlobStream(response, digest, self.cancel)

    @contextmanager
    def open_blob(self, repo: str, digest: str) -> Iterator[BlobStream]:
        """Stream a blob (redirects followed without credentials); the digest is verified."""
        stream = self.fetch_blob(repo, digest)
        try:
            yield stream
        finally:
            stream.close()

    # -- manifests ---------------------------------------------------------------------

    def head_manifest(self, repo: str, reference: str) -> ManifestInfo | None:
        """Resolve a tag or digest with HEAD (not counted as a pull); None when unknown."""
        scopes = (repository_scope(repo, ("pull",)),)
        headers = {"Accept": ", ".join(ACCEPT_MANIFESTS)}

        def attempt() -> ManifestInfo | None:
            url = self._url(repo, f"manifests/{reference}")
            response = self._request("HEAD", url, scopes=scopes, headers=headers)
            if response.status_code == 404:
                return None
            digest = response.headers.get("Docker-Content-Digest")
            if response.status_code != 200 or not digest:
                raise self._error(response, f"HEAD manifest {repo}:{reference}", "pull")
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            return ManifestInfo(digest, media_type, int(response.headers.get("Content-Length", 0)))

        return self.retry.run(attempt, self._emit_retry(f"resolve {repo}:{reference}"))

    def get_manifest(self, repo: str, reference: str) -> Manifest:
        """Fetch a manifest or index by tag or digest, accepting OCI and Docker types."""
        scopes = (repository_scope(repo, ("pull",)),)
        headers = {"Accept": ", ".join(ACCEPT_MANIFESTS)}

        def attempt() -> httpx.Response:
            url = self._url(repo, f"manifests/{reference}")
            response = self._request("GET", url, scopes=scopes, headers=headers)
            if response.status_code != 200:
                raise self._error(response, f"GET manifest {repo}:{reference}", "pull")
            return response

        response = self.retry.run(attempt, self._emit_retry(f"get manifest {repo}:{reference}"))
        return self._manifest_from(response, reference)

    def _manifest_from(self, response: httpx.Response, reference: str) -> Manifest:
        content = response.content
        if len(content) > MAX_MANIFEST_BYTES:
            raise ProtocolError(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
        digest = sha256_digest(content)
        expected = reference if reference.startswith("sha256:") else None
        expected = expected or response.headers.get("Docker-Content-Digest")
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(f"manifest bytes hash to {digest}, expected {expected}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            declared = json.loads(content).get("mediaType")
        except (ValueError, AttributeError) as exc:
            raise ProtocolError(f"{self.host} sent a manifest that is not JSON") from exc
        if isinstance(declared, str) and declared:
            media_type = declared
        return Manifest(content, media_type, digest)

    def put_manifest(self, repo: str, tag_or_digest: str, body: bytes, media_type: str) -> str:
        """Store BODY under a tag or digest; return its digest, checked against the registry."""
        scopes = (repository_scope(repo, ("pull", "push")),)
        digest = sha256_digest(body)

        def attempt() -> None:
            url = self._url(repo, f"manifests/{tag_or_digest}")
            headers = {"Content-Type": media_type}
            response = self._request("PUT", url, scopes=scopes, headers=headers, content=body)
            if response.status_code != 201:
                raise self._error(response, f"PUT manifest {repo}:{tag_or_digest}", "push")
            stored = response.headers.get("Docker-Content-Digest")
            if stored and stored != digest:
                raise DigestMismatchError(f"{self.host} stored manifest {stored}, sent {digest}")

        self.retry.run(attempt, self._emit_retry(f"put manifest {repo}:{tag_or_digest}"))
        return digest
