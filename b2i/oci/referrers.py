"""OCI 1.1 referrers: artifacts (an SBOM, a provenance statement) attached to an image.

A referrer is an image manifest whose `subject` names the image's manifest, with an
`artifactType`, the empty config (`application/vnd.oci.empty.v1+json`, the two bytes `{}`)
and the document as its one layer. A registry with the referrers API answers the manifest's
PUT with an `OCI-Subject` header and lists referrers itself at
`GET /v2/<name>/referrers/<digest>`. Without it (docker-registry 2.8), the client keeps the
list under the referrers tag schema: the tag `sha256-<hex of the subject digest>` holds an
OCI index of the referrers, read, extended and written back (never replaced wholesale), and
checked afterwards in case a concurrent writer's update crossed ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from b2i.oci.auth import repository_scope
from b2i.oci.errors import ManifestUnknownError, ProtocolError
from b2i.oci.image import canonical_json, sha256_digest
from b2i.oci.registry import MAX_MANIFEST_BYTES, RegistryClient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
SUBJECT_HEADER = "OCI-Subject"
_FALLBACK_ATTEMPTS = 4


@dataclass(frozen=True)
class Subject:
    """The manifest referred to: its media type, digest and size."""

    media_type: str
    digest: str
    size: int

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class PushedReferrer:
    """A referrer pushed: its manifest's digest and how it is listed ("api" or "tag")."""

    digest: str
    via: str


def fallback_tag(digest: str) -> str:
    """Return the referrers tag of DIGEST: `sha256-<hex>` (the schema's tag)."""
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}"


def artifact_manifest(
    subject: Subject,
    artifact_type: str,
    blob_digest: str,
    blob_size: int,
    annotations: Mapping[str, str] | None = None,
) -> bytes:
    """Return the bytes of an artifact manifest for one blob, referring to SUBJECT."""
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": EMPTY_MEDIA_TYPE,
            "digest": sha256_digest(EMPTY_CONFIG),
            "size": len(EMPTY_CONFIG),
        },
        "layers": [{"mediaType": artifact_type, "digest": blob_digest, "size": blob_size}],
        "subject": subject.descriptor(),
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    return canonical_json(manifest)


@dataclass(frozen=True)
class Artifact:
    """One document to attach: its artifact type, bytes and annotations."""

    artifact_type: str
    content: bytes
    annotations: Mapping[str, str] | None = None


def upload_document_blobs(
    client: RegistryClient, repository: str, contents: Sequence[bytes]
) -> set[str]:
    """Upload the empty config (unless present) and CONTENTS; return the digests now there.

    A new document is the usual case: it is uploaded without asking first (a registry answers
    the upload of a blob it already has like any other).
    """
    _ensure_blob(client, repository, EMPTY_CONFIG, check=True)
    for content in contents:
        _ensure_blob(client, repository, content, check=False)
    return {sha256_digest(blob) for blob in (EMPTY_CONFIG, *contents)}


def push_referrers(
    client: RegistryClient,
    repository: str,
    subject: Subject,
    documents: Sequence[Artifact],
    uploaded: Collection[str] = (),
) -> list[PushedReferrer]:
    """Push DOCUMENTS as referrers of SUBJECT; list them under the fallback tag when needed.

    Blobs named in UPLOADED are already in the repository (uploaded while the image was
    pushed). The fallback index is read and written once for all of them.
    """
    missing = [d.content for d in documents if sha256_digest(d.content) not in uploaded]
    if missing or sha256_digest(EMPTY_CONFIG) not in uploaded:
        upload_document_blobs(client, repository, missing)
    pushed, entries = [], []
    for document in documents:
        body = artifact_manifest(
            subject, document.artifact_type, sha256_digest(document.content),
            len(document.content), document.annotations,
        )  # fmt: skip
        digest, api = put_manifest_with_subject(client, repository, body)
        pushed.append(PushedReferrer(digest, "api" if api else "tag"))
        entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
        entry["artifactType"] = document.artifact_type
        if document.annotations:
            entry["annotations"] = dict(document.annotations)
        entries += [] if api else [entry]
    if entries:
        add_to_fallback_index(client, repository, subject.digest, entries)
    return pushed


def push_referrer(
    client: RegistryClient,
    repository: str,
    subject: Subject,
    artifact_type: str,
    content: bytes,
    annotations: Mapping[str, str] | None = None,
) -> PushedReferrer:
    """Push CONTENT as a referrer of SUBJECT (see push_referrers)."""
    document = Artifact(artifact_type, content, annotations)
    return push_referrers(client, repository, subject, [document])[0]


def _ensure_blob(client: RegistryClient, repository: str, blob: bytes, *, check: bool) -> None:
    digest = sha256_digest(blob)
    if not check or client.blob_exists(repository, digest) is None:
        client.upload_blob(repository, digest, len(blob), lambda: _Body(blob))


class _Body:
    """The blob's bytes as the readable body the registry client uploads."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self.data) if size < 0 else self.position + size
        chunk = self.data[self.position : end]
        self.position += len(chunk)
        return chunk

    def close(self) -> None:
        pass


def put_manifest_with_subject(
    client: RegistryClient, repository: str, body: bytes
) -> tuple[str, bool]:
    """PUT a manifest with a subject by digest; return (digest, True if the registry said
    `OCI-Subject`, i.e. it maintains the referrers list itself)."""
    digest = sha256_digest(body)
    scopes = (repository_scope(repository, ("pull", "push")),)
    url = f"{client.base_url}/v2/{repository}/manifests/{digest}"

    def attempt() -> bool:
        headers = {"Content-Type": OCI_MANIFEST}
        response = client._request("PUT", url, scopes=scopes, headers=headers, content=body)
        if response.status_code != 201:
            raise client._error(response, f"PUT manifest {repository}@{digest}", "push")
        return response.headers.get(SUBJECT_HEADER) is not None

    api = client.retry.run(attempt, client._emit_retry(f"put referrer {repository}@{digest}"))
    return digest, api


def add_to_fallback_index(
    client: RegistryClient,
    repository: str,
    subject_digest: str,
    entries: Sequence[Mapping[str, Any]],
) -> None:
    """Add ENTRIES to the index under SUBJECT_DIGEST's referrers tag (kept, not clobbered).

    Read, extend, write, read again: a concurrent writer whose update crossed ours (the tag
    schema has no compare-and-set) is noticed and the missing entries added once more.
    """
    tag = fallback_tag(subject_digest)
    manifests = _fallback_manifests(client, repository, tag)
    for _ in range(_FALLBACK_ATTEMPTS):
        listed = {item.get("digest") for item in manifests}
        missing = [dict(entry) for entry in entries if entry["digest"] not in listed]
        if not missing:
            return
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [*manifests, *missing]}
        client.put_manifest(repository, tag, canonical_json(index), OCI_INDEX)
        manifests = _fallback_manifests(client, repository, tag)
    raise ProtocolError(f"the referrers tag {repository}:{tag} kept changing; try again")


def _fallback_manifests(client: RegistryClient, repository: str, tag: str) -> list[dict[str, Any]]:
    try:
        manifest = client.get_manifest(repository, tag)
    except ManifestUnknownError:
        return []
    return _index_entries(manifest.content)


def list_referrers(
    client: RegistryClient, repository: str, digest: str, artifact_type: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Return the referrers of DIGEST (descriptors) and where they came from ("api"/"tag")."""
    found = _referrers_api(client, repository, digest, artifact_type)
    via = "api"
    if found is None:
        found, via = _fallback_manifests(client, repository, fallback_tag(digest)), "tag"
    if artifact_type is not None:
        found = [item for item in found if item.get("artifactType") == artifact_type]
    return found, via


def _referrers_api(
    client: RegistryClient, repository: str, digest: str, artifact_type: str | None
) -> list[dict[str, Any]] | None:
    """Return the API's list (all pages), or None when the registry has no referrers API."""
    scopes = (repository_scope(repository, ("pull",)),)
    query = f"?artifactType={quote(artifact_type, safe='')}" if artifact_type else ""
    url: str | None = f"{client.base_url}/v2/{repository}/referrers/{digest}{query}"
    found: list[dict[str, Any]] = []
    while url is not None:
        attempt = _page_getter(client, url, scopes)
        status, content, kind, link = client.retry.run(attempt, client._emit_retry("referrers"))
        if status == 404 or (status == 200 and kind != OCI_INDEX):
            return None  # no such API here (404, or something else answering the path)
        if status != 200:
            raise ProtocolError(f"{client.host} answered {status} to GET referrers of {digest}")
        found += _index_entries(content)
        url = _next_page(client.base_url, link)
    return found


def _page_getter(
    client: RegistryClient, url: str, scopes: tuple[str, ...]
) -> Callable[[], tuple[int, bytes, str, str]]:
    def attempt() -> tuple[int, bytes, str, str]:
        headers = {"Accept": OCI_INDEX}
        response = client._request("GET", url, scopes=scopes, headers=headers)
        response.read()
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        return response.status_code, response.content, kind, response.headers.get("Link", "")

    return attempt


def _index_entries(content: bytes) -> list[dict[str, Any]]:
    if len(content) > MAX_MANIFEST_BYTES:
        raise ProtocolError("the referrers list is larger than a manifest may be")
    try:
        data = json.loads(content)
    except ValueError as error:
        raise ProtocolError("the referrers list is not JSON") from error
    items = data.get("manifests") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    return [dict(item) for item in items if isinstance(item, dict)]


def _next_page(base_url: str, link: str) -> str | None:
    # RFC 5988: `<path?query>; rel="next"` (a path on the same registry).
    if 'rel="next"' not in link or not link.startswith("<"):
        return None
    target = link[1 : link.index(">")]
    return base_url + target if target.startswith("/") else None
