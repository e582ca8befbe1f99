"""The wizard's review step: preview from builder settings before anything exists."""

import pytest
import yaml

from builders.models import Artifact, BuildEnvironment, ImageBuilder
from workloads.models import Service

PREVIEW = "/api/v1/workspaces/acme/projects/shop/services/preview/"
SPEC = {
    "name": "orders",
    "replicas": 3,
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
}
pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_body(world):
    artifact = Artifact.objects.create(
        project=world.project,
        file_name="orders.jar",
        size=10,
        sha256="a" * 64,
        kind="jar",
        storage_key="artifacts/orders.jar",
    )
    environment = next(e for e in BuildEnvironment.objects.all() if "jar" in e.artifact_kinds)
    return {
        "name": "orders",
        "artifact_kind": "jar",
        "artifact_id": str(artifact.public_id),
        "environment": environment.name,
        "image_name": "demo/orders",
        "tag": "v2",
        "registry_secret": "local",
        "environment_parameters": {},
        "trigger_token": "",
    }


def preview(world, body, persona="olga"):
    return world.client(persona).post(PREVIEW, body, format="json")


def test_preview_from_settings_names_the_tag_at_zero_replicas_and_saves_nothing(
    world, settings_body
):
    response = preview(world, {"builder_settings": settings_body, "spec": SPEC})
    assert response.status_code == 200, response.data
    text = response.data["yaml"]
    documents = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in documents] == ["Namespace", "Secret", "Service", "Deployment"]
    deployment = documents[-1]
    assert deployment["spec"]["replicas"] == 0
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "127.0.0.1:5000/demo/orders:v2"
    assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "local"}]
    assert text.startswith("# Nothing is created yet") and "scales it to 3" in text
    assert documents[1]["data"] == {".dockerconfigjson": "<redacted>"}
    assert not ImageBuilder.objects.filter(name="orders").exists()
    assert not Service.objects.exists()


def test_preview_with_a_built_builder_pins_the_digest_without_the_note(world):
    run = world.run(1)
    body = {"builder": "shop", "spec": {**SPEC, "name": "web"}}
    text = preview(world, body).data["yaml"]
    deployment = list(yaml.safe_load_all(text))[-1]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(run.digest)
    assert not text.startswith("#")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"registry_secret": "nope"}, 400, "builder:unknown-registry-secret"),
        ({"name": "Bad_Name"}, 400, "validation:invalid"),
        ({"tag": "bad tag"}, 400, "validation:invalid"),
        ({"environment": "no-such-env"}, 400, "validation:invalid"),
        ({"artifact_kind": "war"}, 400, "builder:environment-kind-mismatch"),
        ({"artifact_id": None}, 400, "builder:artifact-required"),
        ({"artifact_id": "00000000-0000-0000-0000-000000000000"}, 400, "artifact:unknown"),
        ({"name": "shop"}, 409, "builder:name-taken"),
    ],
)
def test_bad_builder_settings_get_the_same_errors_as_create(
    world, settings_body, change, status, code
):
    settings = {k: v for k, v in {**settings_body, **change}.items() if v is not None}
    response = preview(world, {"builder_settings": settings, "spec": SPEC})
    assert response.status_code == status, response.data
    assert response.data["code"] == code
    assert response.data["message"]
    if code == "validation:invalid":
        assert set(response.data["fields"]) & set(change)


@pytest.mark.parametrize(
    ("spec", "status", "code"),
    [
        ({**SPEC, "name": "Orders"}, 400, "service:user:invalid-spec"),
        ({**SPEC, "name": "preview"}, 400, "service:user:name-reserved"),
        ("not an object", 400, "service:user:invalid-spec"),
    ],
)
def test_bad_spec_with_settings_is_a_clear_400(world, settings_body, spec, status, code):
    response = preview(world, {"builder_settings": settings_body, "spec": spec})
    assert response.status_code == status, response.data
    assert response.data["code"] == code


def test_a_taken_service_name_is_409_in_the_preview_too(world, settings_body):
    assert (
        world.client("olga")
        .post(PREVIEW.replace("preview/", ""), {"builder": "shop", "spec": SPEC}, format="json")
        .status_code
        == 201
    )
    response = preview(world, {"builder_settings": settings_body, "spec": SPEC})
    assert response.status_code == 409
    assert response.data["code"] == "service:user:name-taken"


def test_neither_builder_nor_settings_is_a_400_naming_the_field(world):
    response = preview(world, {"spec": SPEC})
    assert response.status_code == 400
    assert response.data["code"] == "validation:invalid" and "builder" in response.data["fields"]


def test_a_viewer_may_not_preview(world, settings_body):
    response = preview(world, {"builder_settings": settings_body, "spec": SPEC}, "victor")
    assert response.status_code == 403
