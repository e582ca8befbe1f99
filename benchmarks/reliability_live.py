"""Reliability figures under faults and load, with real processes on loopback (Redis, daphne,
a Celery worker), printed as a table: scenario, trials, figure, goal, met.

    .venv/bin/python benchmarks/reliability_live.py                 # every scenario
    .venv/bin/python benchmarks/reliability_live.py live-log-latency  # some of them

One function per scenario, registered in SCENARIOS (add rows the same way). The database is
DATABASE_URL if set (it is migrated), else a fresh PostgreSQL database `b2i_bench_live` (as in
production) on the server of B2I_BENCH_DATABASE_URL (default 127.0.0.1:5432), dropped and
created anew each run; `--sqlite` uses a fresh SQLite file instead.
The correctness parts are tests too (tests/builders/test_redis_outage.py, test_log_latency.py,
test_live_socket.py); the timings live here.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WORKDIR = Path(tempfile.mkdtemp(prefix="b2i-reliability-"))
BENCH_SERVER = os.environ.get(
    "B2I_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/b2i_bench"
)


def fresh_postgres_database() -> str:
    """Drop and create `<benchmark database>_live` on the benchmark's PostgreSQL server (its
    own name: two checkouts benchmarking on one server do not drop each other's); its URL."""
    parts = urlsplit(BENCH_SERVER)
    name = parts.path.lstrip("/") + "_live"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


if "--sqlite" in sys.argv:
    sys.argv.remove("--sqlite")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'db.sqlite3'}")
elif "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = fresh_postgres_database()
os.environ.setdefault("SECRET_KEY", "reliability-benchmark-not-a-secret-0123456789abcdef")
os.environ.setdefault("B2I_SECRET_KEYS", "hwpGYHUPpNUiHTWFuQ8TVBEYW6qsWpncqOXGJX6541c=")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "b2i_console.settings")
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

import websocket  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from b2i.oci.events import Event  # noqa: E402
from b2i_console.redis_options import channel_layers  # noqa: E402
from benchmarks.reliability_rows import record  # noqa: E402
from builders import services  # noqa: E402
from builders.artifacts.uploads import store_artifact  # noqa: E402
from builders.build_jobs import BuildJob  # noqa: E402
from builders.logs import RunLog  # noqa: E402
from builders.models import BuildEnvironment, BuildRun, ImageBuilder  # noqa: E402
from builders.runner import Heartbeat  # noqa: E402
from projects.models import Project, ProjectMembership, RegistrySecret, Workspace  # noqa: E402
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at  # noqa: E402
from tests.fixtures.console_process import DaphneConsole, receive_json  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402

CLIENTS = 50
LINES = 100
REDIS_TRIALS = 3
OUTAGE_SECONDS = 5


@dataclass
class Row:
    scenario: str
    trials: str
    figure: str
    goal: str
    met: bool


@dataclass
class Stack:
    """Redis plus the personas, project and builder every scenario builds on."""

    redis: RedisServer
    user: User
    builder: ImageBuilder


class SlowExecutor:
    """A build of about 6 s that logs a line every 0.2 s (the worker's engine stand-in: these
    scenarios are about the pipeline, not the image engine)."""

    def execute(
        self, job: BuildJob, on_event: Callable[[Event], None], cancel_requested: Callable[[], bool]
    ) -> dict[str, Any]:
        for number in range(30):
            on_event(Event("log", message=f"working {number}"))
            time.sleep(0.2)
        digest = "sha256:" + "ab" * 32
        return {
            "image_reference": "127.0.0.1:9/demo/bench:latest",
            "digest": digest,
            "compressed_size": 1,
            "layers_pushed": 0,
            "layers_reused": 0,
            "bytes_pushed": 0,
            "bytes_reused": 0,
            "pull_command": f"docker pull 127.0.0.1:9/demo/bench@{digest}",
        }


# --- scenarios ------------------------------------------------------------------------------


def live_log_latency(stack: Stack) -> Row:
    """p95 from a line's write (RunLog, the worker's writer, with its heartbeat thread) to its
    receipt by each of 50 WebSocket clients of a real daphne."""
    services.enqueue_run = lambda run: None  # no worker: this process writes the log
    run = services.do_start_run(stack.builder)
    console = DaphneConsole(stack.redis.url, WORKDIR).start()
    project = stack.builder.project
    path = f"/ws/workspaces/{project.workspace.name}/projects/{project.name}/imagebuilders/bench"
    path += f"/runs/{run.number}/log/"
    written: dict[int, float] = {}
    received: list[list[tuple[int, float]]] = [[] for _ in range(CLIENTS)]
    try:
        sockets = [console.open_socket(path, stack.user, timeout=30) for _ in range(CLIENTS)]
        for sock in sockets:
            receive_json(sock, timeout=30)  # the state snapshot: the client is listening
        readers = [
            threading.Thread(target=read_lines, args=(sock, LINES, received[i]))
            for i, sock in enumerate(sockets)
        ]
        for reader in readers:
            reader.start()
        write_paced_lines(run, written)
        for reader in readers:
            reader.join(timeout=60)
    finally:
        console.stop()
    delays = [at - written[seq] for got in received for seq, at in got if seq in written]
    complete = all([seq for seq, _ in got] == list(range(1, LINES + 1)) for got in received)
    p95 = statistics.quantiles(delays, n=20)[-1] * 1000 if len(delays) > 1 else float("inf")
    figure = f"p95 {p95:.0f} ms, median {statistics.median(delays) * 1000:.0f} ms"
    figure += "" if complete else " (lines missing or repeated)"
    return Row(
        f"live log, {CLIENTS} WebSocket clients",
        f"{LINES} lines x {CLIENTS}",
        figure,
        "p95 < 250 ms, every line once",
        p95 < 250 and complete,
    )


def write_paced_lines(run: BuildRun, written: dict[int, float]) -> None:
    """Write LINES lines 20-200 ms apart, as a build does, recording when each was written."""
    log = RunLog(run.pk)
    pace = random.Random(7)
    with Heartbeat(run.pk, log):
        for number in range(1, LINES + 1):
            written[log.last_seq + 1] = time.time()
            log.write(f"line {number}")
            time.sleep(pace.uniform(0.02, 0.2))
        log.flush()


def read_lines(sock: websocket.WebSocket, count: int, got: list[tuple[int, float]]) -> None:
    while len(got) < count:
        message = receive_json(sock, timeout=30)
        now = time.time()
        got.extend((line["seq"], now) for line in message.get("lines", []))
    sock.close()


def redis_kill_and_restart(stack: Stack) -> Row:
    """Redis SIGKILLed mid-build and back 5 s later, under a real worker: the worker stays alive,
    the build in flight is recorded, a build started afterwards runs."""
    point_celery_at(stack.redis.url)
    env = {"B2I_BUILD_EXECUTOR": "benchmarks.reliability_live.SlowExecutor"}
    env |= {name: os.environ[name] for name in ("SECRET_KEY", "B2I_SECRET_KEYS", "MEDIA_ROOT")}
    worker = CeleryWorker(stack.redis.url, WORKDIR, env, concurrency=2).start()
    services.enqueue_run = ORIGINAL_ENQUEUE
    good = 0
    try:
        for _ in range(REDIS_TRIALS):
            inflight = services.do_start_run(stack.builder)
            reaches(inflight, "running", 60)
            stack.redis.kill()
            time.sleep(OUTAGE_SECONDS)  # the outage itself
            stack.redis.start()
            recorded = reaches(inflight, "successful", 90)
            later = services.do_start_run(stack.builder)
            ran = reaches(later, "successful", 90)
            good += int(recorded and ran and worker.is_alive())
    finally:
        worker.stop()
    return Row(
        "Redis SIGKILL mid-build, back after 5 s",
        str(REDIS_TRIALS),
        f"{good}/{REDIS_TRIALS} worker alive, run recorded, next run built",
        "all",
        good == REDIS_TRIALS,
    )


ORIGINAL_ENQUEUE = services.enqueue_run
SCENARIOS: dict[str, Callable[[Stack], Row]] = {
    "live-log-latency": live_log_latency,
    "redis-restart": redis_kill_and_restart,
}


# --- the stack --------------------------------------------------------------------------------


def state_of(run: BuildRun) -> str:
    return str(BuildRun.objects.values_list("state", flat=True).get(pk=run.pk))


def reaches(run: BuildRun, state: str, timeout: float) -> bool:
    """Whether the run is in `state` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_of(run) == state:
            return True
        time.sleep(0.1)
    return False


@contextmanager
def stack() -> Iterator[Stack]:
    call_command("migrate", verbosity=0)
    redis_dir = WORKDIR / "redis"
    redis_dir.mkdir()
    redis = RedisServer(redis_dir).start()
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    try:
        yield Stack(redis, *make_world())
    finally:
        redis.stop()


def make_world() -> tuple[User, ImageBuilder]:
    user = User.objects.create_user(f"bench-{time.time_ns()}")
    workspace = Workspace.objects.create(name=f"bench-{os.getpid()}")
    project = Project.objects.create(workspace=workspace, name=f"shop-{os.getpid()}")
    ProjectMembership.objects.create(project=project, user=user, role="viewer")
    secret = RegistrySecret(project=project, name="local", address="http://127.0.0.1:9")
    secret.password = ""
    secret.save()
    binary = Path("/bin/busybox")
    stored = store_artifact(
        project,
        None,
        binary,
        file_name="busybox",
        sha256=file_sha256(binary),
        size=binary.stat().st_size,
        expected_kind="binary",
    )
    builder = ImageBuilder.objects.create(
        project=project,
        name="bench",
        artifact_kind="binary",
        environment=BuildEnvironment.objects.get(name="binary-debian"),
        image_name="demo/bench",
        registry_secret=secret,
        artifact=stored.artifact,
    )
    return user, builder


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "trials", "figure", "goal", "met")
    cells = [header] + [
        (r.scenario, r.trials, r.figure, r.goal, "yes" if r.met else "NO") for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main(names: list[str]) -> int:
    chosen = names or list(SCENARIOS)
    rows = []
    with stack() as running:
        for name in chosen:
            rows.append(SCENARIOS[name](running))
    print_table(rows)
    (WORKDIR / "rows.json").write_text(json.dumps([r.__dict__ for r in rows]))
    record(rows)
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
