"""The builders REST API: create/list/filter/update/delete, runs, cancel, roles, environments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from builders import services
from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.test_uploads import make_war

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"


def create(world: World, path: Path, persona: str = "olga", **fields: Any) -> Any:
    body = {
        "name": "hello",
        "artifact_kind": "binary",
        "environment": "binary-debian",
        "image_name": "demo/hello",
        "registry_secret": "local",
        **fields,
    }
    with path.open("rb") as handle:
        return world.client(persona).post(BUILDERS, {**body, "file": handle}, format="multipart")


@pytest.fixture
def builder(world: World, media_root: Path, busybox: Path) -> ImageBuilder:
    return make_builder(world, make_artifact(world.project, busybox))


def test_create_uploads_the_artifact_and_queues_run_1_after_commit(
    world: World,
    media_root: Path,
    busybox: Path,
    enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = create(world, busybox, tag="v1", trigger_token="Abc123" * 4)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["run"]["number"] == 1 and body["run"]["state"] == "pending"
    assert body["status"] == "building"
    assert body["artifact"]["kind"] == "binary"
    assert body["trigger_url"].endswith(BUILDERS + "hello/trigger/")  # the token goes in a header
    run = BuildRun.objects.get(builder__name="hello")
    assert enqueued == [run.pk]
    assert (run.tag, run.artifact.sha256) == ("v1", body["artifact"]["sha256"])
    assert body["update_workloads"] is True


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "Bad_Name"}, "validation:invalid"),
        ({"environment": "java-17"}, "builder:environment-kind-mismatch"),
        ({"registry_secret": "nope"}, "builder:unknown-registry-secret"),
        ({"tag": "-bad"}, "validation:invalid"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_400(
    world: World, media_root: Path, busybox: Path, fields: dict[str, str], code: str
) -> None:
    response = create(world, busybox, **fields)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not ImageBuilder.objects.exists()


def test_create_with_a_war_for_a_jar_builder_says_what_the_file_is(
    world: World, media_root: Path, tmp_path: Path
) -> None:
    war = make_war(tmp_path / "app.jar")
    response = create(world, war, artifact_kind="jar", environment="java-17")
    assert response.status_code == 400
    assert response.json()["code"] == "build:user:kind-mismatch"
    assert response.json()["message"].startswith("this file is a WAR, not a JAR")


def test_duplicate_name_is_409(
    world: World, builder: ImageBuilder, busybox: Path, enqueued: list[int]
) -> None:
    response = create(world, busybox)
    assert response.status_code == 409
    assert response.json()["code"] == "builder:name-taken"


def test_list_filters_by_status_kind_and_search(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    other = make_builder(world, builder.artifact, name="quiet", image_name="team/quiet")
    services.do_start_run(builder)
    client = world.client("victor")

    def names(**params: str) -> list[str]:
        return sorted(item["name"] for item in client.get(BUILDERS, params).json()["results"])

    assert names() == ["hello", "quiet"]
    assert names(status="building") == ["hello"]
    assert names(status="not-run") == [other.name]
    assert names(kind="binary") == ["hello", "quiet"]
    assert names(kind="jar") == []
    assert names(search="team/") == ["quiet"]
    assert names(name="quiet") == ["quiet"]  # exact: the create form's free-name check
    assert names(name="quie") == []


def test_roles_viewer_reads_operator_acts_outsider_sees_nothing(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    builder.trigger_token = "Secret42"
    builder.save()
    viewer = world.client("victor")
    seen = viewer.get(BUILDERS + "hello/").json()
    assert seen["name"] == "hello" and "trigger_token" not in seen and seen["trigger_url"] is None
    assert seen["has_trigger_token"] is True  # the page says "set", not "no token"
    assert viewer.post(BUILDERS + "hello/run/", {}).status_code == 403
    assert viewer.delete(BUILDERS + "hello/").status_code == 403
    assert world.client("charlie").get(BUILDERS + "hello/").status_code == 404
    assert world.client("charlie").get(BUILDERS).status_code == 404
    assert world.client("anonymous").get(BUILDERS).status_code in (401, 403)
    operator = world.client("olga")
    assert operator.get(BUILDERS + "hello/").json()["trigger_token"] == "Secret42"
    assert operator.post(BUILDERS + "hello/run/", {"tag": "v9"}).status_code == 201


def test_run_cancel_runs_list_and_detail(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    client = world.client("olga")
    started = client.post(BUILDERS + "hello/run/", {"tag": "v2"}, format="json")
    assert started.status_code == 201 and started.json()["tag"] == "v2"
    cancelled = client.post(BUILDERS + "hello/runs/1/cancel/")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    runs = client.get(BUILDERS + "hello/runs/").json()["results"]
    assert [(r["number"], r["state"]) for r in runs] == [(1, "cancelled")]
    detail = client.get(BUILDERS + "hello/runs/1/").json()
    assert detail["error_code"] == "build:cancelled"
    assert client.get(BUILDERS + "hello/runs/7/").status_code == 404


def test_update_keeps_name_and_delete_waits_for_active_runs(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    client = world.client("olga")
    patched = client.patch(
        BUILDERS + "hello/", {"description": "web", "tag": "v5", "name": "x"}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    builder.refresh_from_db()
    assert (builder.name, builder.description, builder.tag) == ("hello", "web", "v5")
    run = services.do_start_run(builder)
    refused = client.delete(BUILDERS + "hello/")
    assert refused.status_code == 409 and refused.json()["code"] == "builder:run-active"
    services.do_request_cancel(run)
    assert client.delete(BUILDERS + "hello/").status_code == 204
    assert not ImageBuilder.objects.exists()


def test_rerun_with_an_uploaded_artifact_of_the_wrong_kind_is_400(
    world: World, builder: ImageBuilder, tmp_path: Path, enqueued: list[int]
) -> None:
    war = make_war(tmp_path / "app.war")
    with war.open("rb") as handle:
        response = world.client("olga").post(
            BUILDERS + "hello/run/", {"file": handle}, format="multipart"
        )
    assert response.status_code == 400
    assert response.json()["code"] == "build:user:kind-mismatch"
    assert not BuildRun.objects.exists()


ENVIRONMENTS = "/api/v1/buildenvironments/"


def custom_environment(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "company-jre",
        "title": "Company JRE 17",
        "base_image": "registry.example.com/base/jre:17",
        "artifact_kinds": ["jar"],
        "spec": {
            "placement": "/srv/app.jar",
            "cmd": ["java", "-jar", "/srv/app.jar"],
            "port": 8080,
        },
        **overrides,
    }


def test_environments_are_listed_and_only_platform_admins_add_them(world: World) -> None:
    listed = world.client("victor").get(ENVIRONMENTS, {"kind": "war"}).json()
    assert listed and all("war" in env["artifact_kinds"] for env in listed)
    assert any(env["name"] == "tomcat-10-java-17" and env["builtin"] for env in listed)
    assert (
        world.client("alice").post(ENVIRONMENTS, custom_environment(), format="json").status_code
        == 403
    )
    root = User.objects.create_superuser("root", "root@example.test", None)
    admin = world.client("victor")
    admin.force_authenticate(root)
    created = admin.post(ENVIRONMENTS, custom_environment(), format="json")
    assert created.status_code == 201, created.json()
    assert BuildEnvironment.objects.get(name="company-jre").port == 8080
    bad = admin.post(
        ENVIRONMENTS, custom_environment(name="broken", spec={"colour": "red"}), format="json"
    )
    assert bad.status_code == 400 and "spec" in bad.json()["fields"]
    bad_kind = admin.post(
        ENVIRONMENTS, custom_environment(name="odd", artifact_kinds=["exe"]), format="json"
    )
    assert bad_kind.status_code == 400


def test_trigger_token_is_encrypted_at_rest(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    from django.db import connection

    patched = world.client("olga").patch(
        BUILDERS + "hello/", {"trigger_token": "PlainToken77PlainToken77"}, format="json"
    )
    assert (
        patched.status_code == 200 and patched.json()["trigger_token"] == "PlainToken77PlainToken77"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT trigger_token_encrypted FROM builders_imagebuilder WHERE id = %s", [builder.pk]
        )
        raw = cursor.fetchone()[0]
    assert raw and "PlainToken77PlainToken77" not in raw
    builder.refresh_from_db()
    assert builder.trigger_token == "PlainToken77PlainToken77"


def test_deleting_a_project_removes_its_builders_runs_and_artifacts(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    from builders.models import Artifact

    run = services.do_start_run(builder)
    services.do_request_cancel(run)
    world.project.delete()
    assert not ImageBuilder.objects.exists()
    assert not BuildRun.objects.exists()
    assert not Artifact.objects.exists()


def test_a_registry_secret_used_by_a_builder_cannot_be_deleted(
    world: World, builder: ImageBuilder
) -> None:
    response = world.client("alice").delete(
        "/api/v1/workspaces/acme/projects/shop/registrysecrets/local/?confirm=local"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict:in-use"
    assert "hello" in response.json()["message"]


@pytest.mark.parametrize(
    "parameters",
    [{"JAVA_OPTS": "-Xmx1g\x00"}, {"1BAD": "x"}, {"WITH SPACE": "x"}, ["not", "an", "object"]],
)
def test_environment_parameters_with_bad_names_or_nul_are_a_clear_400(
    world: World, builder: ImageBuilder, parameters: Any
) -> None:
    response = world.client("olga").patch(
        BUILDERS + "hello/", {"environment_parameters": parameters}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation:invalid"
    assert "environment_parameters" in response.json()["fields"]
    builder.refresh_from_db()
    assert builder.environment_parameters == {}


def test_update_workloads_can_be_switched_off_at_create_and_on_again(
    world: World, media_root: Path, busybox: Path, enqueued: list[int]
) -> None:
    response = create(world, busybox, update_workloads="false")
    assert response.status_code == 201, response.json()
    assert response.json()["update_workloads"] is False
    client = world.client("olga")
    patched = client.patch(BUILDERS + "hello/", {"description": "x"}, format="json")
    assert patched.json()["update_workloads"] is False
    patched = client.patch(BUILDERS + "hello/", {"update_workloads": True}, format="json")
    assert patched.json()["update_workloads"] is True


@pytest.mark.parametrize("image_name", ["Demo/Hello", "demo//hello", "demo/hello:tag", "dé/mo"])
def test_an_image_name_the_build_could_not_push_is_refused_at_create(
    world: World, media_root: Path, busybox: Path, enqueued: list[int], image_name: str
) -> None:
    response = create(world, busybox, image_name=image_name)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "builder:invalid-image-name"
    assert not ImageBuilder.objects.exists() and enqueued == []


def test_an_image_name_the_build_could_not_push_is_refused_at_update(
    world: World, builder: ImageBuilder
) -> None:
    response = world.client("olga").patch(
        BUILDERS + "hello/", {"image_name": "Bad Name"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "builder:invalid-image-name"
    builder.refresh_from_db()
    assert builder.image_name == "demo/hello"
