"""/metrics counters every process adds to in the database: upload bytes, push bytes, registry
errors by status (a real engine against real registries), sweep actions, and the WebSocket
connections open on a real web server process."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from builders import counters, runner, services, tasks
from builders.models import BuildRun, BuildState, ProcessGauge
from projects.models import RegistrySecret
from tests.builders.conftest import World, busybox_environment, make_artifact, make_builder
from tests.builders.test_metrics import TOKEN, samples, scrape
from tests.builders.test_uploads import send_chunk
from tests.fixtures.base_images import BaseImage
from tests.fixtures.console_process import DaphneConsole, receive_json
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_API = "/api/v1/workspaces/acme/projects/shop/"


@pytest.fixture(autouse=True)
def metrics_on(settings: Any, media_root: Path) -> None:
    settings.B2I_METRICS_TOKEN = TOKEN


def metric(name: str, **labels: str) -> float:
    found = samples(scrape(TOKEN).content.decode())
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_upload_bytes_count_multipart_and_chunked_uploads(world: World, busybox: Path) -> None:
    data = busybox.read_bytes()
    with busybox.open("rb") as upload:
        stored = world.client("olga").post(
            f"{PROJECT_API}artifacts/", {"file": upload}, format="multipart"
        )
    assert stored.status_code == 201
    assert metric("b2i_upload_bytes_total", method="multipart") == len(data)

    started = world.client("olga").post(
        f"{PROJECT_API}uploads/", {"file_name": "copy", "size": len(data)}, format="json"
    )
    upload_id = started.json()["id"]
    half = len(data) // 2
    assert send_chunk(world, upload_id, 0, data[:half]).status_code == 200
    assert metric("b2i_upload_bytes_total", method="chunked") == half
    assert send_chunk(world, upload_id, half, data[half:]).status_code == 200
    assert metric("b2i_upload_bytes_total", method="chunked") == len(data)


def test_push_bytes_and_registry_errors_by_status_from_real_builds(
    world: World,
    registry: Registry,
    htpasswd_registry: Registry,
    busybox_base: BaseImage,
    busybox: Path,
    enqueued: list[int],
) -> None:
    RegistrySecret.objects.filter(name="local").update(address=registry.url)
    busybox_environment(busybox_base.tagged)
    artifact = make_artifact(world.project, busybox)
    good = make_builder(
        world, artifact, name="metered", environment="busybox-test", image_name="demo/metered"
    )
    run = services.do_start_run(good)
    built = runner.run_build(run.pk, executor=runner.InWorkerExecutor())
    run.refresh_from_db()
    assert built == "successful", run.error_message
    assert run.bytes_pushed > 0
    env = {"environment": "busybox-test"}
    assert metric("b2i_push_uploaded_bytes_total", **env) == run.bytes_pushed
    assert metric("b2i_push_reused_bytes_total", **env) == run.bytes_reused
    assert metric("b2i_registry_request_errors_total", code="401") == 0

    # The same image to a registry that refuses the credentials: 401s, counted by status.
    wrong = RegistrySecret(
        project=world.project, name="wrong", address=htpasswd_registry.url, username="alice"
    )
    wrong.password = "not-the-password"
    wrong.save()
    refused = make_builder(
        world,
        artifact,
        name="refused",
        environment="busybox-test",
        image_name="demo/refused",
        registry_secret=wrong,
    )
    failed = services.do_start_run(refused)
    assert runner.run_build(failed.pk, executor=runner.InWorkerExecutor()) == "failed"
    failed.refresh_from_db()
    assert failed.error_code == "registry:auth-failed", failed.error_message
    assert metric("b2i_registry_request_errors_total", code="401") >= 1
    # A failed build pushed nothing: the byte counters did not move.
    assert metric("b2i_push_uploaded_bytes_total", **env) == run.bytes_pushed


def test_sweeps_count_what_they_did(world: World, busybox: Path, enqueued: list[int]) -> None:
    builder = make_builder(world, make_artifact(world.project, busybox))
    run = services.do_start_run(builder)
    assert services.do_claim_run(run.pk, worker_host="gone:1").claimed
    BuildRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert tasks.reap_lost_builds_task.apply().get() == [run.pk]
    assert BuildRun.objects.get(pk=run.pk).state == BuildState.FAILED
    assert metric("b2i_maintenance_actions_total", action="reap-lost-builds") == 1
    assert tasks.reap_lost_builds_task.apply().get() == []
    assert metric("b2i_maintenance_actions_total", action="reap-lost-builds") == 1
    # Retention of a builder keeping one run: the reaped run goes after a newer one ended.
    builder.keep_runs = 1
    builder.save()
    services.do_request_cancel(services.do_start_run(builder))
    assert tasks.apply_retention_task.apply().get()["runs_deleted"] == 1
    assert metric("b2i_maintenance_actions_total", action="retention:runs_deleted") == 1


@pytest.fixture
def console(channel_layer_on_redis: str, tmp_path: Path) -> Iterator[DaphneConsole]:
    server = DaphneConsole(channel_layer_on_redis, tmp_path).start()
    yield server
    server.stop()


def wait_for(what: str, condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_websocket_connections_are_the_sockets_open_on_the_web_server(
    world: World, busybox: Path, console: DaphneConsole, enqueued: list[int]
) -> None:
    """The server process' own row follows its sockets; /metrics sums the live rows (other
    web servers of the test session may hold sockets of their own meanwhile)."""
    services.do_start_run(make_builder(world, make_artifact(world.project, busybox)))
    path = "/ws/workspaces/acme/projects/shop/imagebuilders/hello/runs/1/log/?after=0"
    assert console.process.process is not None
    process = f"{socket.gethostname()}:{console.process.process.pid}"

    def own_count() -> int | None:
        row = ProcessGauge.objects.filter(name="websocket_connections", process=process).first()
        return None if row is None else row.value

    assert own_count() is None  # no socket yet: nothing published
    sockets = [console.open_socket(path, world.users["victor"]) for _ in range(3)]
    for sock in sockets:
        receive_json(sock, timeout=30)  # accepted and answering
    wait_for("3 sockets counted", lambda: own_count() == 3)
    assert metric("b2i_websocket_connections") == counters.live_gauge_total(counters.WEBSOCKETS)
    assert metric("b2i_websocket_connections") >= 3
    sockets.pop().close()
    wait_for("2 sockets counted", lambda: own_count() == 2)
    for sock in sockets:
        sock.close()
    wait_for("0 sockets counted", lambda: own_count() == 0)
