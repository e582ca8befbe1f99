"""End to end through a real Celery worker, the real engine and a real registry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from builders import services
from builders.models import BuildEnvironment, BuildLogLine, BuildRun, BuildState, ImageBuilder
from projects.models import RegistrySecret
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.slow_proxy import SlowProxy, slow_proxy
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json,"
    "application/vnd.docker.distribution.manifest.v2+json"
)


def wait_for_run(
    run: BuildRun, states: tuple[str, ...], worker: CeleryWorker, timeout: float = 60
) -> BuildRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.state in states:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run #{run.number} is {run.state}; worker log:\n{worker.log_tail()}")


def log_of(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def manifest_digest(registry_url: str, repository: str, tag: str) -> str:
    response = httpx.head(
        f"{registry_url}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def create_builder(world: World, artifact: Path, **fields: Any) -> dict[str, Any]:
    with artifact.open("rb") as handle:
        response = world.client("olga").post(
            BUILDERS,
            {
                "name": "hello",
                "artifact_kind": "binary",
                "environment": "busybox-test",
                "image_name": "demo/hello",
                "registry_secret": "local",
                "file": handle,
                **fields,
            },
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_created_builder_runs_to_successful_with_digest_sizes_and_timings(
    pipeline: World, registry: Registry, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    # Bytes of this test's own: identical inputs give an identical image, and the session's
    # registry may already hold one another test built from a plain "hi" binary.
    binary = artifacts.build_static_binary(tmp_path, f"hi from {tmp_path.name}")
    created = create_builder(pipeline, binary)
    assert created["run"]["number"] == 1 and created["run"]["state"] == "pending"
    run = BuildRun.objects.get(builder__name="hello", number=1)
    run = wait_for_run(run, ("successful", "failed"), celery_worker)
    assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
    assert run.digest == manifest_digest(registry.url, "demo/hello", "latest")
    assert run.image_reference == f"{registry.host}/demo/hello@{run.digest}"
    assert run.pull_command == f"docker pull {run.image_reference}"
    assert run.compressed_size and run.compressed_size > 0
    assert run.layers_pushed >= 1 and run.bytes_pushed > 0
    assert run.layers_reused + run.layers_pushed >= 2  # base layer + artifact layer
    assert {"fetch artifact", "inspect", "resolve-base", "push"} <= set(run.step_timings)
    assert run.started_at and run.finished_at and run.started_at <= run.finished_at
    assert run.attempt == 1 and run.worker_host
    lines = log_of(run)
    assert lines[-1] == "Build completed successfully"
    assert any(line.startswith("<== push done in") for line in lines)


def test_rerun_with_a_new_artifact_and_tag_pushes_a_new_image(
    pipeline: World, registry: Registry, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    create_builder(pipeline, artifacts.build_static_binary(tmp_path, "one"))
    first = wait_for_run(BuildRun.objects.get(number=1), ("successful", "failed"), celery_worker)
    (tmp_path / "two").mkdir()
    newer = artifacts.build_static_binary(tmp_path / "two", "two")
    with newer.open("rb") as handle:
        response = pipeline.client("olga").post(
            BUILDERS + "hello/run/", {"file": handle, "tag": "v2"}, format="multipart"
        )
    assert response.status_code == 201, response.json()
    second = BuildRun.objects.get(number=2)
    second = wait_for_run(second, ("successful", "failed"), celery_worker)
    assert second.state == BuildState.SUCCESSFUL, second.error_message
    assert second.tag == "v2"
    assert second.artifact_id != first.artifact_id
    assert second.digest != first.digest
    assert manifest_digest(registry.url, "demo/hello", "v2") == second.digest
    assert manifest_digest(registry.url, "demo/hello", "latest") == first.digest
    builder = ImageBuilder.objects.get(name="hello")
    assert (builder.tag, builder.artifact_id) == ("v2", second.artifact_id)


@pytest.fixture
def slow_world(pipeline: World, registry: Registry, busybox_base: BaseImage) -> Iterator[SlowProxy]:
    """The project's registry secret goes through a proxy pushing at ~2 MB/s."""
    with slow_proxy(registry.port, 2_000_000) as proxy:
        secret = RegistrySecret.objects.get(name="local")
        secret.address = f"http://{proxy.host}"
        secret.save()
        env = BuildEnvironment.objects.get(name="busybox-test")
        env.base_image = f"{proxy.host}/{busybox_base.repository}:{busybox_base.tag}"
        env.save()
        yield proxy


def big_binary_builder(world: World, tmp_path: Path, name: str, megabytes: int) -> ImageBuilder:
    binary = artifacts.build_static_binary(tmp_path, name, name=name, padding=megabytes * 10**6)
    return make_builder(
        world, make_artifact(world.project, binary), name=name, environment="busybox-test"
    )


def test_cancel_of_a_running_build_reaches_cancelled_within_5_seconds(
    slow_world: SlowProxy, pipeline: World, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    # The engine honours a cancel between blob uploads (blobs under 4 MiB in all go up
    # together): 12 MB of padding is a ~6 MiB layer, one upload of about 3 s at ~2 MB/s, so the
    # cancel asked at its start is honoured right after it, within the 5 s promised.
    builder = big_binary_builder(pipeline, tmp_path, "slow", megabytes=12)
    run = services.do_start_run(builder)
    wait_for_log(run, "==> push", celery_worker)
    asked = time.monotonic()
    services.do_request_cancel(run)
    run = wait_for_run(run, ("cancelled", "successful", "failed"), celery_worker, timeout=5)
    assert run.state == BuildState.CANCELLED
    assert time.monotonic() - asked < 5
    assert log_of(run)[-1] == "Build cancelled"


def wait_for_log(run: BuildRun, prefix: str, worker: CeleryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line.startswith(prefix) for line in log_of(run)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no log line {prefix!r}; log: {log_of(run)}\n{worker.log_tail()}")


def test_sigkill_of_the_worker_mid_build_never_leaves_a_run_running(
    slow_world: SlowProxy,
    pipeline: World,
    celery_worker: CeleryWorker,
    registry: Registry,
    tmp_path: Path,
    settings: Any,
) -> None:
    doomed = services.do_start_run(big_binary_builder(pipeline, tmp_path, "doomed", megabytes=24))
    queued = services.do_start_run(big_binary_builder(pipeline, tmp_path, "queued", megabytes=1))
    wait_for_log(doomed, "==> push", celery_worker)
    killed_at = time.monotonic()
    celery_worker.kill()
    assert BuildRun.objects.get(pk=doomed.pk).state == BuildState.RUNNING
    celery_worker.start()

    # Beat runs the reaper every 15 s with a 60 s limit; the test runs the same reaper with a
    # 15 s limit so it does not wait a full minute.
    settings.B2I_BUILD_LOST_AFTER_SECONDS = 15
    while time.monotonic() - killed_at < 90:
        if services.do_reap_lost_runs() or BuildRun.objects.get(pk=doomed.pk).is_finished:
            break
        time.sleep(1)
    doomed.refresh_from_db()
    assert doomed.state in (BuildState.FAILED, BuildState.SUCCESSFUL), doomed.state
    if doomed.state == BuildState.FAILED:
        assert doomed.error_code == "build:worker-lost"
        assert log_of(doomed)[-1].startswith("Build failed: worker lost")
    queued = wait_for_run(queued, ("successful", "failed"), celery_worker, timeout=60)
    assert queued.state == BuildState.SUCCESSFUL, queued.error_message
    # The restarted worker never built the killed run again: at most one manifest went up.
    assert manifest_puts(registry, "demo/doomed") <= 1


def manifest_puts(registry: Registry, repository: str) -> int:
    """How many manifests the registry accepted into REPOSITORY (its request log)."""
    log = (registry.workdir / "registry.log").read_text(errors="replace")
    uri = f"/v2/{repository}/manifests/"
    return sum(
        1
        for line in log.splitlines()
        if "response completed" in line and "method=PUT" in line and uri in line
    )


def test_worker_states_and_lines_stream_over_the_socket(
    pipeline: World,
    celery_worker: CeleryWorker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from asgiref.sync import async_to_sync

    from tests.builders.test_consumer import session_cookie, socket

    held: list[BuildRun] = []
    real_enqueue = services.enqueue_run
    monkeypatch.setattr(services, "enqueue_run", held.append)  # released once the socket listens
    binary = artifacts.build_static_binary(tmp_path, "live")
    builder = make_builder(
        pipeline, make_artifact(pipeline.project, binary), environment="busybox-test"
    )
    run = services.do_start_run(builder)
    cookie = session_cookie(pipeline.users["victor"])
    states: list[str] = []
    texts: list[str] = []

    async def watch() -> None:
        communicator = socket(cookie)
        assert (await communicator.connect(timeout=10))[0]
        released = False
        while not states or states[-1] not in ("successful", "failed", "cancelled"):
            message = await communicator.receive_json_from(timeout=20)
            if message["type"] == "state":
                states.append(message["state"])
            else:
                texts.extend(line["text"] for line in message["lines"])
            if states and not released:
                # The consumer reads the state it sends on connect after accepting: queue
                # the run only once that snapshot arrived, or a fast worker may claim first.
                real_enqueue(held[0])
                released = True
        await communicator.disconnect()

    async_to_sync(watch)()
    assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s] == [
        "pending",
        "running",
        "successful",
    ], celery_worker.log_tail()
    assert texts == log_of(run)
    assert texts[-1] == "Build completed successfully"


def test_sigkill_of_the_pool_process_mid_build_is_retried_to_success(
    slow_world: SlowProxy, pipeline: World, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    import os
    import signal

    run = services.do_start_run(big_binary_builder(pipeline, tmp_path, "retried", megabytes=24))
    wait_for_log(run, "==> push", celery_worker)
    run.refresh_from_db()
    holder = int(run.worker_host.rpartition(":")[2])  # the pool process building it
    os.kill(holder, signal.SIGKILL)
    # Celery rejects the lost task back to the queue; the next pool process sees the holder
    # is gone and builds it again as attempt 2.
    run = wait_for_run(run, ("successful", "failed"), celery_worker, timeout=90)
    assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
    assert run.attempt == 2
    lines = log_of(run)
    assert "Attempt 2 (the previous worker was lost)" in lines
    assert lines[-1] == "Build completed successfully"


def test_push_with_registry_credentials_that_never_reach_the_log(
    pipeline: World,
    registry: Registry,
    htpasswd_registry: Registry,
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    password = htpasswd_registry.users["alice"]
    target = RegistrySecret(
        project=pipeline.project, name="private", address=htpasswd_registry.url, username="alice"
    )
    target.password = password
    target.save()
    binary = artifacts.build_static_binary(tmp_path, "private")
    builder = make_builder(
        pipeline,
        make_artifact(pipeline.project, binary),
        name="private",
        environment="busybox-test",  # its base lives on the open registry (secret "local")
        registry_secret=target,
    )
    run = wait_for_run(services.do_start_run(builder), ("successful", "failed"), celery_worker)
    assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
    assert run.image_reference.startswith(f"{htpasswd_registry.host}/demo/private@sha256:")
    pushed = httpx.head(
        f"{htpasswd_registry.url}/v2/demo/private/manifests/latest",
        headers={"Accept": MANIFEST_TYPES},
        auth=("alice", password),
    )
    assert pushed.headers["Docker-Content-Digest"] == run.digest
    assert password not in "\n".join(log_of(run))
