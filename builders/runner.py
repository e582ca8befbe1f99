"""Drives one build run: claim → fetch artifact → engine (through an executor) → record result.

The executor decides where the engine runs (setting B2I_BUILD_EXECUTOR, loaded by name):
`InWorkerExecutor` (the default) calls `b2i.engine.build_image` inside the Celery worker;
`workloads.executor.KubernetesJobExecutor` runs it in a Kubernetes Job. Both implement
`builders.build_jobs.BuildExecutor`. Every engine event becomes a log line
(`b2i.event_text.log_line`); state changes go through `builders.services`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils.module_loading import import_string

from b2i.event_text import log_line
from b2i.oci.cancel import BuildCancelled, CancelToken
from b2i.oci.events import Event
from b2i_console.errors import UserError
from builders import services
from builders.artifacts.fetch import fetch_artifact_for_run
from builders.artifacts.storage import local_storage_path
from builders.build_jobs import BuildExecutor, BuildJob, RegistryTarget, RunCancelled
from builders.engine_adapter import run_engine
from builders.logs import RunLog
from builders.models import Artifact, BuildRun
from builders.supply_chain.options import supply_chain_options
from builders.supply_chain.store import RESULT_KEY, Documents, record_documents_safely
from builders.temp_sweep import temp_prefix
from builders.transient_retry import execute_with_transient_retries

if TYPE_CHECKING:
    from projects.models import Project, RegistrySecret

logger = logging.getLogger(__name__)


class ClaimHeldElsewhere(Exception):
    """A live worker holds the run; the task should look again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"held by a live worker; retry in {retry_after} s")
        self.retry_after = retry_after


class InWorkerExecutor:
    """Runs the framework-free engine inside this worker process."""

    def execute(
        self,
        job: BuildJob,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        return run_engine(job, on_event, cancel_requested)


def build_executor() -> BuildExecutor:
    executor: BuildExecutor = import_string(settings.B2I_BUILD_EXECUTOR)()
    return executor


# --- heartbeat ------------------------------------------------------------------------------


class Heartbeat:
    """A thread that beats every few seconds and notices a cancel within about one second."""

    def __init__(self, run_id: int, log: RunLog) -> None:
        self.run_id = run_id
        self.log = log
        # A token, not a plain Event: setting it also interrupts the artifact's download.
        self.cancelled = CancelToken()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.log.wake_flusher()
        self._thread.join(timeout=10)

    def cancel_requested(self) -> bool:
        return self.cancelled.is_set()

    def _loop(self) -> None:
        interval = settings.B2I_BUILD_HEARTBEAT_SECONDS
        last_beat = last_check = time.monotonic()
        try:
            while not self._stop.is_set():
                # Stores buffered lines as soon as their batch is due (0.1 s), not every 0.5 s.
                self.log.flush_pending(timeout=0.5)
                if time.monotonic() - last_check < 0.5:
                    continue
                last_check = time.monotonic()
                if last_check - last_beat >= interval:
                    last_beat = last_check
                    if services.do_heartbeat(self.run_id):
                        self.cancelled.set()
                elif services.is_cancel_requested(self.run_id):
                    self.cancelled.set()
        except Exception:
            logger.exception("heartbeat of run %s stopped", self.run_id)
        finally:
            connection.close()  # this thread's own connection


# --- the run --------------------------------------------------------------------------------


def run_build(run_id: int, *, task_id: str = "", executor: BuildExecutor | None = None) -> str:
    """Claim and build one run; return its final state (or why nothing was done)."""
    claim = services.do_claim_run(run_id, worker_host=worker_name(), task_id=task_id)
    if not claim.claimed and claim.retry_after:
        raise ClaimHeldElsewhere(claim.retry_after)
    if not claim.claimed:
        logger.info("run %s not built: %s", run_id, claim.reason)
        return claim.reason
    run = BuildRun.objects.select_related(
        "builder__environment",
        "builder__registry_secret",
        "builder__project__workspace",
        "artifact",
    ).get(pk=run_id)
    log = RunLog(run.pk, secrets=secrets_of(run))
    log.write(f"Build #{run.number} of {run.builder.name} started on {run.worker_host}")
    if run.attempt > 1:
        log.write(f"Attempt {run.attempt} (the previous worker was lost)")
    with Heartbeat(run.pk, log) as heartbeat:
        finish_run(run, log, heartbeat, executor or build_executor())
    run.refresh_from_db()
    return str(run.state)


def finish_run(run: BuildRun, log: RunLog, heartbeat: Heartbeat, executor: BuildExecutor) -> None:
    """Execute the build and record its outcome; no exception escapes as a stuck run."""
    try:
        result = execute_with_transient_retries(
            lambda: execute_run(run, log, heartbeat, executor), log, heartbeat.cancelled
        )
    except (RunCancelled, BuildCancelled):
        services.do_mark_cancelled(run, log)
    except SoftTimeLimitExceeded:
        limit = settings.B2I_BUILD_SOFT_TIME_LIMIT
        services.do_mark_failed(run, "build:timeout", f"the build took longer than {limit} s", log)
    except Exception as exc:
        if heartbeat.cancel_requested():  # the cancel interrupted what failed: not a failure
            services.do_mark_cancelled(run, log)
            return
        code, message = describe_error(exc)
        if code == "build:internal":
            logger.exception("run %s failed", run.pk)
        services.do_mark_failed(run, code, message, log)
    else:
        # Stored before the run shows Successful: a page that sees the success sees its SBOM.
        record_documents_safely(run, Documents.from_result(result.pop(RESULT_KEY, None)))
        services.do_mark_successful(run, result, log)


def describe_error(exc: BaseException) -> tuple[str, str]:
    """Return (code, message): our errors carry both; anything else is an internal error."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, str) and ":" in code and message:
        return code, str(message)
    return "build:internal", f"internal error ({type(exc).__name__}); see the worker log"


def execute_run(
    run: BuildRun, log: RunLog, heartbeat: Heartbeat, executor: BuildExecutor
) -> dict[str, Any]:
    on_event = EventLogger(log)
    with local_artifact(run, log, on_event, heartbeat.cancelled) as (artifact, path):
        if heartbeat.cancel_requested():
            raise RunCancelled()
        job = build_job(run, artifact, path)
        log.write(f"Image {job.image_reference} from environment {run.builder.environment.name}")
        result = executor.execute(job, on_event, heartbeat.cancel_requested)
    result.setdefault("step_timings", {})
    result["step_timings"] = {**on_event.timings, **result["step_timings"]}
    return result


@contextmanager
def local_artifact(
    run: BuildRun, log: RunLog, on_event: EventLogger, cancel: CancelToken | None = None
) -> Iterator[tuple[Artifact, Path]]:
    """Yield the run's artifact as a local file: from storage, or downloaded from its URL."""
    on_event(Event("step-started", step="fetch artifact"))
    started = time.monotonic()
    # The pid in the name lets the sweep tell a killed build's directory (temp_sweep.py).
    with tempfile.TemporaryDirectory(prefix=temp_prefix("run")) as workdir:
        if run.artifact_url:
            artifact = fetch_artifact_for_run(run, Path(workdir), log, cancel)
        else:
            if run.artifact is None:
                raise UserError("build:user:no-artifact", "the run has no artifact")
            artifact = run.artifact
        path = storage_file_path(artifact, Path(workdir))
        on_event(
            Event(
                "step-finished",
                step="fetch artifact",
                duration=time.monotonic() - started,
                message=f"{artifact.file_name} ({artifact.size} bytes, sha256 {artifact.sha256})",
            )
        )
        yield artifact, path


def storage_file_path(artifact: Artifact, workdir: Path) -> Path:
    """Return a local path of the stored artifact, copying it out of remote storage if needed."""
    local = local_storage_path(artifact.storage_key)
    if local is None:  # S3 and friends have no local path: stream a copy
        return copy_from_storage(artifact, workdir / "artifact")
    if not local.is_file():
        raise missing_artifact(artifact)
    return local


def copy_from_storage(artifact: Artifact, target: Path) -> Path:
    try:
        with default_storage.open(artifact.storage_key, "rb") as source, target.open("wb") as out:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                out.write(chunk)
    except FileNotFoundError as exc:
        raise missing_artifact(artifact) from exc
    return target


def missing_artifact(artifact: Artifact) -> UserError:
    return UserError(
        "artifact:missing",
        f"The stored artifact {artifact.file_name} is gone from storage; upload it again.",
    )


def build_job(run: BuildRun, artifact: Artifact, path: Path) -> BuildJob:
    builder = run.builder
    secret = builder.registry_secret
    return BuildJob(
        run_id=run.pk,
        artifact_path=path,
        artifact_file_name=artifact.file_name,
        artifact_sha256=artifact.sha256,
        artifact_kind=artifact.kind,
        environment=builder.environment.as_engine_dict(),
        environment_parameters={k: str(v) for k, v in builder.environment_parameters.items()},
        image_reference=builder.image_reference(run.tag),
        registry=registry_target(secret),
        allowed_networks=tuple(settings.B2I_ALLOWED_REGISTRY_NETWORKS),
        # Names the builder, not the run: the image config must not vary between runs so that
        # identical inputs give an identical digest (the run record links digest -> run).
        source=f"b2i://{builder.project.name}/{builder.name}",
        other_registries=other_registry_targets(builder.project, secret),
        supply_chain=supply_chain_options(run, artifact.file_name),
    )


def other_registry_targets(project: Project, target: RegistrySecret) -> tuple[RegistryTarget, ...]:
    found = []
    for other in project.registry_secrets.exclude(pk=target.pk):
        try:
            found.append(registry_target(other))
        except Exception:  # an unrelated broken secret must not fail this build
            logger.warning("registry secret %s cannot be decrypted; skipped", other.pk)
    return tuple(found)


def registry_target(secret: RegistrySecret) -> RegistryTarget:
    return RegistryTarget(
        host=secret.registry_host,
        scheme=secret.scheme,
        username=secret.username,
        password=secret.password,
        verify=not secret.skip_tls_verify,
        ca_bundle=secret.ca_bundle or None,
    )


def secrets_of(run: BuildRun) -> list[str]:
    values: list[str | None] = []
    readers: list[Callable[[], str | None]] = [
        lambda: run.builder.trigger_token,
        lambda: run.builder.registry_secret.password,
    ]
    for read in readers:
        try:
            values.append(read())
        except Exception:  # an undecryptable secret fails later with its own clear error
            logger.warning("a secret of run %s cannot be decrypted", run.pk)
    return [value for value in values if value]


def worker_name() -> str:
    """Return `host:pid`: the pid lets a redelivered task see that the old holder died."""
    return services.worker_identity()


class EventLogger:
    """Turns engine events into log lines and collects per-step timings."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.timings: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        if event.kind == "step-finished" and event.duration is not None:
            self.timings[event.step] = round(event.duration, 3)
        self.log.write(log_line(event))
