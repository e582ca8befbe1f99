"""The Jobs list of a project: its build Jobs read live from its namespace, with their state."""

import time

import pytest

from tests.fixtures.kube_controller import JobScript
from workloads.client import KubeClient
from workloads.jobs import BuildJobSpec, job_summary, render_build_job
from workloads.manifests import render_namespace

JOBS = "/api/v1/workspaces/acme/projects/shop/jobs/"
pytestmark = pytest.mark.django_db


def build_job(namespace: str, builder: str, run: int) -> dict:
    spec = BuildJobSpec(
        namespace=namespace,
        builder=builder,
        run_number=run,
        console_image="registry.example/b2i-console:0.1.0",
        artifact_url="http://127.0.0.1:9/artifact",
        artifact_sha256="a" * 64,
        target="127.0.0.1:5000/demo/shop:latest",
        credentials_secret="b2i-push-shop",
        environment="java-17",
    )
    return render_build_job(spec)


@pytest.fixture
def jobs(world, kube_apiserver):
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["done"]))
    kube_apiserver.script_job("b2i-build-shop-2", JobScript(lines=["==> push"], hang=True))
    kube_apiserver.script_job("b2i-build-shop-3", JobScript(lines=["boom"], exit_code=1))
    kube = KubeClient.connect(world.cluster.kubeconfig)
    try:
        for namespace in ("shop", "lab"):
            kube.create(render_namespace(namespace, "acme"))
        for run in (1, 2, 3):
            kube.create(build_job("shop", "shop", run))
        kube.create(build_job("lab", "other", 1))  # another project's namespace
        foreign = build_job("shop", "x", 9)
        foreign["metadata"]["labels"] = {"app": "not-a-build"}
        foreign["metadata"]["name"] = "someone-elses-job"
        kube.create(foreign)
    finally:
        kube.close()


def listed(world, persona="victor"):
    response = world.client(persona).get(JOBS)
    assert response.status_code == 200, response.data
    return {job["name"]: job for job in response.data["results"]}


def test_lists_only_this_projects_build_jobs_with_their_state(world, jobs):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = listed(world)
        states = {name: job["state"] for name, job in found.items()}
        if states.get("b2i-build-shop-1") == "Succeeded" and states.get("b2i-build-shop-3") == (
            "Failed"
        ):
            break
        time.sleep(0.1)
    assert set(found) == {"b2i-build-shop-1", "b2i-build-shop-2", "b2i-build-shop-3"}
    assert states == {
        "b2i-build-shop-1": "Succeeded",
        "b2i-build-shop-2": "Running",
        "b2i-build-shop-3": "Failed",
    }
    running = found["b2i-build-shop-2"]
    assert running["builder"] == "shop" and running["run"] == 2 and running["active"] == 1
    assert running["started_at"] and running["completed_at"] is None
    assert found["b2i-build-shop-1"]["completed_at"]


def test_an_empty_namespace_lists_nothing_and_names_the_executor(world):
    response = world.client("victor").get(JOBS)
    assert response.status_code == 200, response.data
    assert response.data["results"] == []
    assert response.data["executor"] and response.data["kubernetes_jobs"] is False


@pytest.mark.parametrize(("persona", "status"), [("charlie", 404), ("anonymous", 401)])
def test_outsiders_see_no_jobs(world, persona, status):
    assert world.client(persona).get(JOBS).status_code == status


def test_no_cluster_configured_is_409_with_a_code(world):
    world.cluster.delete()
    response = world.client("victor").get(JOBS)
    assert response.status_code == 409 and response.data["code"] == "kube:not-configured"


def test_job_summary_reads_a_deadline_failure():
    job = build_job("shop", "shop", 4)
    job["status"] = {
        "failed": 1,
        "startTime": "2026-11-26T03:00:00Z",
        "conditions": [
            {"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "late"}
        ],
    }
    summary = job_summary(job)
    assert (summary["state"], summary["reason"], summary["run"]) == (
        "Failed",
        "DeadlineExceeded",
        4,
    )
    assert job_summary({"metadata": {"name": "j"}})["state"] == "Pending"
