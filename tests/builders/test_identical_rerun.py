"""Identical inputs, identical image (issue 17): a rerun of a builder on the same artifact,
environment, settings and base digest gives the same digest, pushes no byte and rolls no
workload — through the console API, a real Celery worker, the real engine, a real registry and
the test Kubernetes API server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from builders.models import BuildRun, BuildState
from tests.builders.conftest import World
from tests.builders.test_pipeline_e2e import create_builder, manifest_digest, wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.kube_apiserver import KubeApiServer
from tests.fixtures.registry import Registry
from workloads.models import Cluster, Service

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = "/api/v1/workspaces/acme/projects/shop/"
SERVICE = {
    "builder": "hello",
    "spec": {
        "name": "hello",
        "replicas": 1,
        "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
    },
}


def wait_for_service(check: Callable[[Service], bool], worker: CeleryWorker) -> Service:
    """Wait until the worker's build-succeeded handler left the service in the CHECKed state."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        service = Service.objects.select_related("deployed_run", "unchanged_run").get()
        if check(service):
            return service
        time.sleep(0.2)
    raise AssertionError(f"service is {service.state}; worker log:\n{worker.log_tail()}")


def deployment_applies(kube_apiserver: KubeApiServer) -> int:
    return len(kube_apiserver.requests_matching("PATCH", "/deployments/hello"))


def run_again(world: World, worker: CeleryWorker) -> BuildRun:
    """Start a run of `hello` with nothing changed (its artifact, tag and settings as they are)."""
    response = world.client("olga").post(PROJECT + "imagebuilders/hello/run/", {}, format="json")
    assert response.status_code == 201, response.json()
    run = BuildRun.objects.get(builder__name="hello", number=response.json()["number"])
    return wait_for_run(run, ("successful", "failed"), worker)


def test_rerun_without_changes_gives_the_same_digest_pushes_nothing_and_rolls_nothing(
    pipeline: World,
    registry: Registry,
    celery_worker: CeleryWorker,
    kube_apiserver: KubeApiServer,
    tmp_path: Path,
) -> None:
    cluster = Cluster(name="default")
    cluster.kubeconfig = yaml.safe_dump(kube_apiserver.kubeconfig())
    cluster.save()
    create_builder(pipeline, artifacts.build_static_binary(tmp_path, "same"))
    first = BuildRun.objects.get(builder__name="hello", number=1)
    created = pipeline.client("olga").post(PROJECT + "services/", SERVICE, format="json")
    assert created.status_code == 201, created.json()
    first = wait_for_run(first, ("successful", "failed"), celery_worker)
    assert first.state == BuildState.SUCCESSFUL, (first.error_code, first.error_message)
    wait_for_service(lambda s: s.deployed_run == first, celery_worker)
    applies = deployment_applies(kube_apiserver)

    second = run_again(pipeline, celery_worker)
    assert second.state == BuildState.SUCCESSFUL, (second.error_code, second.error_message)
    assert second.digest == first.digest == manifest_digest(registry.url, "demo/hello", "latest")
    assert (second.layers_pushed, second.bytes_pushed) == (0, 0)
    assert second.bytes_reused == first.bytes_pushed + first.bytes_reused
    service = wait_for_service(lambda s: s.unchanged_run == second, celery_worker)
    assert (service.state, service.deployed_run) == ("Deployed", first)
    assert deployment_applies(kube_apiserver) == applies  # no second rollout
    shown = pipeline.client("victor").get(PROJECT + "services/hello/").json()
    assert (shown["deployed_run"], shown["unchanged_run"]) == (1, 2)
