"""Expiry of resumable uploads and of staged bytes nobody will read again (Celery beat, hourly).

Rules (docs/build-pipeline.md, "Retention of staged bytes"):
- an upload never completed and idle (no chunk, no completion attempt) for B2I_UPLOAD_EXPIRY_HOURS
  is deleted with its staged bytes;
- staged bytes of a completed upload (completion removes them itself; a process that died in
  between leaves them) go B2I_UPLOAD_STAGING_GRACE_MINUTES after the completion;
- staged bytes with no upload row (its deletion could not reach storage, or happened before
  deletions removed staged bytes) and local scratch files of dead processes go once nothing has
  written to them for the grace period;
- stored artifacts and archived logs no row names any more go after the same grace
  (builders.artifacts.stored_files; a deleted row's file normally goes at once).

Safe to run twice at once and beside web servers: the sweep decides from the database after
listing storage, an upload in progress is never touched (a chunk being written holds its row
lock, which the expiry skips), every removal tolerates a file already gone, and the grace keeps
a completion still reading its bytes (or an upload whose row is not committed yet) out of reach.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from builders.artifacts import staging
from builders.artifacts.staging import StagedFile
from builders.artifacts.stored_files import sweep_unowned_files
from builders.models import ArtifactUpload

logger = logging.getLogger(__name__)


@dataclass
class Removed:
    """What one rule removed: uploads (or scratch files), staged files and their bytes."""

    uploads: int = 0
    files: int = 0
    bytes: int = 0

    def add(self, files: list[StagedFile]) -> None:
        self.uploads += 1
        self.files += len(files)
        self.bytes += sum(item.size for item in files)


@dataclass
class ExpiryReport:
    abandoned: Removed
    completed: Removed
    orphaned: Removed
    scratch: Removed
    unowned: Removed  # artifacts and archived logs no row names (builders.artifacts.stored_files)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {name: vars(removed) for name, removed in vars(self).items()}


def expire_uploads() -> ExpiryReport:
    """Apply every rule once with the configured ages; log what went."""
    now = timezone.now()
    grace_cutoff = now - timedelta(minutes=settings.B2I_UPLOAD_STAGING_GRACE_MINUTES)
    abandoned = expire_abandoned_uploads(now - timedelta(hours=settings.B2I_UPLOAD_EXPIRY_HOURS))
    completed, orphaned = sweep_staged_uploads(grace_cutoff)
    scratch = sweep_scratch(grace_cutoff)
    unowned = Removed()
    for item in sweep_unowned_files(grace_cutoff):
        unowned.add([item])
    report = ExpiryReport(abandoned, completed, orphaned, scratch, unowned)
    log_report(report)
    return report


def expire_abandoned_uploads(idle_since: datetime) -> Removed:
    """Delete the uploads never completed and idle (no chunk, no completion) since `idle_since`."""
    removed = Removed()
    idle = {"artifact__isnull": True, "last_activity_at__lt": idle_since}
    candidates = ArtifactUpload.objects.filter(**idle)
    for pk in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            # skip_locked: a chunk being written now (its request holds the lock) wins; another
            # sweep holding it deletes the row itself.
            upload = (
                ArtifactUpload.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, **idle)  # again under the lock: a chunk or completion may have come
                .first()
            )
            if upload is None:
                continue
            files = staging.staged_files(upload.public_id)
            staging.remove_files(files)
            upload.delete()  # the post_delete handler looks again once this commits
        removed.add(files)
    return removed


def sweep_staged_uploads(cutoff: datetime) -> tuple[Removed, Removed]:
    """Remove staged bytes of uploads completed before `cutoff`, or with no row at all."""
    completed, orphaned = Removed(), Removed()
    staged = staging.staged_upload_ids()
    # Read after listing: a row deleted meanwhile is seen as still there (swept next time).
    rows = {
        row["public_id"]: row
        for row in ArtifactUpload.objects.filter(public_id__in=staged).values(
            "public_id", "artifact_id", "completed_at"
        )
    }
    for public_id in sorted(staged):
        row = rows.get(public_id)
        if row is None:
            swept = sweep_orphan(public_id, cutoff)
            if swept:
                orphaned.add(swept)
        elif completed_before(row, cutoff):
            files = staging.staged_files(public_id)
            if files:  # none: removed meanwhile by the completion or another sweep
                staging.remove_files(files)
                completed.add(files)
    return completed, orphaned


def completed_before(row: Mapping[str, object], cutoff: datetime) -> bool:
    if row["artifact_id"] is None:
        return False  # in progress: only the abandoned-upload rule may delete it
    completed_at = row["completed_at"]
    # Completed before completed_at was recorded: long ago.
    return not isinstance(completed_at, datetime) or completed_at < cutoff


def sweep_orphan(public_id: uuid.UUID, cutoff: datetime) -> list[StagedFile]:
    """Remove the staged bytes of an upload without a row, unless written after `cutoff`."""
    files = staging.staged_files(public_id)
    # A file this recent may belong to an upload whose row is not committed yet.
    if not files or any(item.modified >= cutoff for item in files):
        return []
    staging.remove_files(files)
    return files


def sweep_scratch(cutoff: datetime) -> Removed:
    """Remove this machine's temporary upload files untouched since `cutoff` (dead processes)."""
    removed = Removed()
    for item in staging.stale_scratch(cutoff):
        staging.remove_files([item])
        removed.add([item])
    return removed


def log_report(report: ExpiryReport) -> None:
    abandoned, completed, orphaned = report.abandoned, report.completed, report.orphaned
    if abandoned.uploads:
        logger.info(
            "expired %d abandoned uploads: %d staged files, %d bytes removed",
            abandoned.uploads,
            abandoned.files,
            abandoned.bytes,
        )
    if completed.uploads:
        logger.info(
            "removed staged bytes left by %d completed uploads: %d files, %d bytes",
            completed.uploads,
            completed.files,
            completed.bytes,
        )
    if orphaned.uploads:
        logger.info(
            "removed staged bytes of %d uploads without a row: %d files, %d bytes",
            orphaned.uploads,
            orphaned.files,
            orphaned.bytes,
        )
    if report.scratch.files:
        logger.info(
            "removed %d scratch files of dead processes: %d bytes",
            report.scratch.files,
            report.scratch.bytes,
        )
    if report.unowned.files:
        logger.info(
            "removed %d stored files no artifact or run names any more: %d bytes",
            report.unowned.files,
            report.unowned.bytes,
        )
