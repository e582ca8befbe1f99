"""Workspace quotas: concurrent builds, artifact storage and image builders, set by platform
admins (builders.models.WorkspaceQuota; no row or an empty limit: no limit).

Every check runs inside the transaction that makes the change, after locking the workspace's
quota row (`SELECT … FOR UPDATE`): two requests, or two workers on different machines, of one
workspace then check and act one after the other, so neither can slip past the limit, and a
refused change leaves nothing half-created.

Builds beyond the concurrency limit stay Pending: the worker that picks one finds no slot,
marks it waiting (`waiting_for_slot_since`) and lets its message go. When a run of the
workspace ends, `release_waiting_runs` queues the oldest waiting runs for the slots that are
free; the pending sweep (every minute) does the same for a release message that was lost or a
limit an admin raised, so a waiting run never depends on one message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from b2i_console.errors import UserError
from builders import build_queue
from builders.models import Artifact, BuildRun, BuildState, ImageBuilder, WorkspaceQuota

logger = logging.getLogger(__name__)

QUOTA_STATUS = 409  # the request conflicts with the workspace's state (its limit), not a rate


@dataclass(frozen=True)
class SlotCheck:
    """The outcome of asking for a build slot: `free`, else `used` of `limit` are running."""

    free: bool
    used: int = 0
    limit: int | None = None


def locked_quota(workspace_id: int) -> WorkspaceQuota | None:
    """The workspace's quota row, locked until the transaction ends (None: no limits)."""
    return WorkspaceQuota.objects.select_for_update().filter(workspace_id=workspace_id).first()


def lock_quota_of_run(run_id: int) -> None:
    """Lock the quota row of the run's workspace (if it has one) until the transaction ends."""
    workspace_id = workspace_of_run(run_id)
    if workspace_id is not None:
        locked_quota(workspace_id)


def quota_of(workspace_id: int) -> WorkspaceQuota | None:
    return WorkspaceQuota.objects.filter(workspace_id=workspace_id).first()


# --- usage ----------------------------------------------------------------------------------


def running_builds(workspace_id: int) -> int:
    return BuildRun.objects.filter(
        builder__project__workspace_id=workspace_id, state=BuildState.RUNNING
    ).count()


def waiting_builds(workspace_id: int) -> int:
    return BuildRun.objects.filter(
        builder__project__workspace_id=workspace_id,
        state=BuildState.PENDING,
        waiting_for_slot_since__isnull=False,
    ).count()


def artifact_bytes(workspace_id: int) -> int:
    total = Artifact.objects.filter(project__workspace_id=workspace_id).aggregate(s=Sum("size"))
    return int(total["s"] or 0)


def builder_count(workspace_id: int) -> int:
    return ImageBuilder.objects.filter(project__workspace_id=workspace_id).count()


def workspace_usage(workspace_id: int) -> dict[str, Any]:
    """Limits and usage of a workspace, as the API and the workspace page show them."""
    quota = quota_of(workspace_id)
    return {
        "concurrent_builds": {
            "limit": quota.max_concurrent_builds if quota else None,
            "used": running_builds(workspace_id),
            "waiting": waiting_builds(workspace_id),
        },
        "artifact_bytes": {
            "limit": quota.max_artifact_bytes if quota else None,
            "used": artifact_bytes(workspace_id),
        },
        "builders": {
            "limit": quota.max_builders if quota else None,
            "used": builder_count(workspace_id),
        },
        "updated_at": quota.updated_at if quota else None,
    }


def set_workspace_quota(workspace_id: int, limits: dict[str, int | None]) -> WorkspaceQuota:
    """Change a workspace's limits (a platform admin's decision, checked by the caller); runs
    waiting for a slot that the new limit frees are queued once the change commits."""
    with transaction.atomic():
        quota, _ = WorkspaceQuota.objects.select_for_update().get_or_create(
            workspace_id=workspace_id
        )
        for name, value in limits.items():
            setattr(quota, name, value)
        quota.full_clean(exclude=["workspace"])
        quota.save()
        transaction.on_commit(lambda: release_in_workspace(workspace_id))
    return quota


def release_in_workspace(workspace_id: int, skip: set[int] | None = None) -> list[int]:
    """Queue the oldest waiting runs of the workspace for its free slots."""
    released = [run.pk for run in runs_to_release(workspace_id, skip)]
    for run_id in released:
        try:
            build_queue.send_run(run_id)
        except Exception:  # still marked waiting: the release sweep queues it within a minute
            logger.warning("could not queue waiting run %s", run_id, exc_info=True)
    return released


# --- checks inside the changing transaction -------------------------------------------------


def check_builder_quota(workspace_id: int, *, early: bool = False) -> None:
    """Refuse one more image builder past the limit (inside the creating transaction; `early`:
    before an artifact is stored for it, without the lock: the final check decides)."""
    quota = quota_of(workspace_id) if early else locked_quota(workspace_id)
    if quota is None or quota.max_builders is None:
        return
    used = builder_count(workspace_id)
    if used + 1 > quota.max_builders:
        raise UserError(
            "quota:builders",
            f"The workspace has {used} image builders and its quota allows "
            f"{quota.max_builders}; delete one or ask a platform admin to raise the limit.",
            QUOTA_STATUS,
            limit=quota.max_builders,
            used=used,
        )


def check_storage_quota(workspace_id: int, adding: int) -> None:
    """Refuse `adding` more artifact bytes past the limit (inside the storing transaction)."""
    quota = locked_quota(workspace_id)
    if quota is None or quota.max_artifact_bytes is None:
        return
    used = artifact_bytes(workspace_id)
    if used + adding > quota.max_artifact_bytes:
        raise storage_quota_error(quota.max_artifact_bytes, used, adding)


def check_storage_quota_early(workspace_id: int, adding: int) -> None:
    """The same check before any byte is sent (an upload's start): no lock, the final check
    when the artifact is stored decides."""
    quota = quota_of(workspace_id)
    if quota is None or quota.max_artifact_bytes is None:
        return
    used = artifact_bytes(workspace_id)
    if used + adding > quota.max_artifact_bytes:
        raise storage_quota_error(quota.max_artifact_bytes, used, adding)


def storage_quota_error(limit: int, used: int, adding: int) -> UserError:
    return UserError(
        "quota:artifact-storage",
        f"Storing {adding} more bytes would pass the workspace's artifact storage quota of "
        f"{limit} bytes ({used} bytes in use); delete unused artifacts or ask a platform admin "
        "to raise the limit.",
        QUOTA_STATUS,
        limit=limit,
        used=used,
    )


def check_build_slot(workspace_id: int) -> SlotCheck:
    """Whether one more build of the workspace may start now (inside the claiming transaction,
    which then moves the run to Running before the lock is released)."""
    quota = locked_quota(workspace_id)
    if quota is None or quota.max_concurrent_builds is None:
        return SlotCheck(True)
    used = running_builds(workspace_id)
    return SlotCheck(used < quota.max_concurrent_builds, used, quota.max_concurrent_builds)


def mark_waiting(run_id: int) -> bool:
    """Record that the run waits for a slot; True the first time (the caller logs it)."""
    return bool(
        BuildRun.objects.filter(
            pk=run_id, state=BuildState.PENDING, waiting_for_slot_since__isnull=True
        ).update(waiting_for_slot_since=timezone.now())
    )


def workspace_of_run(run_id: int) -> int | None:
    row = BuildRun.objects.filter(pk=run_id).values("builder__project__workspace_id").first()
    return None if row is None else int(row["builder__project__workspace_id"])


# --- releasing waiting runs -----------------------------------------------------------------


def runs_to_release(workspace_id: int, skip: set[int] | None = None) -> list[BuildRun]:
    """The oldest waiting runs of the workspace that the free slots can take now.

    A run whose builder is building another run is left out: it could not start anyway (one
    run per builder) and would take the turn of a run that can."""
    quota = quota_of(workspace_id)
    limit = quota.max_concurrent_builds if quota else None
    free = None if limit is None else max(limit - running_builds(workspace_id), 0)
    if free == 0:
        return []
    busy = BuildRun.objects.filter(builder=OuterRef("builder"), state=BuildState.RUNNING)
    waiting = (
        BuildRun.objects.filter(
            builder__project__workspace_id=workspace_id,
            state=BuildState.PENDING,
            cancel_requested=False,
            waiting_for_slot_since__isnull=False,
        )
        .exclude(Exists(busy))
        .exclude(pk__in=skip or set())
        .order_by("waiting_for_slot_since", "pk")
    )
    return list(waiting if free is None else waiting[:free])


def release_waiting_runs(finished_run_id: int, skip: set[int]) -> list[int]:
    """Queue the runs of the finished run's workspace that waited for the slot it freed."""
    workspace_id = workspace_of_run(finished_run_id)
    return [] if workspace_id is None else release_in_workspace(workspace_id, skip)


def do_release_waiting_runs() -> list[int]:
    """Queue waiting runs for free slots whose release message was lost or whose limit was
    raised (Celery beat); runs the broker already holds a message for are left alone."""
    workspaces = workspaces_with_waiting_runs()
    held = build_queue.runs_held_by_broker() if workspaces else set()
    if held is None:
        return []  # the broker cannot be read, so a message cannot be sent either
    released: list[int] = []
    for workspace_id in workspaces:
        for run in runs_to_release(workspace_id, skip=held):
            build_queue.send_run(run.pk)
            released.append(run.pk)
    return released


def workspaces_with_waiting_runs() -> list[int]:
    rows = BuildRun.objects.filter(
        state=BuildState.PENDING, waiting_for_slot_since__isnull=False
    ).values_list("builder__project__workspace_id", flat=True)
    return sorted(set(rows))


def slot_wait_of(run: BuildRun, cache: dict[int, tuple[int, int | None]]) -> Any:
    """For a run waiting for a slot: {"since", "used", "limit"} (the page's "N of M in use");
    None for any other run. `cache` keeps a workspace's counts over a page of runs."""
    if run.state != BuildState.PENDING or run.waiting_for_slot_since is None:
        return None
    workspace_id = workspace_of_run(run.pk)
    if workspace_id is None:
        return None
    if workspace_id not in cache:
        quota = quota_of(workspace_id)
        limit = quota.max_concurrent_builds if quota else None
        cache[workspace_id] = (running_builds(workspace_id), limit)
    used, limit = cache[workspace_id]
    return {"since": run.waiting_for_slot_since, "used": used, "limit": limit}
