"""Resumable uploads whose chunks land on different web servers.

On S3 (a real S3 API server: moto, over HTTP) every chunk is staged as an object, so no web
server keeps state; on the filesystem a staging file missing on this server is a 409.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from builders.artifacts import uploads
from builders.models import Artifact, ArtifactUpload
from builders.tasks import expire_abandoned_uploads_task
from tests.builders.conftest import World
from tests.builders.test_uploads import send_chunk

UPLOADS = "/api/v1/workspaces/acme/projects/shop/uploads/"
CHUNK = 256 * 1024


def begin(world: World, data: bytes, sha256: str | None = None) -> str:
    digest = sha256 or hashlib.sha256(data).hexdigest()
    started = world.client("olga").post(
        UPLOADS, {"file_name": "busybox", "size": len(data), "sha256": digest}, format="json"
    )
    assert started.status_code == 201, started.json()
    return str(started.json()["id"])


def server_offset(world: World, upload_id: str) -> int:
    return int(world.client("olga").get(f"{UPLOADS}{upload_id}/").json()["offset"])


def complete(world: World, upload_id: str) -> Any:
    return world.client("olga").post(f"{UPLOADS}{upload_id}/complete/", {"kind": "binary"})


def keys(s3: Any, prefix: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket="artifacts", Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def on_servers(settings: Any, tmp_path: Path, count: int) -> Callable[[int], None]:
    """Switch MEDIA_ROOT as if the next request reached web server `n` (no shared volume)."""

    def use(n: int) -> None:
        settings.MEDIA_ROOT = tmp_path / f"server-{n % count}"

    return use


# --- S3: chunks are objects --------------------------------------------------------------------


def test_chunked_upload_on_s3_lands_once_and_leaves_no_staging(
    world: World, s3_bucket: Any, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    offsets = list(range(0, len(data), CHUNK))
    for offset in offsets:
        assert (
            send_chunk(world, upload_id, offset, data[offset : offset + CHUNK]).status_code == 200
        )
    staged = keys(s3_bucket, f"staging/{upload_id}/")
    assert staged == [f"staging/{upload_id}/{offset:020d}" for offset in offsets]

    done = complete(world, upload_id)
    assert done.status_code == 201, done.json()
    artifact = Artifact.objects.get(public_id=done.json()["id"])
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert keys(s3_bucket) == [artifact.storage_key]
    body = s3_bucket.get_object(Bucket="artifacts", Key=artifact.storage_key)["Body"].read()
    assert body == data


def test_chunks_through_different_web_servers_complete_on_s3(
    world: World, s3_bucket: Any, busybox: Path, settings: Any, tmp_path: Path
) -> None:
    data = busybox.read_bytes()
    server = on_servers(settings, tmp_path, 3)
    server(0)
    upload_id = begin(world, data)
    for n, offset in enumerate(range(0, len(data), CHUNK), start=1):
        server(n)  # each chunk on the next replica, as a round-robin load balancer does
        assert (
            send_chunk(world, upload_id, offset, data[offset : offset + CHUNK]).status_code == 200
        )
    server(0)
    done = complete(world, upload_id)
    assert done.status_code == 201, done.json()
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert not keys(s3_bucket, "staging/")
    left = [p for p in tmp_path.glob("server-*/**/*") if p.is_file()]
    assert not left, "nothing may stay on a web server's disk"


def test_partial_chunk_on_s3_resumes_from_the_server_offset(
    world: World, s3_bucket: Any, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    assert send_chunk(world, upload_id, 0, data[:CHUNK]).json()["offset"] == CHUNK

    # A WSGI server hands the view what arrived before the connection dropped: a third of it.
    arrived = [data[CHUNK : CHUNK + CHUNK // 3], b""]
    upload = ArtifactUpload.objects.get(public_id=upload_id)
    uploads.append_chunk(upload, CHUNK, lambda size: arrived.pop(0), CHUNK)
    resume = server_offset(world, upload_id)
    assert resume == CHUNK + CHUNK // 3

    # A crash between a storage write and its database update leaves a stray object behind.
    stray = f"staging/{upload_id}/{resume:020d}"
    s3_bucket.put_object(Bucket="artifacts", Key=stray, Body=b"garbage" * 1000)
    s3_bucket.put_object(Bucket="artifacts", Key=f"staging/{upload_id}/{7:020d}", Body=b"junk")

    stale = send_chunk(world, upload_id, CHUNK, data[CHUNK : 2 * CHUNK])
    assert stale.status_code == 409
    assert stale.json()["offset"] == resume
    offset = resume
    while offset < len(data):
        offset = send_chunk(world, upload_id, offset, data[offset : offset + CHUNK]).json()[
            "offset"
        ]
    done = complete(world, upload_id)
    assert done.status_code == 201, done.json()
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert not keys(s3_bucket, "staging/"), "stray objects go with the upload's staging"


def test_sha256_mismatch_on_s3_discards_the_staged_bytes(
    world: World, s3_bucket: Any, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data, sha256="0" * 64)
    for offset in range(0, len(data), CHUNK):
        send_chunk(world, upload_id, offset, data[offset : offset + CHUNK])
    assert keys(s3_bucket, f"staging/{upload_id}/")

    done = complete(world, upload_id)
    assert done.status_code == 400
    assert done.json()["code"] == "artifact:sha256-mismatch"
    assert "send the file again from offset 0" in done.json()["message"]
    assert not keys(s3_bucket), "the wrong bytes must not stay in the bucket"
    assert server_offset(world, upload_id) == 0
    assert not Artifact.objects.exists()


def test_chunks_gone_from_the_bucket_are_409_and_a_racing_completion_gets_the_artifact(
    world: World, s3_bucket: Any, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    for offset in range(0, len(data), CHUNK):
        send_chunk(world, upload_id, offset, data[offset : offset + CHUNK])
    second = f"staging/{upload_id}/{CHUNK:020d}"
    body = s3_bucket.get_object(Bucket="artifacts", Key=second)["Body"].read()
    s3_bucket.delete_object(Bucket="artifacts", Key=second)  # e.g. a bucket lifecycle rule
    lost = complete(world, upload_id)
    assert (lost.status_code, lost.json()["code"]) == (409, "upload:staging-lost")
    assert "gone from storage" in lost.json()["message"]
    assert "start the upload again" in lost.json()["message"]

    s3_bucket.put_object(Bucket="artifacts", Key=second, Body=body)
    racing = ArtifactUpload.objects.get(public_id=upload_id)  # read before the other finished
    assert complete(world, upload_id).status_code == 201
    stored = uploads.complete_chunked_upload(racing, world.users["olga"], "binary")
    assert (stored.created, stored.artifact.sha256) == (False, hashlib.sha256(data).hexdigest())


def test_expiry_removes_staged_objects_on_s3(world: World, s3_bucket: Any) -> None:
    old, fresh = begin(world, b"0123456789"), begin(world, b"abcdefghij")
    assert send_chunk(world, old, 0, b"01234").status_code == 200
    assert send_chunk(world, fresh, 0, b"abcde").status_code == 200
    ArtifactUpload.objects.filter(public_id=old).update(
        last_activity_at=timezone.now() - timedelta(hours=25)
    )
    assert expire_abandoned_uploads_task()["abandoned"] == {"uploads": 1, "files": 1, "bytes": 5}
    assert keys(s3_bucket) == [f"staging/{fresh}/{0:020d}"]


# --- filesystem: the staging file must be on this server -----------------------------------


def test_filesystem_staging_missing_on_this_server_is_409(
    world: World, busybox: Path, settings: Any, tmp_path: Path
) -> None:
    data = busybox.read_bytes()
    server = on_servers(settings, tmp_path, 2)
    server(0)
    upload_id = begin(world, data)
    server(1)  # the first chunk reaches the other server: its file is simply created there
    assert send_chunk(world, upload_id, 0, data[:CHUNK]).json()["offset"] == CHUNK

    server(0)  # server 0 has an empty staging file: writing at CHUNK would leave a hole
    lost = send_chunk(world, upload_id, CHUNK, data[CHUNK : 2 * CHUNK])
    assert lost.status_code == 409
    assert lost.json()["code"] == "upload:staging-lost"
    message = lost.json()["message"]
    assert f"{CHUNK} bytes" in message
    assert "start the upload again" in message
    assert "MEDIA_ROOT" in message
    assert "S3" in message
    assert server_offset(world, upload_id) == CHUNK

    (tmp_path / "server-0" / "staging" / f"{upload_id}.part").unlink()
    missing = send_chunk(world, upload_id, CHUNK, data[CHUNK : 2 * CHUNK])
    assert (missing.status_code, missing.json()["code"]) == (409, "upload:staging-lost")


def test_filesystem_staging_lost_before_completion_is_409(
    world: World, busybox: Path, settings: Any, tmp_path: Path
) -> None:
    data = busybox.read_bytes()
    server = on_servers(settings, tmp_path, 2)
    server(0)
    upload_id = begin(world, data)
    assert send_chunk(world, upload_id, 0, data).json()["offset"] == len(data)
    server(1)
    done = complete(world, upload_id)
    assert (done.status_code, done.json()["code"]) == (409, "upload:staging-lost")
    server(0)
    assert complete(world, upload_id).status_code == 201
