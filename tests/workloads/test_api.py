"""The services API: preview, create, status, export, rollback, delete — with role checks."""

import time

import pytest
import yaml

from workloads.models import Cluster, Service
from workloads.services import on_build_succeeded

BASE = "/api/v1/workspaces/acme/projects/shop/services/"
SPEC = {
    "name": "web",
    "replicas": 1,
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
    "external_access": "NodePort",
    "context_path": "web",
}
BODY = {"builder": "shop", "spec": SPEC}
pytestmark = pytest.mark.django_db


def test_preview_shows_every_object_as_yaml_with_secret_data_redacted(world):
    response = world.client("olga").post(BASE + "preview/", BODY, format="json")
    assert response.status_code == 200, response.data
    documents = list(yaml.safe_load_all(response.data["yaml"]))
    kinds = [d["kind"] for d in documents]
    assert kinds == ["Namespace", "Secret", "Service", "Deployment"]
    assert documents[1]["data"] == {".dockerconfigjson": "<redacted>"}
    assert "pusher-password" not in response.data["yaml"]
    assert not Service.objects.exists()


def test_create_then_status_export_and_list(world, kube_apiserver):
    olga = world.client("olga")
    created = olga.post(BASE, BODY, format="json")
    assert created.status_code == 201, created.data
    assert created.data["state"] == "Waiting" and created.data["builder"] == "shop"
    on_build_succeeded(world.run(1))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = world.client("victor").get(BASE + "web/status/").data
        if status["complete"] and status["ready"] == 1:
            break
        time.sleep(0.05)
    assert status["state"] == "Deployed"
    assert status["access_urls"][0].endswith("/web/")
    assert [p["phase"] for p in status["pods"]] == ["Running"]
    exported = world.client("victor").get(BASE + "web/export/").data["yaml"]
    deployment = list(yaml.safe_load_all(exported))[-1]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        world.builder.runs.get(number=1).digest
    )
    listing = world.client("victor").get(BASE).data["results"]
    assert [row["name"] for row in listing] == ["web"]
    by_name = world.client("victor").get(BASE, {"name": "we"}).data["results"]
    assert by_name == []  # exact: the wizard's free-name check
    assert [
        row["name"] for row in world.client("victor").get(BASE, {"name": "web"}).data["results"]
    ] == ["web"]
    assert listing[0]["deployed_run"] == 1


def test_rollback_through_the_api(world):
    world.client("olga").post(BASE, BODY, format="json")
    first, second = world.run(1), world.run(2)
    on_build_succeeded(first)
    on_build_succeeded(second)
    response = world.client("olga").post(BASE + "web/rollback/", {"run": 1}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["deployed_run"] == 1
    assert response.data["deployed_image"].endswith(first.digest)
    failed = world.run(3, state="failed")
    refused = world.client("olga").post(BASE + "web/rollback/", {"run": failed.number})
    assert refused.status_code == 409
    assert refused.data["code"] == "service:user:run-not-successful"


def test_delete_with_options_from_query_flags(world, kube_apiserver):
    world.client("olga").post(BASE, BODY, format="json")
    response = world.client("olga").delete(BASE + "web/?pull_secret=false&builder=true")
    assert response.status_code == 200, response.data
    assert sorted(response.data["deleted"]) == [
        "Deployment/web-v1",
        "ImageBuilder/shop",
        "Service/web",
    ]
    assert ("v1", "secrets", "shop", "local") in kube_apiserver.store.objects


@pytest.mark.parametrize(
    ("persona", "method", "path", "expected"),
    [
        ("victor", "post", "", 403),
        ("victor", "post", "preview/", 403),
        ("victor", "delete", "web/", 403),
        ("victor", "post", "web/rollback/", 403),
        ("charlie", "get", "", 404),
        ("charlie", "get", "web/status/", 404),
        ("anonymous", "get", "", 401),
    ],
)
def test_roles_are_enforced(world, persona, method, path, expected):
    world.client("olga").post(BASE, BODY, format="json")
    response = getattr(world.client(persona), method)(BASE + path, BODY, format="json")
    assert response.status_code == expected, response.data
    assert Service.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"builder": "shop", "spec": {**SPEC, "name": "Web"}}, "service:user:invalid-spec"),
        (
            {"builder": "shop", "spec": {**SPEC, "ports": [{"container_port": 0}]}},
            "service:user:invalid-spec",
        ),
        ({"builder": "nope", "spec": SPEC}, "service:user:unknown-builder"),
        ({"builder": "shop", "spec": "not an object"}, "service:user:invalid-spec"),
        ({"spec": SPEC}, "validation:invalid"),
        ({"builder": "shop", "spec": {**SPEC, "name": "preview"}}, "service:user:name-reserved"),
        (
            {"builder": "shop", "spec": {**SPEC, "env": [{"name": "A", "value": "a\x00b"}]}},
            "service:user:invalid-spec",
        ),
    ],
)
def test_bad_input_is_a_clear_400(world, body, code):
    response = world.client("olga").post(BASE, body, format="json")
    assert response.status_code == 400, response.data
    assert response.data["code"] == code
    assert response.data["message"]


def test_unreachable_cluster_is_502_with_a_code_and_nothing_recorded(world):
    cluster = Cluster.objects.get()
    config = cluster.kubeconfig
    config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"
    cluster.kubeconfig = yaml.safe_dump(config)
    cluster.save()
    response = world.client("olga").post(BASE, BODY, format="json")
    assert response.status_code == 502
    assert response.data["code"] == "kube:unreachable"
    assert not Service.objects.exists()


def test_no_cluster_configured_is_409_with_a_code(world):
    Cluster.objects.all().delete()
    response = world.client("olga").post(BASE, BODY, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "kube:not-configured"


def test_kubeconfig_is_encrypted_at_rest(world, kube_apiserver):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT kubeconfig_encrypted FROM workloads_cluster")
        (raw,) = cursor.fetchone()
    assert kube_apiserver.url not in raw and kube_apiserver.token not in raw
    assert Cluster.objects.get().kubeconfig["users"][0]["user"]["token"] == kube_apiserver.token
