"""The expiry sweep removes staged bytes nobody will read again, on S3 (moto) and the filesystem.

Left behind by a crash after completion (row completed, staged bytes still there), with no
upload row at all, or scratch files of a dead process; a live upload's chunks and a completion
within the grace period are left alone, and two sweeps at once do not trip over each other.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from builders.artifacts import expiry as upload_expiry
from builders.artifacts import staging as upload_staging
from builders.models import ArtifactUpload
from builders.tasks import expire_abandoned_uploads_task
from tests.builders.conftest import World
from tests.builders.test_upload_staging import CHUNK, begin, complete, keys
from tests.builders.test_uploads import send_chunk


def send_all(world: World, upload_id: str, data: bytes) -> None:
    for offset in range(0, len(data), CHUNK):
        response = send_chunk(world, upload_id, offset, data[offset : offset + CHUNK])
        assert response.status_code == 200, response.json()


def crashed_after_completion(world: World, data: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    """Upload DATA whole and complete it in a process that dies right after the database
    update (its staged bytes stay); return the upload id."""
    upload_id = begin(world, data)
    send_all(world, upload_id, data)
    with monkeypatch.context() as crash:
        crash.setattr(upload_staging, "discard", lambda upload: None)
        assert complete(world, upload_id).status_code == 201
    assert ArtifactUpload.objects.get(public_id=upload_id).artifact_id is not None
    return upload_id


def half_sent_upload(world: World) -> str:
    """Begin a 10-byte upload and send its first 5 bytes; return its id."""
    upload_id = begin(world, b"0123456789")
    assert send_chunk(world, upload_id, 0, b"01234").status_code == 200
    return upload_id


def completed_minutes_before(upload_id: str, moment: datetime, minutes: int) -> None:
    ArtifactUpload.objects.filter(public_id=upload_id).update(
        completed_at=moment - timedelta(minutes=minutes)
    )


def sweep_at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, int]]:
    """Run the Celery task as if the clock showed `moment`."""
    with monkeypatch.context() as clock:
        clock.setattr(upload_expiry, "timezone", SimpleNamespace(now=lambda: moment))
        return expire_abandoned_uploads_task()


# --- S3 ----------------------------------------------------------------------------------------


def test_sweep_on_s3_removes_leftovers_of_crashed_completions_and_orphans_only(
    world: World,
    s3_bucket: Any,
    busybox: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = busybox.read_bytes()
    live = half_sent_upload(world)
    crashed = crashed_after_completion(world, data, monkeypatch)
    recent = crashed_after_completion(world, data, monkeypatch)
    orphan = uuid.uuid4()  # its row was deleted while the bucket could not be reached
    for offset in (0, 5):
        s3_bucket.put_object(Bucket="artifacts", Key=f"staging/{orphan}/{offset:020d}", Body=b"x")
    s3_bucket.put_object(Bucket="artifacts", Key="staging/not-an-upload/keep", Body=b"x")
    chunks = len(range(0, len(data), CHUNK))

    now = timezone.now()
    assert sweep_at(now, monkeypatch)["orphaned"]["uploads"] == 0, "orphans this new may be live"
    assert keys(s3_bucket, f"staging/{orphan}/")

    later = now + timedelta(minutes=90)  # the default grace is 60 minutes
    completed_minutes_before(recent, later, 10)
    with caplog.at_level(logging.INFO, logger="builders.artifacts.expiry"):
        report = sweep_at(later, monkeypatch)

    assert report["completed"] == {"uploads": 1, "files": chunks, "bytes": len(data)}
    assert report["orphaned"] == {"uploads": 1, "files": 2, "bytes": 2}
    assert report["abandoned"]["uploads"] == 0
    assert not keys(s3_bucket, f"staging/{crashed}/")
    assert not keys(s3_bucket, f"staging/{orphan}/")
    assert keys(s3_bucket, f"staging/{live}/") == [f"staging/{live}/{0:020d}"]
    assert len(keys(s3_bucket, f"staging/{recent}/")) == chunks, "completed within the grace"
    assert keys(s3_bucket, "staging/not-an-upload/") == ["staging/not-an-upload/keep"]
    assert (
        f"removed staged bytes left by 1 completed uploads: {chunks} files, {len(data)} bytes"
        in caplog.messages
    )
    assert "removed staged bytes of 1 uploads without a row: 2 files, 2 bytes" in caplog.messages
    assert send_chunk(world, live, 5, b"56789").json()["offset"] == 10, "the live one goes on"


def test_two_sweeps_at_once_on_s3_remove_everything_once_without_errors(
    world: World, s3_bucket: Any, busybox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = busybox.read_bytes()
    crashed_after_completion(world, data, monkeypatch)
    later = timezone.now() + timedelta(minutes=90)

    # The other sweep runs whole between this one's listing and its deletes.
    remove_files = upload_staging.remove_files
    other: list[dict[str, dict[str, int]]] = []

    def other_sweep_first(files: list[upload_staging.StagedFile]) -> None:
        if not other:
            monkeypatch.setattr(upload_staging, "remove_files", remove_files)
            other.append(upload_expiry.expire_uploads().as_dict())
        remove_files(files)

    monkeypatch.setattr(upload_staging, "remove_files", other_sweep_first)
    first = sweep_at(later, monkeypatch)
    assert other[0]["completed"]["uploads"] == 1
    assert first["completed"]["uploads"] == 1  # it saw them too; removing again is harmless
    assert not keys(s3_bucket, "staging/")


def test_deleting_an_upload_through_the_api_removes_its_objects(
    world: World,
    s3_bucket: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    upload_id = half_sent_upload(world)
    url = f"/api/v1/workspaces/acme/projects/shop/uploads/{upload_id}/"
    assert world.client("victor").delete(url).status_code == 403
    assert world.client("charlie").delete(url).status_code == 404
    assert world.client("olga").delete(f"{url}complete/").status_code == 405
    assert keys(s3_bucket, f"staging/{upload_id}/")

    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("olga").delete(url).status_code == 204
    assert not ArtifactUpload.objects.filter(public_id=upload_id).exists()
    assert not keys(s3_bucket, "staging/")
    gone = send_chunk(world, upload_id, 5, b"56789")
    assert gone.status_code == 404


# --- filesystem --------------------------------------------------------------------------------


def staged_names(media_root: Path) -> set[str]:
    return {path.name for path in (media_root / "staging").iterdir()}


def test_sweep_on_the_filesystem_removes_leftovers_orphans_and_dead_scratch_files(
    world: World,
    media_root: Path,
    busybox: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = busybox.read_bytes()
    live = begin(world, data)
    assert send_chunk(world, live, 0, data[:CHUNK]).status_code == 200
    crashed = crashed_after_completion(world, data, monkeypatch)
    recent = crashed_after_completion(world, data, monkeypatch)
    staging = media_root / "staging"
    orphan = staging / f"{uuid.uuid4()}.part"
    orphan.write_bytes(b"orphan")
    dead = staging / "upload-dead"  # a one-request upload of a killed web server
    dead.write_bytes(b"scratch")
    hour_ago = time.time() - 3600
    for path in (orphan, dead):
        os.utime(path, (hour_ago, hour_ago))
    busy = staging / "assemble-busy"  # a completion reading it right now
    busy.write_bytes(b"busy")
    (staging / "notes.txt").write_text("not ours")

    now = timezone.now()
    completed_minutes_before(recent, now, 5)
    completed_minutes_before(crashed, now, 61)
    with caplog.at_level(logging.INFO, logger="builders.artifacts.expiry"):
        report = expire_abandoned_uploads_task()

    assert report["completed"] == {"uploads": 1, "files": 1, "bytes": len(data)}
    assert report["orphaned"] == {"uploads": 1, "files": 1, "bytes": 6}
    assert report["scratch"] == {"uploads": 1, "files": 1, "bytes": 7}
    assert staged_names(media_root) == {f"{live}.part", f"{recent}.part", busy.name, "notes.txt"}
    assert "removed 1 scratch files of dead processes: 7 bytes" in caplog.messages
    assert send_chunk(world, live, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 200


def test_a_completion_recorded_before_completed_at_existed_is_swept(
    world: World, media_root: Path, busybox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = busybox.read_bytes()
    upload_id = crashed_after_completion(world, data, monkeypatch)
    ArtifactUpload.objects.filter(public_id=upload_id).update(completed_at=None)
    assert expire_abandoned_uploads_task()["completed"]["uploads"] == 1
    assert not staged_names(media_root)


def test_completion_records_when_it_happened(world: World, media_root: Path, busybox: Path) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    send_all(world, upload_id, data)
    before = timezone.now()
    assert complete(world, upload_id).status_code == 201
    completed_at = ArtifactUpload.objects.get(public_id=upload_id).completed_at
    assert completed_at is not None and before <= completed_at <= timezone.now()
    assert not staged_names(media_root)


def test_deleting_a_project_removes_the_staged_bytes_of_its_uploads(
    world: World, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    upload_id = half_sent_upload(world)
    assert staged_names(media_root) == {f"{upload_id}.part"}
    with django_capture_on_commit_callbacks(execute=True):
        world.project.delete()
    assert not staged_names(media_root)


def test_a_storage_failure_after_the_delete_is_logged_and_swept_later(
    world: World,
    media_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upload_id = half_sent_upload(world)

    def unreachable(public_id: uuid.UUID) -> None:
        raise OSError("storage unreachable")

    with monkeypatch.context() as outage:
        outage.setattr(upload_staging, "discard_id", unreachable)
        with django_capture_on_commit_callbacks(execute=True):
            url = f"/api/v1/workspaces/acme/projects/shop/uploads/{upload_id}/"
            assert world.client("olga").delete(url).status_code == 204
    assert f"could not remove the staged bytes of deleted upload {upload_id}" in caplog.text
    assert staged_names(media_root) == {f"{upload_id}.part"}

    later = timezone.now() + timedelta(minutes=61)
    assert sweep_at(later, monkeypatch)["orphaned"]["uploads"] == 1
    assert not staged_names(media_root)


def test_admin_deletes_an_upload_with_its_staged_bytes(
    world: World, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    upload_id = half_sent_upload(world)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.test", None))
    pk = ArtifactUpload.objects.get(public_id=upload_id).pk
    assert admin.get("/admin/builders/artifactupload/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin.post(f"/admin/builders/artifactupload/{pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not ArtifactUpload.objects.exists()
    assert not staged_names(media_root)


def test_a_chunk_for_an_upload_deleted_meanwhile_is_404(world: World, media_root: Path) -> None:
    from b2i_console.errors import UserError
    from builders.artifacts import uploads

    upload_id = begin(world, b"0123456789")
    stale = ArtifactUpload.objects.get(public_id=upload_id)  # the view read it, then ...
    ArtifactUpload.objects.filter(pk=stale.pk).delete()  # ... the expiry deleted it
    with pytest.raises(UserError) as gone:
        uploads.append_chunk(stale, 0, lambda size: b"01234", 5)
    assert (gone.value.code, gone.value.status) == ("upload:gone", 404)


@pytest.mark.django_db(transaction=True)
def test_expiry_leaves_an_idle_upload_alone_while_a_chunk_is_being_written(
    world: World, media_root: Path
) -> None:
    upload_id = begin(world, b"0123456789")
    ArtifactUpload.objects.filter(public_id=upload_id).update(
        last_activity_at=timezone.now() - timedelta(hours=25)
    )
    locked, release = threading.Event(), threading.Event()

    def chunk_in_flight() -> None:
        # What append_chunk does: the upload's row lock while the body streams in, then the
        # chunk's bytes counted and its activity dated, committed together.
        try:
            with transaction.atomic():
                ArtifactUpload.objects.select_for_update().get(public_id=upload_id)
                locked.set()
                release.wait(timeout=10)
                ArtifactUpload.objects.filter(public_id=upload_id).update(
                    received=5, last_activity_at=timezone.now()
                )
        finally:
            connection.close()

    writer = threading.Thread(target=chunk_in_flight)
    writer.start()
    assert locked.wait(timeout=10)
    # PostgreSQL skips the locked row at once; SQLite (no row locks) queues the sweep behind the
    # chunk's transaction, whose commit its re-check then sees. Either way the upload stays.
    threading.Timer(0.5, release.set).start()
    try:
        started = time.monotonic()
        report = expire_abandoned_uploads_task()
        if connection.features.has_select_for_update_skip_locked:
            assert time.monotonic() - started < 0.5, "the sweep must not wait for the chunk"
        assert report["abandoned"]["uploads"] == 0
        assert ArtifactUpload.objects.filter(public_id=upload_id).exists()
        assert staged_names(media_root) == {f"{upload_id}.part"}
    finally:
        release.set()
        writer.join()
    ArtifactUpload.objects.filter(public_id=upload_id).update(
        last_activity_at=timezone.now() - timedelta(hours=25)
    )
    assert expire_abandoned_uploads_task()["abandoned"]["uploads"] == 1
    assert not staged_names(media_root)


def test_abandoned_uploads_expire_after_the_configured_hours(
    world: World, media_root: Path, settings: Any
) -> None:
    settings.B2I_UPLOAD_EXPIRY_HOURS = 2
    old, fresh = begin(world, b"0123456789"), begin(world, b"abcdefghij")
    assert send_chunk(world, old, 0, b"01234").status_code == 200
    ArtifactUpload.objects.filter(public_id=old).update(
        last_activity_at=timezone.now() - timedelta(hours=3)
    )
    assert expire_abandoned_uploads_task()["abandoned"] == {"uploads": 1, "files": 1, "bytes": 5}
    assert staged_names(media_root) == {f"{fresh}.part"}


def test_a_slow_upload_that_keeps_sending_is_not_expired_under_its_sender(
    world: World, media_root: Path
) -> None:
    slow = begin(world, b"0123456789")
    ArtifactUpload.objects.filter(public_id=slow).update(
        created_at=timezone.now() - timedelta(hours=30),
        last_activity_at=timezone.now() - timedelta(hours=30),
    )
    assert send_chunk(world, slow, 0, b"01234").status_code == 200  # started long ago, alive now

    assert expire_abandoned_uploads_task()["abandoned"]["uploads"] == 0
    assert send_chunk(world, slow, 5, b"56789").status_code == 200
    assert ArtifactUpload.objects.get(public_id=slow).received == 10


def test_a_completion_attempt_counts_as_activity(world: World, media_root: Path) -> None:
    upload_id = begin(world, b"0123456789")
    send_all(world, upload_id, b"0123456789")
    ArtifactUpload.objects.filter(public_id=upload_id).update(
        last_activity_at=timezone.now() - timedelta(hours=30)
    )
    with pytest.MonkeyPatch.context() as failing:
        # The completion gets as far as dating its activity, then storage fails (a 5xx or a crash).
        failing.setattr(upload_staging, "assembled", _raise_os_error)
        with pytest.raises(OSError):
            complete(world, upload_id)

    assert expire_abandoned_uploads_task()["abandoned"]["uploads"] == 0
    assert ArtifactUpload.objects.filter(public_id=upload_id).exists()


def _raise_os_error(upload: ArtifactUpload) -> Any:
    raise OSError("storage unreachable")
