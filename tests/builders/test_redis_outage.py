"""A Redis outage (SIGKILL, back 5 s later on the same port) under a real Celery worker and a
real daphne: the worker lives on, the build in flight is recorded, later builds run, and the
first WebSocket after the outage works."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b2i_console.redis_options import channel_layers
from builders import services
from builders.logs import RunLog
from builders.models import BuildState
from projects.models import RegistrySecret
from tests.builders.conftest import (
    World,
    busybox_environment,
    make_artifact,
    make_builder,
    make_world,
)
from tests.builders.slow_proxy import SlowProxy, slow_proxy
from tests.builders.test_pipeline_e2e import big_binary_builder, log_of, wait_for_log, wait_for_run
from tests.fixtures.base_images import BaseImage
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at
from tests.fixtures.console_process import ConnectionClosed, DaphneConsole, receive_json
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_SECONDS = 5  # the fault injected: how long Redis stays dead


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir).start()
    yield server
    server.stop()


@pytest.fixture
def worker(redis: RedisServer, settings: Any, tmp_path: Path) -> Iterator[CeleryWorker]:
    """A worker of its own on the Redis this test kills; runs are sent to that Redis."""
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    before = point_celery_at(redis.url)
    env = {
        name: os.environ[name] for name in ("SECRET_KEY", "B2I_SECRET_KEYS") if name in os.environ
    }
    started = CeleryWorker(redis.url, tmp_path, env, concurrency=2).start()
    yield started
    started.stop()
    point_celery_at(before)


@pytest.fixture
def slow_world(
    registry: Registry, busybox_base: BaseImage, worker: CeleryWorker, redis: RedisServer
) -> Iterator[World]:
    """The pipeline's world with pushes slowed to ~2 MB/s, so a build is in flight for seconds."""
    world = make_world(registry.url)
    with slow_proxy(registry.port, 2_000_000) as proxy:
        point_world_at(proxy, busybox_base)
        yield world


def point_world_at(proxy: SlowProxy, busybox_base: BaseImage) -> None:
    RegistrySecret.objects.filter(name="local").update(address=f"http://{proxy.host}")
    busybox_environment(f"{proxy.host}/{busybox_base.repository}:{busybox_base.tag}")


def test_the_worker_outlives_a_redis_outage_mid_build(
    slow_world: World, worker: CeleryWorker, redis: RedisServer, tmp_path: Path
) -> None:
    # ~3 s of pushing left when Redis dies: the build ends during the outage or just after.
    inflight = services.do_start_run(
        big_binary_builder(slow_world, tmp_path, "inflight", megabytes=6)
    )
    wait_for_log(inflight, "==> push", worker)
    redis.kill()
    comeback = threading.Timer(OUTAGE_SECONDS, redis.start)
    comeback.start()
    # Started while Redis is away: sending its message waits for Redis to come back.
    meanwhile = services.do_start_run(
        big_binary_builder(slow_world, tmp_path, "meanwhile", megabytes=1)
    )
    comeback.join()

    for run in (inflight, meanwhile):
        run = wait_for_run(run, ("successful", "failed", "cancelled"), worker, timeout=90)
        assert run.state == BuildState.SUCCESSFUL, (run.error_code, worker.log_tail())
        assert log_of(run)[-1] == "Build completed successfully"
    # Still consuming: a build started after the outage runs on the same worker.
    later = services.do_start_run(big_binary_builder(slow_world, tmp_path, "later", megabytes=1))
    later = wait_for_run(later, ("successful", "failed"), worker, timeout=90)
    assert later.state == BuildState.SUCCESSFUL, (later.error_code, worker.log_tail())
    assert worker.is_alive(), worker.log_tail()
    log = worker.log_tail(2000)
    assert "Unrecoverable error" not in log
    assert "Task handler raised error" not in log, log


LOG_PATH = "/ws/workspaces/acme/projects/shop/imagebuilders/hello/runs/1/log/?after=0"


def test_the_first_websocket_after_a_redis_restart_works(
    world: World,
    redis: RedisServer,
    busybox: Path,
    media_root: Path,
    settings: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    services.do_start_run(builder)
    console = DaphneConsole(redis.url, tmp_path).start()
    try:
        before = console.open_socket(LOG_PATH, world.users["victor"])
        assert receive_json(before, timeout=10)["type"] == "state"
        before.close()  # (a socket open across the outage: the next test)
        redis.kill()
        redis.start()
        # The closed socket's consumer may still be reading when Redis dies and log that; what
        # is judged is everything from the restart on.
        logged_before_restart = len(console.log())
        # The pooled connections of the server are all dead now; the next handshake must work.
        after = console.open_socket(LOG_PATH, world.users["victor"])
        assert receive_json(after, timeout=10)["type"] == "state"
        after.close()
    finally:
        console.stop()
    since_restart = console.log()[logged_before_restart:]
    assert "Traceback" not in since_restart, since_restart


def lines_until(sock: Any, last: int, timeout: float) -> list[int]:
    """The seqs the socket receives until seq LAST (state messages skipped); a close fails."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < last:
        try:
            message = receive_json(sock, timeout=timeout)
        except ConnectionClosed as closed:
            pytest.fail(f"the socket closed across the outage: {closed}")
        seqs += [line["seq"] for line in message.get("lines", [])]
    return seqs


def test_a_socket_open_across_a_redis_outage_stays_open_and_misses_nothing(
    world: World,
    redis: RedisServer,
    busybox: Path,
    media_root: Path,
    settings: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    run = services.do_start_run(builder)
    log = RunLog(run.pk)
    console = DaphneConsole(redis.url, tmp_path).start()
    try:
        sock = console.open_socket(LOG_PATH, world.users["victor"])
        assert receive_json(sock, timeout=10)["type"] == "state"
        log.write("before the outage")
        log.flush()
        assert lines_until(sock, 1, timeout=30) == [1]
        redis.kill()
        # Written while Redis is away: stored, but their doorbell is lost with Redis.
        log.write("during the outage 1")
        log.write("during the outage 2")
        log.flush()
        redis.start()
        # The socket catches up from the database once its layer reaches Redis again...
        assert lines_until(sock, 3, timeout=60) == [2, 3]
        # ...and has joined its group again: a line written now arrives by its doorbell.
        log.write("after the outage")
        log.flush()
        assert lines_until(sock, 4, timeout=30) == [4]
        sock.close()
    finally:
        console.stop()
    assert "Traceback" not in console.log(), console.log()
