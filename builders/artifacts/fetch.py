"""Download a run's artifact from a URL (remote trigger): SSRF rules, size limit, sha256 check.

The HTTP client is the engine's guarded one (`b2i.oci.transport.build_http_client`): every
connection, including each redirect hop, resolves and checks the address in one place, so a
name cannot resolve to a metadata or link-local address, nor rebind between check and connect.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from b2i.oci.cancel import BuildCancelled, CancelToken
from b2i.oci.errors import OciError
from b2i.oci.transport import build_http_client, translate_transport_error
from b2i_console.errors import UserError
from builders import counters
from builders.artifacts.uploads import max_artifact_bytes, store_artifact
from builders.logs import RunLog
from builders.models import Artifact, BuildRun
from builders.proxy_settings import registry_proxy

MAX_REDIRECTS = 5


def check_artifact_url(url: str) -> str:
    """Validate the shape of an artifact URL (http/https with a host); return it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            "artifact:bad-url", "The artifact URL must be an http:// or https:// URL with a host."
        )
    if parts.username or parts.password:
        raise UserError(
            "artifact:bad-url", "Put no credentials in the artifact URL; it is stored and shown."
        )
    return url


def download(
    url: str, target: Path, *, max_bytes: int, cancel: CancelToken | None = None
) -> tuple[str, int]:
    """Stream URL into target; return (sha256, size); refuse blocked hosts and big bodies.

    Setting CANCEL interrupts the download at once, even from a server that went silent."""
    check_artifact_url(url)
    client = build_http_client(
        allowed_networks=settings.B2I_ALLOWED_REGISTRY_NETWORKS,
        proxy=registry_proxy(),
        cancel=cancel,
    )
    try:
        with client:
            return _follow_and_save(client, url, target, max_bytes)
    except httpx.TransportError as exc:
        if cancel is not None and cancel.is_set():
            raise BuildCancelled("the download was cancelled") from exc
        raise translate_transport_error(exc, f"downloading {url}") from exc


def _follow_and_save(
    client: httpx.Client, url: str, target: Path, max_bytes: int
) -> tuple[str, int]:
    for _ in range(MAX_REDIRECTS + 1):
        with client.stream("GET", url) as response:
            if response.is_redirect and "location" in response.headers:
                url = check_artifact_url(urljoin(url, response.headers["location"]))
                continue
            if response.status_code != 200:
                raise UserError(
                    "artifact:download-failed",
                    f"Downloading the artifact answered HTTP {response.status_code}.",
                )
            return _save_body(response, target, max_bytes)
    raise UserError("artifact:download-failed", "Too many redirects downloading the artifact.")


def _save_body(response: httpx.Response, target: Path, max_bytes: int) -> tuple[str, int]:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        for chunk in response.iter_bytes(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:  # the declared length may lie: count what arrives
                raise _too_large(max_bytes)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _too_large(max_bytes: int) -> UserError:
    return UserError(
        "artifact:too-large",
        f"The artifact at the URL is larger than the limit of {max_bytes} bytes.",
        413,
    )


def fetch_artifact_for_run(
    run: BuildRun, workdir: Path, log: RunLog, cancel: CancelToken | None = None
) -> Artifact:
    """Download the run's artifact URL, verify it, store it (deduplicated), attach it to the run."""
    log.write(f"    downloading {run.artifact_url}")
    target = workdir / "download"
    try:
        sha256, size = download(
            run.artifact_url, target, max_bytes=max_artifact_bytes(), cancel=cancel
        )
    except OciError as exc:
        raise UserError(exc.code, exc.message) from exc
    if run.artifact_url_sha256 and sha256 != run.artifact_url_sha256:
        raise UserError(
            "artifact:sha256-mismatch",
            f"The downloaded artifact has sha256 {sha256}, not {run.artifact_url_sha256}.",
        )
    counters.increment_after_commit(counters.UPLOAD_BYTES, "url", size)
    builder = run.builder
    stored = store_artifact(
        builder.project,
        None,
        target,
        file_name=file_name_of(run.artifact_url),
        sha256=sha256,
        size=size,
        expected_kind=builder.artifact_kind,
    )
    BuildRun.objects.filter(pk=run.pk).update(artifact=stored.artifact)
    type(builder).objects.filter(pk=builder.pk).update(artifact=stored.artifact)
    run.artifact = stored.artifact
    return stored.artifact


def file_name_of(url: str) -> str:
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name or "artifact"
