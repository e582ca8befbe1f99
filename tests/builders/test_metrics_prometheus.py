"""A real Prometheus scrapes a real console (daphne) while a real worker builds; PromQL through
Prometheus' HTTP API returns the build counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from builders import services
from builders.models import BuildRun, ImageBuilder
from tests.builders.conftest import World, busybox_environment, make_artifact, make_builder
from tests.builders.test_grafana_dashboard import expressions
from tests.builders.test_pipeline_e2e import wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.console_process import DaphneConsole
from tests.fixtures.prometheus_server import PrometheusServer, values_by
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "prometheus-scrape-token-42"
FINISHED = ("successful", "failed", "cancelled")


@pytest.fixture
def console(channel_layer_on_redis: str, tmp_path: Path) -> Iterator[DaphneConsole]:
    workdir = tmp_path / "console"
    workdir.mkdir()
    server = DaphneConsole(channel_layer_on_redis, workdir, {"B2I_METRICS_TOKEN": TOKEN})
    yield server.start()
    server.stop()


@pytest.fixture
def prometheus(console: DaphneConsole, tmp_path: Path) -> Iterator[PrometheusServer]:
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    server = PrometheusServer(workdir, f"127.0.0.1:{console.port}", TOKEN)
    yield server.start()
    server.stop()


def builder_for(world: World, tmp_path: Path, name: str, environment: str) -> ImageBuilder:
    (tmp_path / name).mkdir()
    binary = artifacts.build_static_binary(tmp_path / name, name)
    return make_builder(
        world, make_artifact(world.project, binary, "binary"), name, environment=environment
    )


def test_prometheus_counts_the_builds_a_worker_ran(
    pipeline: World,
    registry: Registry,
    celery_worker: CeleryWorker,
    prometheus: PrometheusServer,
    tmp_path: Path,
) -> None:
    # Before any build: the target is up and scraped with the token (no runs yet).
    prometheus.wait_for(
        'up{job="b2i-console"}', lambda r: values_by(r, "job") == {"b2i-console": 1}
    )
    prometheus.wait_for("b2i_builds_pending", lambda r: values_by(r, "job") == {"b2i-console": 0})

    # A base image missing from the registry: that environment's builds fail.
    busybox_environment(f"{registry.host}/base/missing:1", name="missing-base")
    good = builder_for(pipeline, tmp_path, "good", "busybox-test")
    bad = builder_for(pipeline, tmp_path, "bad", "missing-base")
    # A builder's new run cancels its pending one: the second run of "good" waits for the first.
    for run in (services.do_start_run(good), services.do_start_run(bad)):
        wait_for_run(run, FINISHED, celery_worker, timeout=120)
    wait_for_run(services.do_start_run(good), FINISHED, celery_worker, timeout=120)
    states = sorted(BuildRun.objects.values_list("state", flat=True))
    assert states == ["failed", "successful", "successful"], states

    by_state = prometheus.wait_for(
        "sum by (state) (b2i_build_runs)",
        lambda r: values_by(r, "state") == {"successful": 2, "failed": 1},
    )
    assert len(by_state) == 2
    successful = prometheus.query(
        'b2i_build_runs{state="successful", environment="busybox-test", kind="binary"}'
    )
    assert values_by(successful, "environment") == {"busybox-test": 2}
    failed = prometheus.query('b2i_build_runs{state="failed"}')
    assert values_by(failed, "environment") == {"missing-base": 1}
    assert values_by(prometheus.query("b2i_builds_running + b2i_builds_pending"), "") == {"": 0}
    durations = prometheus.query("b2i_build_duration_seconds_count")
    assert values_by(durations, "environment") == {"busybox-test": 2, "missing-base": 1}
    waits = prometheus.query('b2i_build_queue_wait_seconds_bucket{le="+Inf"}')
    assert sum(values_by(waits, "environment").values()) == 3
    # Bytes the two successful pushes uploaded, as the worker counted them.
    pushed = sum(BuildRun.objects.values_list("bytes_pushed", flat=True))
    assert pushed > 0
    prometheus.wait_for(
        "sum(b2i_push_uploaded_bytes_total)", lambda r: values_by(r, "") == {"": pushed}
    )
    # Every expression of the Grafana dashboard is PromQL Prometheus evaluates over them.
    for expr in expressions():
        prometheus.query(expr.replace("$__rate_interval", "1m"))
