"""The worker part of the reliability suite (benchmarks/reliability.py): real builds by a real
Celery worker (concurrency 2) and Celery beat, pushing to Debian's docker-registry through a
~2 MB/s loopback proxy (so a push is in flight long enough to be hit), with faults injected:

- worker-sigkill: the whole worker (master and pool) SIGKILLed mid-push, started again; the
  run must end (failed "worker lost", by beat's reaper) with no second push of its image;
- pool-kill: only the pool process running the build SIGKILLed; another takes it over;
- concurrent-20: 20 builds started at once, all must succeed;
- registry-restart: the registry SIGKILLed mid-push, back 5 s later on the same port and
  storage; the build rides it out with the digest of an undisturbed build.

    .venv/bin/python benchmarks/reliability_worker.py [--only worker-sigkill,pool-kill]

The database is a fresh PostgreSQL one (see reliability_live.py, whose set-up this shares).
The correctness parts are tests (tests/builders/test_runs.py, test_redis_outage.py,
test_transient_retry.py); the timings live here.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("B2I_ALLOWED_REGISTRY_NETWORKS", "127.0.0.0/8,::1/128")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from b2i_console.redis_options import channel_layers  # noqa: E402
from benchmarks import reliability_live as live  # noqa: E402  (sets Django up)
from benchmarks.reliability_rows import record  # noqa: E402
from builders import services  # noqa: E402
from builders.artifacts.uploads import store_artifact  # noqa: E402
from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder  # noqa: E402
from projects.models import RegistrySecret  # noqa: E402
from tests.builders.conftest import busybox_environment  # noqa: E402
from tests.builders.slow_proxy import slow_proxy  # noqa: E402
from tests.builders.test_pipeline_e2e import wait_for_log  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at  # noqa: E402
from tests.fixtures.processes import ServiceProcess  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.fixtures.registry import Registry, start_registry  # noqa: E402

WORKDIR = live.WORKDIR
FINISHED = ("successful", "failed", "cancelled")
PROXY_BYTES_PER_SECOND = 2_000_000
OUTAGE_SECONDS = 5
Row = live.Row


@dataclass
class Lab:
    registry: Registry
    worker: CeleryWorker
    environment: BuildEnvironment
    secret: RegistrySecret
    small: Artifact  # ~1 MB: a build of a few seconds
    big: Artifact  # ~6 MB: ~3 s of pushing through the proxy


# --- scenarios ------------------------------------------------------------------------------


def worker_sigkill(lab: Lab, trials: int) -> Row:
    """The whole worker SIGKILLed mid-push and started again (as systemd or Kubernetes would):
    the run ends failed "worker lost" (beat's reaper), is never stuck, never pushed twice."""
    outcomes = []
    for number in range(trials):
        builder = new_builder(lab, f"killed-{number}", lab.big)
        run = services.do_start_run(builder)
        wait_for_log(run, "==> push", lab.worker, timeout=120)
        lab.worker.kill()
        killed = time.monotonic()
        lab.worker.start()
        ended = finished_within(run, 300)
        outcomes.append((ended, time.monotonic() - killed, manifest_puts(lab, builder)))
    ends = [f"{run.state}:{run.error_code or '-'}" for run, _, _ in outcomes if run]
    stuck = sum(1 for run, _, _ in outcomes if run is None)
    duplicates = sum(max(0, puts - 1) for _, _, puts in outcomes)
    seconds = [took for run, took, _ in outcomes if run]
    figure = (
        f"{len(ends)}/{trials} ended ({', '.join(sorted(set(ends)))}) in "
        f"{span(seconds)} s; {stuck} stuck; {duplicates} duplicate pushes"
    )
    met = stuck == 0 and duplicates == 0
    return Row("worker SIGKILL mid-build", str(trials), figure, "0 stuck, 0 duplicate pushes", met)


def pool_kill(lab: Lab, trials: int) -> Row:
    """Only the pool process building is SIGKILLed: another pool process takes the run over
    (claimed again, from the start) and it succeeds."""
    takeovers: list[float] = []
    succeeded = 0
    for number in range(trials):
        builder = new_builder(lab, f"pool-{number}", lab.big)
        run = services.do_start_run(builder)
        wait_for_log(run, "==> push", lab.worker, timeout=120)
        run.refresh_from_db()
        os.kill(int(run.worker_host.rsplit(":", 1)[1]), signal.SIGKILL)
        killed = time.monotonic()
        if claimed_again(run, run.attempt, 120):
            takeovers.append(time.monotonic() - killed)
        ended = finished_within(run, 240)
        succeeded += int(ended is not None and ended.state == "successful")
    figure = f"{len(takeovers)}/{trials} taken over in {span(takeovers)} s, {succeeded} succeeded"
    met = succeeded == trials and len(takeovers) == trials
    return Row("pool process SIGKILL mid-build", str(trials), figure, "taken over, succeeds", met)


def concurrent_builds(lab: Lab, trials: int, count: int = 20) -> Row:
    """COUNT builds started at once on one worker of concurrency 2: every one succeeds."""
    builders = [new_builder(lab, f"many-{number}", lab.small) for number in range(count)]
    started = time.monotonic()
    runs = [services.do_start_run(builder) for builder in builders]
    ended = [finished_within(run, 900) for run in runs]
    took = time.monotonic() - started
    good = sum(1 for run in ended if run is not None and run.state == "successful")
    figure = f"{good}/{count} succeeded in {took:.0f} s (worker concurrency 2)"
    return Row(f"{count} builds started at once", str(count), figure, "all succeed", good == count)


def registry_restart(lab: Lab, trials: int) -> Row:
    """The registry SIGKILLed mid-push and back after 5 s (same port, same storage): the build
    retries through it and pushes the digest of an undisturbed run of the same builder (the
    builder's name is in the image, so each trial first builds to a repository of its own)."""
    outcomes: list[tuple[str, str]] = []
    for number in range(trials):
        builder = new_builder(lab, f"restart-{number}", lab.big)
        builder.image_name += "-reference"
        builder.save()
        reference = finished_within(services.do_start_run(builder), 240)
        expected = reference.digest if reference and reference.state == "successful" else "-"
        builder.image_name = builder.image_name.removesuffix("-reference")
        builder.save()
        run = services.do_start_run(builder)
        wait_for_log(run, "==> push", lab.worker, timeout=120)
        lab.registry.process.kill()
        time.sleep(OUTAGE_SECONDS)  # the fault itself: how long the registry is away
        lab.registry.process.start()
        ended = finished_within(run, 300)
        got = ended.digest if ended and ended.state == "successful" else "failed"
        outcomes.append((expected, got))
    identical = sum(1 for expected, got in outcomes if expected == got)
    figure = f"{identical}/{trials} built with the digest of an undisturbed run"
    return Row(
        f"registry SIGKILL mid-push, back after {OUTAGE_SECONDS} s",
        str(trials),
        figure,
        "succeeds, identical digest",
        identical == trials,
    )


SCENARIOS: dict[str, Callable[[Lab, int], Row]] = {
    "concurrent-20": concurrent_builds,
    "pool-kill": pool_kill,
    "worker-sigkill": worker_sigkill,
    # Last: restarting the registry starts its log anew, which manifest_puts reads.
    "registry-restart": registry_restart,
}


# --- helpers --------------------------------------------------------------------------------


def finished_within(run: BuildRun, timeout: float) -> BuildRun | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.state in FINISHED:
            return run
        time.sleep(0.2)
    return None


def claimed_again(run: BuildRun, attempt: int, timeout: float) -> bool:
    """Whether the run is claimed once more (a higher attempt) within TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if BuildRun.objects.filter(pk=run.pk, attempt__gt=attempt).exists():
            return True
        time.sleep(0.05)
    return False


def manifest_puts(lab: Lab, builder: ImageBuilder) -> int:
    """How many manifests the registry accepted for BUILDER's image (from its request log)."""
    log = (lab.registry.workdir / "registry.log").read_text(errors="replace")
    uri = f"/v2/{builder.image_name}/manifests/"
    return sum(
        1
        for line in log.splitlines()
        if "response completed" in line and "method=PUT" in line and uri in line
    )


def span(seconds: list[float]) -> str:
    if not seconds:
        return "-"
    return f"{min(seconds):.1f}-{max(seconds):.1f}"


def new_builder(lab: Lab, name: str, artifact: Artifact) -> ImageBuilder:
    return ImageBuilder.objects.create(
        project=lab.secret.project,
        name=name,
        artifact_kind="binary",
        environment=lab.environment,
        image_name=f"bench/{name}",
        registry_secret=lab.secret,
        artifact=artifact,
    )


def stored_binary(lab_secret: RegistrySecret, name: str, megabytes: float) -> Artifact:
    binary = artifacts.build_static_binary(WORKDIR, name, name=name, padding=int(megabytes * 1e6))
    return store_artifact(
        lab_secret.project,
        None,
        binary,
        file_name=binary.name,
        sha256=hashlib.sha256(binary.read_bytes()).hexdigest(),
        size=binary.stat().st_size,
        expected_kind="binary",
    ).artifact


# --- the lab --------------------------------------------------------------------------------


def process_env(redis: RedisServer) -> dict[str, str]:
    names = ("SECRET_KEY", "B2I_SECRET_KEYS", "MEDIA_ROOT", "B2I_ALLOWED_REGISTRY_NETWORKS")
    return {name: os.environ[name] for name in names} | {"REDIS_URL": redis.url}


def celery_beat(redis: RedisServer) -> ServiceProcess:
    """Celery beat, as deployed: it schedules the reaper that fails runs of a dead worker."""
    env = process_env(redis) | {"DATABASE_URL": os.environ["DATABASE_URL"]}
    env["PYTHONPATH"] = str(REPO)
    schedule = str(WORKDIR / "beat-schedule")
    args = [sys.executable, "-m", "celery", "-A", "b2i_console", "beat", "-s", schedule]
    return ServiceProcess("beat", args, WORKDIR / "beat.log", env, REPO).start()


@contextmanager
def lab() -> Iterator[Lab]:
    call_command("migrate", verbosity=0)
    (WORKDIR / "redis").mkdir(exist_ok=True)
    (WORKDIR / "registry").mkdir(exist_ok=True)
    redis = RedisServer(WORKDIR / "redis").start()
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    point_celery_at(redis.url)
    registry = start_registry(WORKDIR / "registry")
    layer = bases.busybox_layer(WORKDIR)
    base = bases.push_base_image(
        WORKDIR, registry, "base/busybox", "1", layer, bases.BUSYBOX_SETTINGS
    )
    with slow_proxy(registry.port, PROXY_BYTES_PER_SECOND) as proxy:
        environment = busybox_environment(f"{proxy.host}/{base.repository}:{base.tag}")
        _, builder = live.make_world()
        secret = builder.registry_secret
        RegistrySecret.objects.filter(pk=secret.pk).update(address=f"http://{proxy.host}")
        secret.refresh_from_db()
        worker = CeleryWorker(redis.url, WORKDIR, process_env(redis), concurrency=2).start()
        beat = celery_beat(redis)
        try:
            small = stored_binary(secret, "small", 1)
            big = stored_binary(secret, "big", 6)
            yield Lab(registry, worker, environment, secret, small, big)
        finally:
            beat.stop()
            worker.stop()
            registry.process.stop()
            redis.stop()


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    options.add_argument("--only", default=",".join(SCENARIOS))
    options.add_argument("--trials", type=int, default=3)
    args = options.parse_args(argv)
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        options.error(f"unknown scenarios {sorted(unknown)}; choose from {','.join(SCENARIOS)}")
    with lab() as running:
        rows = [SCENARIOS[name](running, args.trials) for name in chosen]
    live.print_table(rows)
    record(rows)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
