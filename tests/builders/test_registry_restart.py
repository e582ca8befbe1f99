"""A registry SIGKILLed mid-push and back 5 s later (same port, same storage) under a real
worker: the build retries through the outage and pushes the very digest an undisturbed run of
the same builder pushed (issue 20: "registry kill and restart mid-push, identical digests")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import services
from builders.models import BuildState
from tests.builders.conftest import busybox_environment, make_world
from tests.builders.slow_proxy import SlowProxy, slow_proxy
from tests.builders.test_pipeline_e2e import big_binary_builder, wait_for_log, wait_for_run
from tests.fixtures import base_images as bases
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.registry import Registry, registry_answers, start_registry

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE_SECONDS = 5  # the fault injected: how long the registry stays dead


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry of this test's own (killing the session's would hurt other tests)."""
    (tmp_path / "registry").mkdir()
    registry = start_registry(tmp_path / "registry")
    yield registry
    registry.process.stop()


@pytest.fixture
def proxy_to(own_registry: Registry, tmp_path: Path) -> Iterator[SlowProxy]:
    """Pushes at ~2 MB/s, so a push is in flight for seconds; the base lives behind it too."""
    layer = bases.busybox_layer(tmp_path)
    base = bases.push_base_image(
        tmp_path, own_registry, "base/busybox", "1", layer, bases.BUSYBOX_SETTINGS
    )
    with slow_proxy(own_registry.port, 2_000_000) as proxy:
        busybox_environment(f"{proxy.host}/{base.repository}:{base.tag}")
        yield proxy


def restart_after(registry: Registry, seconds: float) -> threading.Thread:
    def comeback() -> None:
        registry.process.start().wait_until(lambda: registry_answers(registry.url, None), 60)

    timer = threading.Timer(seconds, comeback)
    timer.start()
    return timer


def test_a_registry_restart_mid_push_gives_the_undisturbed_digest(
    own_registry: Registry,
    proxy_to: SlowProxy,
    celery_worker: CeleryWorker,
    channel_layer_on_redis: str,
    tmp_path: Path,
) -> None:
    world = make_world(f"http://{proxy_to.host}")
    builder = big_binary_builder(world, tmp_path, "restart", megabytes=6)
    # The builder's name is part of the image: the undisturbed run is of the same builder, to a
    # repository of its own (so the disturbed run uploads every blob again).
    builder.image_name = "demo/restart-reference"
    builder.save()
    reference = services.do_start_run(builder)
    reference = wait_for_run(reference, ("successful", "failed"), celery_worker, timeout=120)
    assert reference.state == BuildState.SUCCESSFUL, reference.error_message
    builder.image_name = "demo/restart"
    builder.save()

    run = services.do_start_run(builder)
    wait_for_log(run, "==> push", celery_worker)
    own_registry.process.kill()
    restart_after(own_registry, OUTAGE_SECONDS).join()

    run = wait_for_run(run, ("successful", "failed"), celery_worker, timeout=180)
    assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
    assert run.digest == reference.digest
