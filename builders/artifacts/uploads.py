"""Artifact uploads: streamed to a staging file with sha256 and size counted on the way, size
limited, inspected, then stored once per project and sha256 in `default_storage`.

Two ways in:
- one multipart request (`HashingUploadHandler` replaces Django's handlers, so nothing is held
  in memory and an oversized body is refused while it arrives);
- a resumable chunked upload (`begin_chunked_upload` → `append_chunk` at the offset the server
  reports → `complete_chunked_upload`), for large files over unreliable links.

A one-request upload is staged on this server's disk under MEDIA_ROOT/staging for the length of
the request. Chunks of a resumable upload are staged by `builders.artifacts.staging`: in one file
under MEDIA_ROOT/staging with filesystem storage (so MEDIA_ROOT must be shared by all web
servers), or as one object per chunk with S3 storage (no shared volume needed). Completion
checks size and sha256 and stores the file like a one-request upload; a sha256 mismatch
discards the staged bytes and the upload starts again from offset 0. Deleting an upload row
(`delete_upload`, a project's deletion) removes its staged bytes once the deletion commits;
`builders.artifacts.expiry` sweeps what a crash left behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import IntegrityError, transaction
from django.utils import timezone

from b2i.packaging.errors import ArtifactError
from b2i.packaging.inspection import Inspection, inspect_artifact
from b2i_console.errors import UserError
from b2i_console.safe_text import has_unsafe_characters
from builders import counters, quotas
from builders.artifacts import staging
from builders.artifacts.staging import CHUNK, Read, staging_dir
from builders.models import Artifact, ArtifactUpload

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from projects.models import Project

logger = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def max_artifact_bytes() -> int:
    return int(settings.B2I_MAX_ARTIFACT_BYTES)


def too_large_error(size: int | None = None) -> UserError:
    limit = max_artifact_bytes()
    got = f" ({size} bytes)" if size is not None else ""
    return UserError(
        "artifact:too-large",
        f"The file is larger than the limit of {limit} bytes{got} "
        "(B2I_MAX_ARTIFACT_BYTES); use a smaller artifact or ask an admin to raise the limit.",
        status=413,
    )


# --- one-request multipart upload ------------------------------------------------------------


class HashedUpload(UploadedFile[bytes]):
    """A file staged on disk with its sha256 and size already known."""

    file: IO[bytes]  # always the staged file (File allows None)

    def __init__(self, staged: IO[bytes], name: str, size: int, sha256: str) -> None:
        super().__init__(staged, name=name, content_type="application/octet-stream", size=size)
        self.sha256 = sha256

    def temporary_file_path(self) -> str:
        return str(self.file.name)

    def close(self) -> None:
        try:
            super().close()
        finally:
            Path(self.file.name).unlink(missing_ok=True)


class HashingUploadHandler(FileUploadHandler):
    """Writes each uploaded file to a staging file, hashing and counting while it streams."""

    chunk_size = CHUNK

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.staged = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by HashedUpload)
            dir=staging_dir(), prefix="upload-", delete=False
        )
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > max_artifact_bytes():
            self.staged.close()
            Path(self.staged.name).unlink(missing_ok=True)
            raise too_large_error()
        self.digest.update(raw_data)
        self.staged.write(raw_data)

    def file_complete(self, file_size: int) -> HashedUpload:
        self.staged.flush()
        self.staged.seek(0)
        return HashedUpload(
            self.staged, self.file_name or "artifact", self.size, self.digest.hexdigest()
        )


def check_declared_size(content_length: str | None) -> None:
    """Refuse at once a body whose declared length is over the limit (plus form overhead)."""
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    if declared > max_artifact_bytes() + 64 * 1024:
        raise too_large_error(declared)


# --- storing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredArtifact:
    artifact: Artifact
    created: bool


def inspect_file(path: Path, expected_kind: str | None, file_name: str) -> Inspection:
    """Inspect the bytes; a bad or mismatching file is a UserError (400)."""
    try:
        return inspect_artifact(path, expected_kind=expected_kind or None, filename=file_name)
    except ArtifactError as exc:
        raise UserError(exc.code, exc.message) from exc


def check_file_name(file_name: str) -> None:
    """Refuse a file name with control or bidi characters: it reaches pages and build logs."""
    if has_unsafe_characters(file_name):
        raise UserError(
            "artifact:bad-file-name",
            "The file name contains control characters (such as line breaks or escapes) or "
            "bidirectional-text controls; rename the file and upload it again.",
        )


def store_artifact(
    project: Project,
    user: User | AnonymousUser | None,
    path: Path,
    *,
    file_name: str,
    sha256: str,
    size: int,
    expected_kind: str | None = None,
) -> StoredArtifact:
    """Inspect a staged file and keep it once per project, sha256 and name (later uploads of it
    reuse it; the same bytes under another name are another artifact: the name is shown and is
    a WAR's context path)."""
    if size > max_artifact_bytes():
        raise too_large_error(size)
    check_file_name(file_name)
    inspection = inspect_file(path, expected_kind, file_name)
    same = Artifact.objects.filter(project=project, sha256=sha256, file_name=file_name)
    existing = same.first()
    if existing is not None:
        return StoredArtifact(existing, created=False)
    quotas.check_storage_quota_early(project.workspace_id, size)
    with path.open("rb") as source:
        key = default_storage.save(unused_storage_key(project, sha256, file_name), File(source))
    try:
        with transaction.atomic():
            # Under the workspace's quota lock: concurrent uploads cannot both fit the last bytes.
            quotas.check_storage_quota(project.workspace_id, size)
            artifact = Artifact.objects.create(
                project=project,
                file_name=file_name,
                size=size,
                sha256=sha256,
                kind=inspection.kind,
                summary=str(inspection.summary())[:255],
                inspection=inspection.as_dict(),
                storage_key=key,
                uploaded_by=user if user is not None and user.is_authenticated else None,
            )
    except IntegrityError:  # the same file arrived twice at once: keep the first
        default_storage.delete(key)
        return StoredArtifact(same.get(), created=False)
    except UserError:  # over the quota: no row, and no stored file left behind
        default_storage.delete(key)
        raise
    return StoredArtifact(artifact, created=True)


def storage_key(project: Project, sha256: str, file_name: str) -> str:
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(file_name))[:100] or "artifact"
    return f"artifacts/{project.pk}/{sha256}/{safe_name}"


def unused_storage_key(project: Project, sha256: str, file_name: str) -> str:
    """storage_key, unless another name of the same bytes sanitised to it ("a b.jar" and
    "a_b.jar"): each row owns its file, since deleting a row deletes its file."""
    key = storage_key(project, sha256, file_name)
    if not Artifact.objects.filter(storage_key=key).exists():
        return key
    name_hash = hashlib.sha256(file_name.encode()).hexdigest()[:12]
    return storage_key(project, sha256, f"{name_hash}-{os.path.basename(file_name)}")


def store_uploaded_file(
    project: Project, user: User | AnonymousUser, upload: HashedUpload, expected_kind: str | None
) -> StoredArtifact:
    counters.increment_after_commit(counters.UPLOAD_BYTES, "multipart", upload.size or 0)
    return store_artifact(
        project,
        user,
        Path(upload.temporary_file_path()),
        file_name=os.path.basename(upload.name or "artifact"),
        sha256=upload.sha256,
        size=upload.size or 0,
        expected_kind=expected_kind,
    )


# --- resumable chunked upload -----------------------------------------------------------------


def begin_chunked_upload(
    project: Project,
    user: User | AnonymousUser,
    *,
    file_name: str,
    total_size: int,
    sha256: str = "",
) -> ArtifactUpload:
    """Start a resumable upload of `total_size` bytes (refused at once over the limit)."""
    if total_size > max_artifact_bytes():
        raise too_large_error(total_size)
    check_file_name(file_name)
    if sha256 and not SHA256_RE.match(sha256):
        raise UserError("artifact:bad-sha256", "sha256 must be 64 lower-case hex digits")
    quotas.check_storage_quota_early(project.workspace_id, total_size)
    upload = ArtifactUpload.objects.create(
        project=project,
        file_name=os.path.basename(file_name)[:255] or "artifact",
        total_size=total_size,
        expected_sha256=sha256,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    staging.prepare(upload)
    return upload


def append_chunk(upload: ArtifactUpload, offset: int, read: Read, length: int) -> ArtifactUpload:
    """Write one chunk at `offset` (must equal the bytes received so far); return the upload."""
    with transaction.atomic():
        # The row lock serialises chunks of one upload (a retried chunk racing the original).
        locked = ArtifactUpload.objects.select_for_update().filter(pk=upload.pk).first()
        if locked is None:  # deleted (cancelled or expired) since the view read it
            raise upload_gone()
        if locked.artifact_id is not None:
            raise UserError("upload:complete", "This upload is already complete.", 409)
        if offset != locked.received:
            raise offset_mismatch(locked)
        if locked.received + length > locked.total_size:
            raise UserError(
                "upload:too-long",
                f"The chunk goes past the declared size of {locked.total_size} bytes.",
                413 if locked.received + length > max_artifact_bytes() else 400,
            )
        # A chunk cut short (the sender went away) is kept as far as it arrived.
        written = staging.write_chunk(locked, offset, read, length)
        locked.received = offset + written
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["received", "last_activity_at"])
        counters.increment_after_commit(counters.UPLOAD_BYTES, "chunked", written)
    return locked


def upload_gone() -> UserError:
    return UserError(
        "upload:gone",
        "This upload was deleted (cancelled, or expired unfinished after "
        "B2I_UPLOAD_EXPIRY_HOURS); start a new upload.",
        404,
    )


def delete_upload(upload: ArtifactUpload) -> None:
    """Cancel an upload: its row goes now, its staged bytes when that commits (the signal)."""
    with transaction.atomic():
        # The row lock waits for a chunk being written, whose bytes are then removed too.
        locked = ArtifactUpload.objects.select_for_update().filter(pk=upload.pk).first()
        if locked is not None:
            locked.delete()


def offset_mismatch(upload: ArtifactUpload) -> UserError:
    return UserError(
        "upload:offset-mismatch",
        f"The server has {upload.received} bytes of this upload; send the next chunk from "
        f"offset {upload.received}.",
        409,
        offset=upload.received,
    )


def note_completion_attempt(upload: ArtifactUpload) -> None:
    """Activity: the expiry leaves an upload alone while it is being completed (it re-reads this
    under the row lock before deleting), and for a while after an attempt that failed."""
    ArtifactUpload.objects.filter(pk=upload.pk).update(last_activity_at=timezone.now())


def complete_chunked_upload(
    upload: ArtifactUpload, user: User | AnonymousUser, expected_kind: str | None
) -> StoredArtifact:
    """Check size and sha256 of a fully received upload, then inspect and store it."""
    if upload.artifact is not None:  # a null foreign key reads as None without a query
        return StoredArtifact(upload.artifact, created=False)
    if upload.received != upload.total_size:
        raise offset_mismatch(upload)
    note_completion_attempt(upload)
    try:
        with staging.assembled(upload) as (path, sha256):
            if upload.expected_sha256 and sha256 != upload.expected_sha256:
                restart_upload(upload)
                raise sha256_mismatch(sha256, upload.expected_sha256)
            stored = store_artifact(
                upload.project,
                user,
                path,
                file_name=upload.file_name,
                sha256=sha256,
                size=upload.received,
                expected_kind=expected_kind,
            )
    except staging.StagingLost:
        # A concurrent completion of the same upload stored it and removed the staged bytes.
        done = ArtifactUpload.objects.filter(pk=upload.pk, artifact__isnull=False).first()
        if done is None:
            raise
        # Filtered on artifact__isnull=False: the row has its artifact.
        return StoredArtifact(done.artifact, created=False)  # type: ignore[arg-type]
    # completed_at starts the sweep's grace: a crash before the discard leaves staged bytes.
    ArtifactUpload.objects.filter(pk=upload.pk).update(
        artifact=stored.artifact, completed_at=timezone.now()
    )
    staging.discard(upload)
    return stored


def sha256_mismatch(got: str, expected: str) -> UserError:
    return UserError(
        "artifact:sha256-mismatch",
        f"The uploaded bytes have sha256 {got}, not {expected}; they were discarded: send the "
        "file again from offset 0.",
    )


def restart_upload(upload: ArtifactUpload) -> None:
    """Drop the received bytes (they can never match the declared sha256): back to offset 0."""
    with transaction.atomic():
        locked = ArtifactUpload.objects.select_for_update().filter(pk=upload.pk).first()
        if locked is not None and locked.artifact_id is None:
            staging.discard(locked)
            locked.received = 0
            locked.save(update_fields=["received"])
