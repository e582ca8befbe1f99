"""Stored artifacts and archived build logs go with their rows; files no row names are swept.

Before, deleting a project (or anything holding artifacts and runs) left every artifact file
and archived log in storage for ever; a crash between saving a file and committing its row did
the same. On the filesystem and on S3 (moto).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from builders import runner, services
from builders.artifacts import stored_files
from builders.log_archive import archive_old_logs
from builders.models import BuildRun
from builders.tasks import expire_abandoned_uploads_task
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor
from tests.builders.test_upload_expiry import sweep_at
from tests.builders.test_upload_staging import keys

pytestmark = pytest.mark.django_db(transaction=True)


def archived_run(world: World, busybox: Path, monkeypatch: pytest.MonkeyPatch) -> BuildRun:
    """A finished run of a builder on a stored artifact, its log archived to storage."""
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    run = services.do_start_run(builder)
    runner.run_build(run.pk, executor=ScriptedExecutor(lines=5))
    BuildRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=31))
    assert archive_old_logs(days=30) == 1
    run.refresh_from_db()
    return run


def test_deleting_a_project_removes_its_artifacts_and_archived_logs(
    world: World,
    media_root: Path,
    busybox: Path,
    channel_layer_on_redis: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = archived_run(world, busybox, monkeypatch)
    artifact_file = media_root / run.builder.artifact.storage_key
    log_file = media_root / run.log_archive_key
    assert artifact_file.is_file() and log_file.is_file()

    response = world.client("alice").delete("/api/v1/workspaces/acme/projects/shop/?confirm=shop")

    assert response.status_code == 204
    assert not artifact_file.exists() and not log_file.exists()


def test_a_storage_outage_at_deletion_is_logged_and_the_sweep_removes_the_file_later(
    world: World,
    media_root: Path,
    busybox: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    artifact = make_artifact(world.project, busybox)
    stored = media_root / artifact.storage_key

    def unreachable(name: str) -> None:
        raise OSError("storage unreachable")

    with monkeypatch.context() as outage, caplog.at_level(logging.WARNING):
        outage.setattr(default_storage, "delete", unreachable)
        artifact.delete()
    assert stored.is_file()
    assert any("the sweep will" in message for message in caplog.messages)

    hour_ago = time.time() - 2 * 3600
    os.utime(stored, (hour_ago, hour_ago))
    assert expire_abandoned_uploads_task()["unowned"]["files"] == 1
    assert not stored.exists()


def test_the_sweep_removes_only_old_files_no_row_names(
    world: World,
    media_root: Path,
    busybox: Path,
    channel_layer_on_redis: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = archived_run(world, busybox, monkeypatch)
    owned = [media_root / run.builder.artifact.storage_key, media_root / run.log_archive_key]
    crashed_upload = save(f"artifacts/{world.project.pk}/{'0' * 64}/app.jar", b"left behind")
    crashed_archive = save(f"build-logs/{world.project.pk}/999999.jsonl.gz", b"left behind")
    just_saved = save(f"artifacts/{world.project.pk}/{'1' * 64}/new.jar", b"row coming")
    two_hours_ago = time.time() - 2 * 3600
    for path in (*owned, crashed_upload, crashed_archive):
        os.utime(path, (two_hours_ago, two_hours_ago))

    report = expire_abandoned_uploads_task()

    assert report["unowned"] == {"uploads": 2, "files": 2, "bytes": 2 * len(b"left behind")}
    assert not crashed_upload.exists() and not crashed_archive.exists()
    assert all(path.is_file() for path in (*owned, just_saved))


def test_on_s3_the_sweep_and_the_deletion_remove_objects_too(
    world: World, s3_bucket: Any, busybox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = make_artifact(world.project, busybox)
    other = busybox.with_name("other")
    other.write_bytes(busybox.read_bytes() + b"\0")
    deleted = make_artifact(world.project, other)
    default_storage.save(f"artifacts/{world.project.pk}/{'0' * 64}/app.jar", ContentFile(b"x"))

    deleted.delete()
    assert keys(s3_bucket, "artifacts/") == sorted(
        [kept.storage_key, f"artifacts/{world.project.pk}/{'0' * 64}/app.jar"]
    )
    report = sweep_at(timezone.now() + timedelta(hours=2), monkeypatch)

    assert report["unowned"]["files"] == 1
    assert keys(s3_bucket, "artifacts/") == [kept.storage_key]


def test_listing_walks_every_level_under_a_prefix(media_root: Path) -> None:
    names = ["artifacts/1/a/x.jar", "artifacts/1/b/y.jar", "artifacts/2/c/z.war"]
    for name in names:
        save(name, b"-")

    assert sorted(stored_files.stored_keys("artifacts")) == names
    assert list(stored_files.stored_keys("nothing-here")) == []


def save(name: str, content: bytes) -> Path:
    stored = default_storage.save(name, ContentFile(content))
    assert stored == name
    return Path(default_storage.path(stored))
