"""Services tied to builds: created at 0 replicas, rolled only by successful runs, rolled back,
deleted with options — against the test API server through the real client."""

import base64
import json
import time

import pytest

from b2i_console.errors import UserError
from builders import services as build_services
from builders.logs import RunLog
from builders.models import BuildRun, ImageBuilder
from workloads.client import KubeClient, KubeError
from workloads.models import Service
from workloads.services import (
    DeleteOptions,
    check_create_service,
    check_rollback,
    do_delete_service,
    on_build_succeeded,
    service_status,
)

SPEC = {
    "name": "shop",
    "replicas": 2,
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
    "external_access": "NodePort",
    "context_path": "shop",
}
pytestmark = pytest.mark.django_db


@pytest.fixture
def kube(kube_apiserver):
    client = KubeClient.connect(kube_apiserver.kubeconfig())
    yield client
    client.close()


def deployment(kube):
    return kube.get("Deployment", "shop", "shop-v1")


def image_of(kube):
    return deployment(kube)["spec"]["template"]["spec"]["containers"][0]["image"]


def wait_until_ready(service, replicas, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = service_status(service)
        if status["complete"] and status["ready"] == replicas:
            return status
        time.sleep(0.05)
    raise AssertionError(f"not ready: {status}")


def test_new_service_waits_at_zero_replicas_until_the_first_successful_build(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, world.users["olga"])
    assert service.state == "Waiting"
    assert deployment(kube)["spec"]["replicas"] == 0
    assert image_of(kube) == "127.0.0.1:5000/demo/shop:latest"
    namespace = kube.get("Namespace", "", "shop")
    assert namespace["metadata"]["labels"]["kubesphere.io/workspace"] == "acme"
    secret = kube.get("Secret", "shop", "local")
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["127.0.0.1:5000"]["username"] == "pusher"
    assert deployment(kube)["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "local"}]


def test_a_run_ending_successful_rolls_its_services_once_that_commits(
    world, kube, django_capture_on_commit_callbacks
):
    service = check_create_service(world.project, SPEC, world.builder, None)
    run = world.run(1, state="running")
    digest = "sha256:" + "ab" * 32
    result = {"digest": digest, "image_reference": "127.0.0.1:5000/demo/shop:latest"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert build_services.do_mark_successful(run, result, RunLog(run.pk))
        service.refresh_from_db()
        assert service.state == "Waiting"  # builders sent nothing before the commit
    assert callbacks  # the signal went out from transaction.on_commit
    service.refresh_from_db()
    assert service.state == "Deployed" and service.deployed_run == run
    assert image_of(kube) == f"127.0.0.1:5000/demo/shop@{digest}"


def test_first_successful_run_pins_the_digest_and_scales_to_the_requested_replicas(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    run = world.run(1)
    assert on_build_succeeded(run) == [service]
    service.refresh_from_db()
    assert service.state == "Deployed" and service.deployed_run == run
    assert image_of(kube) == f"127.0.0.1:5000/demo/shop@{run.digest}"
    assert deployment(kube)["spec"]["replicas"] == 2
    status = wait_until_ready(service, 2)
    node_port = kube.get("Service", "shop", "shop")["spec"]["ports"][0]["nodePort"]
    assert status["access_urls"][0].endswith(f":{node_port}/shop/")


def test_a_failed_run_never_touches_the_workload(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    good = world.run(1)
    on_build_succeeded(good)
    generation = deployment(kube)["metadata"]["generation"]
    failed = world.run(2, state="failed")
    assert on_build_succeeded(failed) == []
    assert image_of(kube).endswith(good.digest)
    assert deployment(kube)["metadata"]["generation"] == generation
    service.refresh_from_db()
    assert service.deployed_run == good


def test_a_service_created_after_a_success_deploys_that_digest_at_once(world, kube):
    run = world.run(1)
    service = check_create_service(world.project, SPEC, world.builder, None)
    assert service.state == "Deployed" and service.deployed_run == run
    assert image_of(kube).endswith(run.digest)


def test_later_runs_update_only_when_update_workloads_is_on(world, kube):
    check_create_service(world.project, SPEC, world.builder, None)
    first = world.run(1)
    on_build_succeeded(first)
    ImageBuilder.objects.filter(pk=world.builder.pk).update(update_workloads=False)
    assert on_build_succeeded(world.run(2)) == []
    assert image_of(kube).endswith(first.digest)
    ImageBuilder.objects.filter(pk=world.builder.pk).update(update_workloads=True)
    third = world.run(3)
    assert len(on_build_succeeded(third)) == 1
    assert image_of(kube).endswith(third.digest)


def test_a_rerun_with_the_deployed_digest_rolls_nothing_and_says_no_change(
    world, kube, kube_apiserver
):
    service = check_create_service(world.project, SPEC, world.builder, None)
    first = world.run(1)
    assert on_build_succeeded(first) == [service]
    generation = deployment(kube)["metadata"]["generation"]
    applies = len(kube_apiserver.requests_matching("PATCH", "/deployments/shop-v1"))
    same = world.run(2, digest=first.digest)  # identical inputs: identical digest
    assert on_build_succeeded(same) == []
    assert len(kube_apiserver.requests_matching("PATCH", "/deployments/shop-v1")) == applies
    assert deployment(kube)["metadata"]["generation"] == generation
    service.refresh_from_db()
    assert (service.state, service.deployed_run, service.unchanged_run) == ("Deployed", first, same)
    changed = world.run(3)
    assert on_build_succeeded(changed) == [service]
    assert image_of(kube).endswith(changed.digest)
    service.refresh_from_db()
    assert (service.deployed_run, service.unchanged_run) == (changed, None)


def test_rollback_deploys_an_earlier_successful_digest(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    first, second = world.run(1), world.run(2)
    on_build_succeeded(first)
    on_build_succeeded(second)
    assert image_of(kube).endswith(second.digest)
    check_rollback(service, 1)
    assert image_of(kube).endswith(first.digest)
    service.refresh_from_db()
    assert service.deployed_run == first
    assert wait_until_ready(service, 2)["image"].endswith(first.digest)


def test_rollback_to_a_failed_or_missing_run_is_refused(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    world.run(1, state="failed")
    with pytest.raises(UserError) as caught:
        check_rollback(service, 1)
    assert caught.value.code == "service:user:run-not-successful"
    with pytest.raises(UserError, match="no run #9"):
        check_rollback(service, 9)


def test_invalid_spec_and_duplicate_names_are_user_errors(world, kube):
    with pytest.raises(UserError) as caught:
        check_create_service(world.project, {**SPEC, "ports": []}, world.builder, None)
    assert caught.value.code == "service:user:invalid-spec"
    check_create_service(world.project, SPEC, world.builder, None)
    with pytest.raises(UserError) as caught:
        check_create_service(world.project, SPEC, world.builder, None)
    assert caught.value.status == 409


def test_cluster_rejection_leaves_no_service_record_and_no_objects(world, kube):
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    existing = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque"}
    kube.apply({**existing, "metadata": {"name": "local", "namespace": "shop"}, "data": {}})
    with pytest.raises(KubeError) as caught:
        check_create_service(world.project, SPEC, world.builder, None)
    assert caught.value.code == "kube:user:invalid-object"
    assert "immutable" in caught.value.message
    assert not Service.objects.exists()
    assert kube.list("Deployment", "shop") == [] and kube.list("Service", "shop") == []


def test_delete_removes_workload_service_and_secret_but_keeps_the_builder(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    on_build_succeeded(world.run(1))
    deleted = do_delete_service(service, DeleteOptions())
    assert sorted(deleted) == ["Deployment/shop-v1", "Secret/local", "Service/shop"]
    assert kube.list("Deployment", "shop") == [] and kube.list("Pod", "shop") == []
    assert ImageBuilder.objects.filter(pk=world.builder.pk).exists()


def test_delete_can_take_the_builder_and_its_runs_and_keep_the_workload(world, kube):
    service = check_create_service(world.project, SPEC, world.builder, None)
    on_build_succeeded(world.run(1))
    options = DeleteOptions(workload=False, kube_service=False, pull_secret=False, builder=True)
    assert do_delete_service(service, options) == ["ImageBuilder/shop"]
    assert not ImageBuilder.objects.exists() and not BuildRun.objects.exists()
    assert deployment(kube) is not None


def test_stateful_service_renders_statefulset_and_reports_its_status(world, kube):
    spec = {**SPEC, "name": "ledger", "kind": "stateful", "replicas": 1, "external_access": "none"}
    service = check_create_service(world.project, spec, world.builder, None)
    on_build_succeeded(world.run(1))
    status = wait_until_ready(service, 1)
    assert status["kind"] == "StatefulSet" and status["pods"][0]["name"] == "ledger-v1-0"
    assert status["access_urls"] == []
    assert kube.get("Service", "shop", "ledger-headless")["spec"]["clusterIP"] == "None"


def test_war_service_access_url_defaults_to_the_war_base_name(world, kube, tmp_path):
    from builders.models import Artifact

    war = Artifact.objects.create(
        project=world.project, file_name="petstore.war", size=1, sha256="0" * 64, kind="war",
        storage_key="artifacts/petstore.war",
    )  # fmt: skip
    ImageBuilder.objects.filter(pk=world.builder.pk).update(artifact_kind="war", artifact=war)
    world.builder.refresh_from_db()
    spec = {key: value for key, value in SPEC.items() if key != "context_path"}
    service = check_create_service(world.project, spec, world.builder, None)
    assert service.spec["context_path"] == "petstore"
    on_build_succeeded(world.run(1))
    assert wait_until_ready(service, 2)["access_urls"][0].endswith("/petstore/")
