"""Where a resumable chunked upload keeps its bytes between `append_chunk` and completion.

- Filesystem default storage: one file MEDIA_ROOT/staging/<public_id>.part, appended in place.
  Every web server must see the same MEDIA_ROOT (the shared media volume); a chunk that
  reaches a server without the file (or with fewer bytes than received) answers 409
  `upload:staging-lost` instead of writing a hole.
- Any other storage (S3): each chunk is its own object staging/<public_id>/<offset, 20 digits>,
  so no web server keeps state and chunks may reach any replica. Completion reads the chain
  from offset 0 (each object's offset + size is the next offset) into a local temporary file.
  An object off the chain (a crash between the storage write and the database update) is
  ignored, and deleted with the rest.

Callers hold the ArtifactUpload row lock while writing, so the chunks of one upload arrive in
order and a retried chunk never races the original.

The expiry sweep (`builders.artifacts.expiry`) reads what is staged through `staged_upload_ids`,
`staged_files` and `stale_scratch`, and removes it with `remove_files`; removing twice is fine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from b2i.packaging.inspection import file_sha256
from b2i_console.errors import UserError
from builders.artifacts.storage import remove_after_commit, storage_is_local
from builders.models import ArtifactUpload

CHUNK = 1024 * 1024
Read = Callable[[int], bytes]
# Local temporary files of a request or a completion in progress (see their tempfile calls).
SCRATCH_PREFIXES = ("upload-", "chunk-", "assemble-")


class StagingLost(UserError):
    """The staged bytes of an upload are not where this server looks for them (409)."""

    def __init__(self, upload: ArtifactUpload, why: str, advice: str = "") -> None:
        super().__init__(
            "upload:staging-lost",
            f"The {upload.received} bytes received for this upload are {why}; start the upload "
            f"again.{advice}",
            409,
        )


def lost_on_this_server(upload: ArtifactUpload) -> StagingLost:
    return StagingLost(
        upload,
        "not on this web server (another server received them, or its disk was lost in a restart)",
        " Resumable uploads need MEDIA_ROOT shared by all web servers, or S3 storage "
        "(B2I_S3_BUCKET).",
    )


def lost_in_storage(upload: ArtifactUpload) -> StagingLost:
    return StagingLost(upload, "gone from storage (deleted there, e.g. by a lifecycle rule)")


def staging_dir() -> Path:
    """Local scratch space for bytes on their way in (under MEDIA_ROOT, made on demand)."""
    path = Path(settings.MEDIA_ROOT) / "staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def staged_path(upload: ArtifactUpload) -> Path:
    return staged_path_of(upload.public_id)


def staged_path_of(public_id: uuid.UUID) -> Path:
    return staging_dir() / f"{public_id}.part"


def chunk_prefix(upload: ArtifactUpload) -> str:
    return chunk_prefix_of(upload.public_id)


def chunk_prefix_of(public_id: uuid.UUID) -> str:
    return f"staging/{public_id}"


def chunk_key(upload: ArtifactUpload, offset: int) -> str:
    return f"{chunk_prefix(upload)}/{offset:020d}"


# --- what builders.artifacts.uploads calls -----------------------------------------------------


def prepare(upload: ArtifactUpload) -> None:
    """Make room for a new upload (an empty staging file on the filesystem)."""
    if storage_is_local():
        staged_path(upload).touch()


def write_chunk(upload: ArtifactUpload, offset: int, read: Read, length: int) -> int:
    """Stage up to `length` bytes from `read` at `offset`; return how many arrived."""
    if storage_is_local():
        return write_in_file(upload, offset, read, length)
    return write_object(upload, offset, read, length)


@contextmanager
def assembled(upload: ArtifactUpload) -> Iterator[tuple[Path, str]]:
    """Yield a local file with the upload's `received` bytes and their sha256."""
    if storage_is_local():
        path = staged_path(upload)
        if not path.is_file() or path.stat().st_size != upload.received:
            raise lost_on_this_server(upload)
        yield path, file_sha256(path).removeprefix("sha256:")
        return
    with tempfile.NamedTemporaryFile(dir=staging_dir(), prefix="assemble-") as out:
        sha256 = assemble_objects(upload, out)
        yield Path(out.name), sha256


def discard(upload: ArtifactUpload) -> None:
    """Delete the staged bytes of an upload (completed, restarted or abandoned)."""
    discard_id(upload.public_id)


def discard_id(public_id: uuid.UUID) -> None:
    """Delete the staged bytes of the upload `public_id`, whether or not its row still exists."""
    if storage_is_local():
        staged_path_of(public_id).unlink(missing_ok=True)
        return
    for name in chunk_names(public_id):
        default_storage.delete(name)


def discard_after_delete(sender: type, instance: ArtifactUpload, **kwargs: Any) -> None:
    """post_delete of an upload row (cancelled, expired, its project deleted): its staged bytes
    go once the deletion commits (a rollback keeps both)."""
    public_id = instance.public_id
    what = f"the staged bytes of deleted upload {public_id}"
    remove_after_commit(lambda: discard_id(public_id), what)


def chunk_names(public_id: uuid.UUID) -> list[str]:
    prefix = chunk_prefix_of(public_id)
    try:
        _, names = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return [f"{prefix}/{name}" for name in names]


# --- what the expiry sweep reads ---------------------------------------------------------------


@dataclass(frozen=True)
class StagedFile:
    """One staged file: a local path (filesystem, scratch) or a storage name (S3 chunk)."""

    name: str
    size: int
    modified: datetime
    local: bool


def staged_upload_ids() -> set[uuid.UUID]:
    """Ids of the uploads with staged bytes: *.part files, or prefixes under staging/ in S3."""
    if storage_is_local():
        names = [path.name.removesuffix(".part") for path in staging_dir().glob("*.part")]
    else:
        try:
            names = default_storage.listdir("staging")[0]
        except FileNotFoundError:  # a storage that has directories, before the first upload
            names = []
    return {public_id for public_id in map(parse_uuid, names) if public_id is not None}


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:  # not a name this module writes: never touched
        return None


def staged_files(public_id: uuid.UUID) -> list[StagedFile]:
    """The staged files of one upload, with size and time of the last write."""
    if storage_is_local():
        found = local_file(staged_path_of(public_id))
        return [found] if found else []
    return [found for found in map(stored_object, chunk_names(public_id)) if found]


def stale_scratch(older_than: datetime) -> list[StagedFile]:
    """Local temporary files last written before `older_than`: their process died."""
    found = (
        local_file(path)
        for path in staging_dir().iterdir()
        if path.name.startswith(SCRATCH_PREFIXES)
    )
    return [item for item in found if item is not None and item.modified < older_than]


def local_file(path: Path) -> StagedFile | None:
    try:
        stat = path.stat()
    except FileNotFoundError:  # removed meanwhile (a completion, another sweep)
        return None
    modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
    return StagedFile(str(path), stat.st_size, modified, local=True)


def stored_object(name: str) -> StagedFile | None:
    try:
        size = default_storage.size(name)
        modified = default_storage.get_modified_time(name)
    except Exception:
        # Gone meanwhile (S3Storage raises FileNotFoundError or a 404 ClientError); anything
        # else (no access, an outage) is not swallowed.
        if default_storage.exists(name):
            raise
        return None
    return StagedFile(name, size, modified, local=False)


def remove_files(files: list[StagedFile]) -> None:
    for item in files:
        if item.local:
            Path(item.name).unlink(missing_ok=True)
        else:
            default_storage.delete(item.name)


# --- filesystem: one file appended in place -----------------------------------------------------


def write_in_file(upload: ArtifactUpload, offset: int, read: Read, length: int) -> int:
    path = staged_path(upload)
    if offset == 0:
        path.touch()  # a first chunk on another server than the start is fine
    try:
        out = path.open("r+b")
    except FileNotFoundError:
        raise lost_on_this_server(upload) from None
    with out:
        if os.fstat(out.fileno()).st_size < offset:  # writing there would leave a hole
            raise lost_on_this_server(upload)
        out.truncate(offset)  # leftovers of an interrupted chunk are not part of the upload
        out.seek(offset)
        return copy_body(read, length, out)


def copy_body(read: Read, length: int, out: IO[bytes]) -> int:
    """Copy up to `length` bytes from `read` to `out`; fewer when the sender went away."""
    written = 0
    while written < length:
        data = read(min(CHUNK, length - written))
        if not data:
            break
        out.write(data)
        written += len(data)
    return written


# --- object storage: one object per chunk ------------------------------------------------------


def write_object(upload: ArtifactUpload, offset: int, read: Read, length: int) -> int:
    key = chunk_key(upload, offset)
    # Spooled to local disk first: the request body is read once, and only what arrived is kept.
    with tempfile.NamedTemporaryFile(dir=staging_dir(), prefix="chunk-") as spool:
        written = copy_body(read, length, spool)
        if written:
            spool.flush()
            spool.seek(0)
            default_storage.delete(key)  # a stray of a crashed attempt; save would rename
            saved = default_storage.save(key, File(spool, name=key))
            if saved != key:  # e.g. a storage that never overwrites: the chain needs this key
                default_storage.delete(saved)
                raise RuntimeError(f"storage saved chunk {key} as {saved}")
    return written


def assemble_objects(upload: ArtifactUpload, out: IO[bytes]) -> str:
    """Copy the chain of chunk objects from offset 0 to `out`, hashing; return the sha256."""
    digest = hashlib.sha256()
    offset = 0
    while offset < upload.received:
        start = offset
        try:
            with default_storage.open(chunk_key(upload, start), "rb") as source:
                for block in iter(lambda: source.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
                    offset += len(block)
        except FileNotFoundError:
            raise lost_in_storage(upload) from None
        if offset == start or offset > upload.received:  # an empty or overlong link
            raise lost_in_storage(upload)
    out.flush()
    return digest.hexdigest()
