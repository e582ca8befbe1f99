"""State changes of builders and runs: `check_…` validates then acts, `do_…` acts.

Every transition of a BuildRun is one guarded UPDATE (`…filter(state=…).update(…)`), so two
actors racing (a worker finishing, the reaper, a user cancelling, a duplicate task delivery)
can never both win. Tasks are enqueued (by name, `builders.build_queue`), channel
notifications and `builders.signals.build_succeeded` sent only after the transaction commits,
so a worker or a subscriber never looks for a row that is not visible yet.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from builders import build_queue, counters, quotas
from builders.logs import LATE_CANCEL_LINE, SUCCESS_LINE, RunLog, failure_line, notify_state
from builders.models import Artifact, BuildRun, BuildState, ImageBuilder
from builders.signals import build_finished, build_succeeded

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


# --- starting runs -------------------------------------------------------------------------


def do_start_run(
    builder: ImageBuilder,
    *,
    user: User | AnonymousUser | None = None,
    artifact: Artifact | None = None,
    tag: str | None = None,
    artifact_url: str = "",
    artifact_url_sha256: str = "",
    triggered_by: str = "",
) -> BuildRun:
    """Queue run #n of the builder; older queued runs are superseded; enqueued after commit."""
    with transaction.atomic():
        # Locking the builder row serialises run numbering and supersession per builder.
        locked = ImageBuilder.objects.select_for_update().get(pk=builder.pk)
        if artifact is not None and artifact.pk != locked.artifact_id:
            locked.artifact = artifact
        if tag:
            locked.tag = tag
        number = locked.next_run_number
        locked.next_run_number = number + 1
        locked.save(update_fields=["artifact", "tag", "next_run_number", "updated_at"])
        run = BuildRun.objects.create(
            builder=locked,
            number=number,
            artifact=None if artifact_url else locked.artifact,
            artifact_url=artifact_url,
            artifact_url_sha256=artifact_url_sha256,
            tag=locked.tag,
            created_by=user if user is not None and user.is_authenticated else None,
            triggered_by=triggered_by,
            task_id=str(uuid.uuid4()),
        )
        _supersede_queued_runs(locked, run)
        transaction.on_commit(lambda: enqueue_run(run))
    builder.refresh_from_db()
    return run


def _supersede_queued_runs(builder: ImageBuilder, newer: BuildRun) -> None:
    older = list(
        BuildRun.objects.filter(builder=builder, state=BuildState.PENDING).exclude(pk=newer.pk)
    )
    for run in older:
        reason = f"superseded by run #{newer.number}"
        if _finish(
            run, BuildState.CANCELLED, "build:superseded", reason, f"Build cancelled: {reason}"
        ):
            transaction.on_commit(partial(revoke_task, run.task_id))


def enqueue_run(run: BuildRun) -> None:
    build_queue.send_run(run.pk, task_id=run.task_id or None)


def revoke_task(task_id: str) -> None:
    """Tell workers to drop a task (a redelivered copy is then skipped); best effort."""
    if not task_id:
        return
    try:
        build_queue.revoke(task_id)
    except Exception:  # the guarded claim makes a stale delivery harmless anyway
        logger.warning("could not revoke task %s", task_id, exc_info=True)


# --- claiming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What a task delivery may do with its run: `claimed` True means build it now."""

    claimed: bool
    reason: str = ""
    retry_after: int = 0


def do_claim_run(run_id: int, *, worker_host: str, task_id: str = "") -> Claim:
    """Move a Pending run to Running with one atomic UPDATE; duplicates and stale copies lose.

    A run of a workspace at its concurrent-build limit is not claimed: it stays Pending,
    marked waiting for a slot, until a run of the workspace ends (builders.quotas)."""
    now = timezone.now()
    workspace_id = quotas.workspace_of_run(run_id)
    try:
        with transaction.atomic():
            # Locks the workspace's quota row: claims of one workspace count one at a time.
            slot = quotas.check_build_slot(workspace_id) if workspace_id else quotas.SlotCheck(True)
            if not slot.free and _wait_for_slot(run_id, slot):
                return Claim(False, "waiting for a build slot")
            claimed = BuildRun.objects.filter(
                pk=run_id, state=BuildState.PENDING, cancel_requested=False
            ).update(
                state=BuildState.RUNNING,
                started_at=now,
                heartbeat_at=now,
                attempt=F("attempt") + 1,
                worker_host=worker_host[:255],
                waiting_for_slot_since=None,
                **({"task_id": task_id} if task_id else {}),
            )
    except IntegrityError:
        # Another run of this builder is Running (partial unique index): when it ends, it
        # enqueues the newest queued run again, so this delivery can simply stop.
        return Claim(False, "builder busy")
    if claimed:
        notify_state(run_id)
        return Claim(True)
    return _take_over_lost_run(run_id, worker_host=worker_host, now=now)


def _wait_for_slot(run_id: int, slot: quotas.SlotCheck) -> bool:
    """Leave a Pending run queued (True): its message goes; a finishing run of the workspace
    or the release sweep queues it again. False for a run no longer Pending (a redelivery of a
    Running one: the take-over decides)."""
    if not BuildRun.objects.filter(pk=run_id, state=BuildState.PENDING).exists():
        return False
    if quotas.mark_waiting(run_id):
        log = RunLog(run_id)
        log.write(
            f"Waiting for a build slot: {slot.used} of {slot.limit} builds of this workspace "
            "are running (its quota); the build starts when one ends"
        )
        log.flush()
    transaction.on_commit(partial(notify_state, run_id))
    return True


def _take_over_lost_run(run_id: int, *, worker_host: str, now: datetime) -> Claim:
    """Re-claim a Running run whose worker died (a redelivered task) unless attempts ran out."""
    run = BuildRun.objects.filter(pk=run_id, state=BuildState.RUNNING).first()
    if run is None:
        return Claim(False, "not pending")
    limit = settings.B2I_BUILD_LOST_AFTER_SECONDS
    stale = run.heartbeat_at is None or run.heartbeat_at < now - timedelta(seconds=limit)
    if not (stale or holder_is_dead(run.worker_host)):
        # A live worker holds it (or a redelivery came early): look again once it could be lost.
        return Claim(False, "held by a live worker", retry_after=limit)
    # Guarded on the holder and heartbeat we saw, so two redeliveries cannot both take over.
    seen = {"worker_host": run.worker_host, "heartbeat_at": run.heartbeat_at}
    if run.attempt < MAX_ATTEMPTS:
        took = BuildRun.objects.filter(pk=run_id, state=BuildState.RUNNING, **seen).update(
            heartbeat_at=now, attempt=F("attempt") + 1, worker_host=worker_host[:255]
        )
        return Claim(bool(took), "took over a lost run" if took else "not pending")
    reason = f"worker lost {run.attempt} times"
    _finish(
        run,
        BuildState.FAILED,
        "build:worker-lost",
        reason,
        failure_line(reason),
        from_states=(BuildState.RUNNING,),
        where=seen,
    )
    return Claim(False, "not pending")


def holder_is_dead(worker_host: str) -> bool:
    """Tell whether `host:pid` names a process of this machine that no longer exists."""
    host, _, pid = worker_host.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False  # another machine (the heartbeat decides), or not a pid we can check
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True  # e.g. the pool process was killed; Celery redelivered its task at once
    except PermissionError:
        return False
    return False


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- while running --------------------------------------------------------------------------


def do_heartbeat(run_id: int) -> bool:
    """Record that the worker is alive; return True when a cancel was requested."""
    BuildRun.objects.filter(pk=run_id, state=BuildState.RUNNING).update(heartbeat_at=timezone.now())
    return is_cancel_requested(run_id)


def is_cancel_requested(run_id: int) -> bool:
    row = BuildRun.objects.filter(pk=run_id).values("state", "cancel_requested").first()
    return row is None or row["cancel_requested"] or row["state"] != BuildState.RUNNING


def do_request_cancel(run: BuildRun) -> BuildRun:
    """Cancel a queued run at once; ask a running one to stop (it does within seconds)."""
    reason = "cancelled by a user"
    if _finish(run, BuildState.CANCELLED, "build:cancelled", reason, "Build cancelled"):
        revoke_task(run.task_id)
    else:
        BuildRun.objects.filter(pk=run.pk, state=BuildState.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    return run


# --- finishing ------------------------------------------------------------------------------


def _finish(
    run: BuildRun,
    state: str,
    code: str,
    message: str,
    last_line: str,
    *,
    from_states: tuple[str, ...] = (BuildState.PENDING,),
    log: RunLog | None = None,
    extra: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> bool:
    """Move the run to a final state if it is still in `from_states`; write its last log line."""
    now = timezone.now()
    with transaction.atomic():
        if BuildState.RUNNING in from_states:
            # A running run frees a build slot: under the quota lock, so a claim counting the
            # slots either sees it end or is seen waiting by the release after this commits.
            quotas.lock_quota_of_run(run.pk)
        guard = BuildRun.objects.filter(pk=run.pk, state__in=from_states, **(where or {}))
        done = guard.update(
            state=state,
            error_code=code if state != BuildState.SUCCESSFUL else "",
            error_message=message if state != BuildState.SUCCESSFUL else "",
            finished_at=now,
            **(extra or {}),
        )
        if not done:
            return False
        log = log or RunLog(run.pk)
        if state == BuildState.SUCCESSFUL and _cancel_came_too_late(run.pk):
            log.write(LATE_CANCEL_LINE)
        log.write(last_line)
        log.flush()
        transaction.on_commit(lambda: _after_finish(run))
    return True


def _cancel_came_too_late(run_id: int) -> bool:
    """Whether a cancel was asked for while the run finished (read after the guarded update, in
    its transaction: a cancel landing later matches no Running row and changes nothing)."""
    return BuildRun.objects.filter(pk=run_id, cancel_requested=True).exists()


def _after_finish(run: BuildRun) -> None:
    notify_state(run.pk)
    sent = enqueue_next_queued_run(run.builder_id)
    quotas.release_waiting_runs(run.pk, skip={sent} if sent else set())
    announce_success(run)
    announce_finished(run)


def announce_success(run: BuildRun) -> None:
    """Send `build_succeeded` for a run that ended Successful (workloads rolls its services)."""
    if not BuildRun.objects.filter(pk=run.pk, state=BuildState.SUCCESSFUL).exists():
        return
    for receiver, outcome in build_succeeded.send_robust(sender=BuildRun, run=run):
        if isinstance(outcome, Exception):  # a subscriber's problem never changes the build
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s failed after run %s succeeded", name, run.pk, exc_info=outcome)


def announce_finished(run: BuildRun) -> None:
    """Send `build_finished` for a run in a final state (notifications tell the members)."""
    for receiver, outcome in build_finished.send_robust(sender=BuildRun, run=run):
        if isinstance(outcome, Exception):  # a subscriber's problem never changes the build
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s failed after run %s finished", name, run.pk, exc_info=outcome)


def enqueue_next_queued_run(builder_id: int) -> int | None:
    """Re-enqueue the builder's newest queued run (its first delivery may have found it busy);
    return its id."""
    queued = (
        BuildRun.objects.filter(builder_id=builder_id, state=BuildState.PENDING)
        .order_by("-number")
        .first()
    )
    if queued is None:
        return None
    enqueue_run_again(queued)
    return queued.pk


def enqueue_run_again(run: BuildRun) -> None:
    build_queue.send_run(run.pk)


def do_mark_successful(run: BuildRun, result: dict[str, Any], log: RunLog) -> bool:
    """Record the pushed image and end the run Successful (unless the reaper ended it first)."""
    log.flush()
    finished = _finish(
        run,
        BuildState.SUCCESSFUL,
        "",
        "",
        SUCCESS_LINE,
        from_states=(BuildState.RUNNING,),
        log=log,
        extra=result,
    )
    if finished:  # bytes this push sent and those the registry already had (for /metrics)
        environment = run.builder.environment.name
        counters.increment_after_commit(
            counters.PUSHED_BYTES, environment, int(result.get("bytes_pushed") or 0)
        )
        counters.increment_after_commit(
            counters.REUSED_BYTES, environment, int(result.get("bytes_reused") or 0)
        )
    return finished


def do_mark_failed(run: BuildRun, code: str, message: str, log: RunLog | None = None) -> bool:
    """End a Running run Failed with an error code; its last log line is `Build failed: …`."""
    if log is not None:
        log.flush()
    return _finish(
        run,
        BuildState.FAILED,
        code,
        message,
        failure_line(message),
        from_states=(BuildState.RUNNING,),
        log=log,
    )


def do_mark_cancelled(run: BuildRun, log: RunLog | None = None) -> bool:
    """End a Running run Cancelled after the worker stopped cooperatively."""
    if log is not None:
        log.flush()
    return _finish(
        run,
        BuildState.CANCELLED,
        "build:cancelled",
        "cancelled by a user",
        "Build cancelled",
        from_states=(BuildState.RUNNING,),
        log=log,
    )


def do_reap_lost_runs() -> list[int]:
    """Fail Running runs whose heartbeat is older than the limit ("worker lost"); revoke them."""
    limit = settings.B2I_BUILD_LOST_AFTER_SECONDS
    stale_before = timezone.now() - timedelta(seconds=limit)
    reaped = []
    still_stale = {"heartbeat_at__lt": stale_before}  # a late heartbeat wins the race
    for run in BuildRun.objects.filter(state=BuildState.RUNNING, **still_stale):
        cancelled = run.cancel_requested
        reason = "cancelled by a user" if cancelled else f"worker lost (no heartbeat for {limit} s)"
        ended = _finish(
            run,
            BuildState.CANCELLED if cancelled else BuildState.FAILED,
            "build:cancelled" if cancelled else "build:worker-lost",
            reason,
            "Build cancelled" if cancelled else failure_line(reason),
            from_states=(BuildState.RUNNING,),
            where=still_stale,
        )
        if ended:
            revoke_task(run.task_id)
            reaped.append(run.pk)
    return reaped


# --- lost queue messages --------------------------------------------------------------------


def do_requeue_lost_pending_runs() -> dict[str, list[int]]:
    """Queue again Pending runs whose queue message was lost; fail them after a few losses.

    A run counts as lost when it has waited longer than B2I_PENDING_REQUEUE_AFTER since it was
    last queued, its builder runs nothing (else it waits for that run by design), and no message
    for it is queued or reserved in the broker (a long queue is not a loss). A duplicate message
    is harmless: the claim is one guarded UPDATE, so only one delivery ever builds the run.
    """
    done: dict[str, list[int]] = {"cancelled": [], "requeued": [], "failed": []}
    # The claim never takes a run with a cancel requested: end it instead of leaving it queued.
    for run in BuildRun.objects.filter(state=BuildState.PENDING, cancel_requested=True):
        reason = "cancelled by a user"
        where = {"cancel_requested": True}
        if _finish(
            run, BuildState.CANCELLED, "build:cancelled", reason, "Build cancelled", where=where
        ):
            revoke_task(run.task_id)
            done["cancelled"].append(run.pk)
    stale = list(_stale_pending_runs())
    held = build_queue.runs_held_by_broker() if stale else set()
    if held is None:
        return done  # the broker cannot be read, so a message cannot be sent either
    for run in stale:
        if run.pk in held:
            continue  # waiting behind other builds, not lost
        if run.requeues >= settings.B2I_PENDING_MAX_REQUEUES:
            if _give_up_lost_run(run):
                done["failed"].append(run.pk)
        elif _requeue_lost_run(run):
            done["requeued"].append(run.pk)
    return done


def _stale_pending_runs() -> QuerySet[BuildRun]:
    before = timezone.now() - timedelta(seconds=settings.B2I_PENDING_REQUEUE_AFTER)
    running = BuildRun.objects.filter(builder=OuterRef("builder"), state=BuildState.RUNNING)
    return (
        # A run waiting for a build slot has no message by design (the release sweep's).
        BuildRun.objects.filter(
            state=BuildState.PENDING, cancel_requested=False, waiting_for_slot_since__isnull=True
        )
        .annotate(queued_at=Coalesce("requeued_at", "created_at"))
        .filter(queued_at__lt=before)
        .exclude(Exists(running))
        .order_by("pk")
    )


def _requeue_lost_run(run: BuildRun) -> bool:
    """Count the loss, log it and send a new message (after commit); False if the run moved."""
    now = timezone.now()
    waited = int((now - (run.requeued_at or run.created_at)).total_seconds())
    count = run.requeues + 1
    task_id = str(uuid.uuid4())  # so a cancel revokes the message that is really queued
    with transaction.atomic():
        # Guarded on what we read: a claim or another sweep in between makes this a no-op. The
        # row stays locked until commit, so a claim waits and its log lines follow this one.
        moved = BuildRun.objects.filter(
            pk=run.pk, state=BuildState.PENDING, cancel_requested=False, requeues=run.requeues
        ).update(requeues=count, requeued_at=now, task_id=task_id)
        if not moved:
            return False
        log = RunLog(run.pk)
        log.write(
            f"No worker took this run within {waited} s and the build queue no longer holds it: "
            f"queued it again ({count} of {settings.B2I_PENDING_MAX_REQUEUES})"
        )
        log.flush()
        run.task_id = task_id
        transaction.on_commit(lambda: _send_requeued(run))
    return True


def _send_requeued(run: BuildRun) -> None:
    try:
        enqueue_run(run)
    except Exception:  # the row says Pending still: the next sweep counts it lost again
        logger.warning("could not queue run %s again", run.pk, exc_info=True)


def _give_up_lost_run(run: BuildRun) -> bool:
    reason = (
        f"the build queue lost this run {run.requeues + 1} times (queued again "
        f"{run.requeues} times); check that a build worker is running and that the broker "
        "(Redis) keeps its queue"
    )
    where = {"requeues": run.requeues, "cancel_requested": False}
    return _finish(
        run, BuildState.FAILED, "build:queue-lost", reason, failure_line(reason), where=where
    )
