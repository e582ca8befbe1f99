"""Retention: each builder keeps its newest N finished runs with their logs, and artifacts
nothing references any more are removed after a grace period (Celery beat, hourly).

- Runs: per builder the newest `keep_runs` (the builder's own, else B2I_RUN_RETENTION)
  finished runs stay; older finished runs go with their log lines (cascade) and archived logs
  (builders.artifacts.stored_files removes the file after commit). A Pending or Running run is
  never deleted, nor a run another app still uses (`signals.runs_in_use`: a service's deployed
  run), and numbering goes on (a builder's next run number never comes back).
- Artifacts: one that no run and no builder names is marked `unreferenced_since` by the sweep;
  once B2I_ARTIFACT_GRACE_HOURS have passed since and it is still unreferenced, it is deleted
  with its stored file. A reference made meanwhile (a new builder, a run) clears the mark;
  the foreign keys (RESTRICT) refuse a deletion racing a new reference in the database too.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q, RestrictedError
from django.utils import timezone

from builders.models import FINISHED_STATES, Artifact, BuildRun, ImageBuilder
from builders.signals import runs_in_use

logger = logging.getLogger(__name__)

BATCH = 500


class RunsInUseUnknown(Exception):
    """A subscriber could not say which runs it uses: delete no run this round."""


@dataclass
class RetentionResult:
    runs_deleted: int = 0
    artifacts_marked: int = 0
    artifacts_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def run_ids_in_use() -> set[int]:
    """Runs other apps still need, asked through `runs_in_use`."""
    used: set[int] = set()
    for receiver, answer in runs_in_use.send_robust(sender=BuildRun):
        if isinstance(answer, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s could not list the runs it uses", name, exc_info=answer)
            raise RunsInUseUnknown(name) from answer
        used |= set(answer or ())
    return used


def kept_runs_of(builder: ImageBuilder) -> int:
    return int(builder.keep_runs or settings.B2I_RUN_RETENTION)


def expired_runs_of(builder: ImageBuilder, in_use: set[int]) -> list[int]:
    """Ids of the builder's finished runs past its newest `keep` ones (and not in use)."""
    keep = kept_runs_of(builder)
    finished = BuildRun.objects.filter(builder=builder, state__in=FINISHED_STATES)
    older = finished.order_by("-number").values_list("pk", flat=True)[keep:]
    return [pk for pk in older if pk not in in_use]


def delete_old_runs() -> int:
    """Delete finished runs past each builder's retention; return how many went."""
    in_use = run_ids_in_use()
    deleted = 0
    builders = ImageBuilder.objects.only("pk", "keep_runs").order_by("pk")
    for builder in builders.iterator(chunk_size=BATCH):
        expired = expired_runs_of(builder, in_use)
        for start in range(0, len(expired), BATCH):
            deleted += delete_finished_runs(expired[start : start + BATCH])
    return deleted


def delete_finished_runs(run_ids: list[int]) -> int:
    """Delete these runs if still finished (guarded: a run cannot come back to life, but the
    guard keeps the rule in one place); log lines cascade, archived logs go after commit."""
    with transaction.atomic():
        doomed = BuildRun.objects.filter(pk__in=run_ids, state__in=FINISHED_STATES)
        count = doomed.count()
        doomed.delete()
    return count


def referenced() -> Q:
    """True for an artifact a run or a builder names (negate it for the unreferenced)."""
    by_run = Exists(BuildRun.objects.filter(artifact=OuterRef("pk")))
    return Q(by_run) | Q(Exists(ImageBuilder.objects.filter(artifact=OuterRef("pk"))))


def mark_unreferenced_artifacts() -> int:
    """Start the grace period of newly unreferenced artifacts; end it for referenced ones."""
    Artifact.objects.filter(referenced(), unreferenced_since__isnull=False).update(
        unreferenced_since=None
    )
    return Artifact.objects.filter(~referenced(), unreferenced_since__isnull=True).update(
        unreferenced_since=timezone.now()
    )


def delete_unreferenced_artifacts() -> int:
    """Delete artifacts unreferenced for longer than the grace period, one by one."""
    cutoff = timezone.now() - timedelta(hours=settings.B2I_ARTIFACT_GRACE_HOURS)
    candidates = Artifact.objects.filter(~referenced(), unreferenced_since__lt=cutoff)
    deleted = 0
    for artifact_id in list(candidates.values_list("pk", flat=True)[:BATCH]):
        try:
            with transaction.atomic():
                # Checked again in the deleting transaction; RESTRICT refuses a racing reference.
                gone = Artifact.objects.filter(
                    ~referenced(), pk=artifact_id, unreferenced_since__lt=cutoff
                ).delete()[0]
        except (IntegrityError, ProtectedError, RestrictedError):
            logger.info("artifact %s got a reference while being removed; kept", artifact_id)
            continue
        deleted += 1 if gone else 0
    return deleted


def apply_retention() -> RetentionResult:
    """One round: old runs first (their artifacts may become unreferenced), then artifacts."""
    result = RetentionResult()
    # A subscriber's failure is logged; artifacts are still swept (a run in use keeps its
    # artifact referenced, so none of its artifacts can go).
    with contextlib.suppress(RunsInUseUnknown):
        result.runs_deleted = delete_old_runs()
    result.artifacts_marked = mark_unreferenced_artifacts()
    result.artifacts_deleted = delete_unreferenced_artifacts()
    return result
