"""Cancel through the real worker while the build is blocked on the network: a registry that
accepts and never answers, a base pull that trickles, an artifact download that stalls. The
run ends Cancelled within 5 s, the stalled server sees its connections closed, and the
worker (concurrency 1) builds the next run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from builders import services
from builders.models import BuildEnvironment, BuildRun, BuildState, ImageBuilder
from projects.models import RegistrySecret
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.test_pipeline_e2e import log_of, wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.hung_server import HungServer, StallingServer, TrickleServer, running
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)


def binary_builder(world: World, tmp_path: Path, name: str, **extra: object) -> ImageBuilder:
    (tmp_path / name).mkdir()
    binary = artifacts.build_static_binary(tmp_path / name, name, name=name)
    return make_builder(
        world, make_artifact(world.project, binary), name=name, environment="busybox-test", **extra
    )


def wait_until(condition: Callable[[], bool], what: str, worker: CeleryWorker) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never {what}; worker log:\n{worker.log_tail()}")


def cancel_blocked_run(
    run: BuildRun, server: StallingServer, worker: CeleryWorker
) -> tuple[BuildRun, float]:
    """Wait until RUN is blocked on SERVER (a request sent, never answered), cancel it."""
    wait_until(lambda: server.connections.accepted > 0, "connected to the stalled server", worker)
    asked = time.monotonic()
    services.do_request_cancel(run)
    run = wait_for_run(run, ("cancelled", "successful", "failed"), worker, timeout=30)
    return run, time.monotonic() - asked


def assert_cancelled_closed_and_free(
    run: BuildRun,
    took: float,
    server: StallingServer,
    next_builder: ImageBuilder,
    worker: CeleryWorker,
) -> None:
    assert run.state == BuildState.CANCELLED, (run.error_code, run.error_message)
    assert took < 5, f"cancelled after {took:.1f} s"
    assert log_of(run)[-1] == "Build cancelled"
    assert server.connections.wait_all_closed(timeout=5), f"{server.connections.open} still open"
    following = services.do_start_run(next_builder)
    following = wait_for_run(following, ("successful", "failed"), worker, timeout=60)
    assert following.state == BuildState.SUCCESSFUL, following.error_message


def plain_http_secret(world: World, name: str, host: str) -> RegistrySecret:
    """A registry secret for HOST over http (a base on a secret's host uses its settings)."""
    secret = RegistrySecret(project=world.project, name=name, address=f"http://{host}")
    secret.password = ""
    secret.save()
    return secret


@pytest.fixture
def hung_registry_secret(pipeline: World) -> Iterator[tuple[HungServer, RegistrySecret]]:
    with running(HungServer()) as hung:
        assert isinstance(hung, HungServer)
        yield hung, plain_http_secret(pipeline, "hung", hung.host)


def test_cancel_of_a_push_to_a_registry_that_never_answers(
    pipeline: World,
    hung_registry_secret: tuple[HungServer, RegistrySecret],
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    hung, secret = hung_registry_secret
    stuck = binary_builder(pipeline, tmp_path, "stuck", registry_secret=secret)
    run = services.do_start_run(stuck)
    run, took = cancel_blocked_run(run, hung, celery_worker)
    next_builder = binary_builder(pipeline, tmp_path, "after-hung")
    assert_cancelled_closed_and_free(run, took, hung, next_builder, celery_worker)


def test_cancel_of_a_base_pull_that_trickles(
    pipeline: World,
    registry: Registry,
    busybox_base: BaseImage,
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    with running(TrickleServer(registry.port, 100)) as slow:
        plain_http_secret(pipeline, "slow", slow.host)
        BuildEnvironment.objects.filter(name="busybox-test").update(
            base_image=f"{slow.host}/{busybox_base.repository}:{busybox_base.tag}"
        )
        run = services.do_start_run(binary_builder(pipeline, tmp_path, "slowbase"))
        run, took = cancel_blocked_run(run, slow, celery_worker)
        BuildEnvironment.objects.filter(name="busybox-test").update(base_image=busybox_base.tagged)
        next_builder = binary_builder(pipeline, tmp_path, "after-slow-base")
        assert_cancelled_closed_and_free(run, took, slow, next_builder, celery_worker)


def test_cancel_of_an_artifact_download_that_stalls(
    pipeline: World, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    builder = binary_builder(pipeline, tmp_path, "fetching")
    with running(HungServer()) as hung:
        run = services.do_start_run(builder, artifact_url=f"http://{hung.host}/app.bin")
        run, took = cancel_blocked_run(run, hung, celery_worker)
        next_builder = binary_builder(pipeline, tmp_path, "after-download")
        assert_cancelled_closed_and_free(run, took, hung, next_builder, celery_worker)
