"""Workspaces, projects and members through the API: visibility, creation, deletion, members."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from projects import access, services
from projects.models import Project, ProjectMembership, Workspace, WorkspaceMembership
from tests.projects.conftest import World

ACME = "/api/v1/workspaces/acme/"
SHOP = ACME + "projects/shop/"

WORKSPACES_SEEN = {
    "root": ["acme", "globex"],
    "paula": [],
    "rita": [],
    "alice": ["acme"],
    "sam": ["acme"],
    "walt": ["acme"],
    "vera": ["acme"],
    "bob": ["acme"],
    "oscar": ["acme"],
    "charlie": ["acme"],
}
PROJECTS_SEEN_IN_ACME = {
    "root": ["back-office", "shop"],
    "alice": ["back-office", "shop"],
    "vera": ["back-office", "shop"],
    "sam": [],
    "walt": [],
    "bob": ["shop"],
    "oscar": ["shop"],
    "charlie": ["shop"],
}


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


@pytest.mark.parametrize(("persona", "expected"), WORKSPACES_SEEN.items())
def test_workspace_list_shows_only_visible_workspaces(
    world: World, persona: str, expected: list[str]
) -> None:
    assert names(world.client(persona).get("/api/v1/workspaces/")) == expected


@pytest.mark.parametrize(("persona", "expected"), PROJECTS_SEEN_IN_ACME.items())
def test_project_list_shows_only_visible_projects(
    world: World, persona: str, expected: list[str]
) -> None:
    assert names(world.client(persona).get(ACME + "projects/")) == expected


def test_project_carries_my_role_and_permissions_for_the_ui(world: World) -> None:
    body = world.client("oscar").get(SHOP).json()
    assert body["my_role"] == "operator"
    assert body["permissions"] == {"view": True, "operate": True, "manage": False}
    assert body["namespace"] == "shop"


def test_self_provisioner_creates_a_workspace_and_becomes_its_admin(world: World) -> None:
    response = world.client("paula").post("/api/v1/workspaces/", {"name": "paula-co"})
    assert response.status_code == 201
    assert response.json()["my_role"] == "workspace-admin"
    workspace = Workspace.objects.get(name="paula-co")
    assert access.can_workspace(world.users["paula"], workspace, "manage")


def test_workspace_self_provisioner_creates_a_project_and_becomes_its_admin(world: World) -> None:
    response = world.client("sam").post(ACME + "projects/", {"name": "sams-app"})
    assert response.status_code == 201, response.content
    project = Project.objects.get(name="sams-app")
    assert access.project_role(world.users["sam"], project) == "admin"
    assert not access.can(world.users["walt"], project, "view")
    assert names(world.client("sam").get(ACME + "projects/")) == ["sams-app"]


@pytest.mark.parametrize("name", ["Shop", "-shop", "shop-", "sh_op", "a" * 64, ""])
def test_project_names_must_be_dns_labels(world: World, name: str) -> None:
    response = world.client("alice").post(ACME + "projects/", {"name": name})
    assert response.status_code == 400
    assert response.json()["code"] == "validation:invalid"
    assert "name" in response.json()["fields"]


def test_project_names_are_unique_across_workspaces(world: World) -> None:
    # "lab" lives in globex; it is a Kubernetes namespace, so acme cannot have one too.
    response = world.client("alice").post(ACME + "projects/", {"name": "lab"})
    assert response.status_code == 409
    assert response.json()["code"] == "project:name-taken"


def test_project_deletion_needs_its_name_as_confirmation(world: World) -> None:
    response = world.client("bob").delete(SHOP)
    assert response.status_code == 400
    assert response.json()["code"] == "delete:confirmation-required"
    assert world.client("bob").delete(SHOP + "?confirm=shoq").status_code == 400
    assert Project.objects.filter(name="shop").exists()


def test_project_with_active_builds_is_not_deleted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "_active_work_checks", [])
    services.register_active_work_check(lambda project: 2 if project.name == "shop" else 0)
    response = world.client("bob").delete(SHOP + "?confirm=shop")
    assert response.status_code == 409
    assert response.json()["code"] == "project:has-active-builds"
    assert "2 active build" in response.json()["message"]
    assert Project.objects.filter(name="shop").exists()


def test_project_deletion_removes_its_secrets_and_memberships(world: World) -> None:
    assert world.client("bob").delete(SHOP + "?confirm=shop").status_code == 204
    assert not Project.objects.filter(name="shop").exists()
    assert not ProjectMembership.objects.filter(user=world.users["charlie"]).exists()


def test_empty_workspace_is_deleted_with_confirmation(world: World) -> None:
    world.client("paula").post("/api/v1/workspaces/", {"name": "tmp"})
    assert world.client("paula").delete("/api/v1/workspaces/tmp/").status_code == 400
    assert world.client("paula").delete("/api/v1/workspaces/tmp/?confirm=tmp").status_code == 204
    assert not Workspace.objects.filter(name="tmp").exists()


def test_inviting_an_unknown_user_is_a_clear_400(world: World) -> None:
    response = world.client("alice").post(
        ACME + "members/", {"username": "nobody", "role": "workspace-viewer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "members:unknown-user"


def test_inviting_an_existing_member_is_a_409(world: World) -> None:
    response = world.client("alice").post(
        ACME + "members/", {"username": "walt", "role": "workspace-viewer"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "members:already-member"


def test_an_unknown_role_is_a_400(world: World) -> None:
    response = world.client("bob").post(
        SHOP + "members/", {"username": "rita", "role": "owner"}, format="json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_the_last_workspace_admin_cannot_be_demoted_or_removed(world: World) -> None:
    api = world.client("alice")
    demote = api.patch(ACME + "members/alice/", {"role": "workspace-viewer"}, format="json")
    assert demote.status_code == 409
    assert demote.json()["code"] == "members:last-admin"
    assert api.delete(ACME + "members/alice/").status_code == 409
    assert WorkspaceMembership.objects.get(user=world.users["alice"]).role == "workspace-admin"


def test_invited_user_gets_the_roles_powers_and_loses_them_when_removed(world: World) -> None:
    bob = world.client("bob")
    bob.post(SHOP + "members/", {"username": "walt", "role": "operator"}, format="json")
    walt = world.client("walt")
    assert walt.get(SHOP).json()["my_role"] == "operator"
    bob.patch(SHOP + "members/walt/", {"role": "viewer"}, format="json")
    assert walt.post(SHOP + "registrysecrets/", {"name": "x", "address": "r.io"}).status_code == 403
    bob.delete(SHOP + "members/walt/")
    assert walt.get(SHOP).status_code == 404


def test_removing_a_workspace_member_removes_their_project_memberships(world: World) -> None:
    WorkspaceMembership.objects.create(
        workspace=world.acme, user=world.users["charlie"], role="workspace-regular"
    )
    assert world.client("alice").delete(ACME + "members/charlie/").status_code == 204
    assert world.client("charlie").get(SHOP).status_code == 404


def test_openapi_schema_and_docs_page_are_served(world: World) -> None:
    api = world.client("bob")
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert (
        "/api/v1/workspaces/{workspace}/projects/{project}/registrysecrets/{name}/validate/"
        in paths
    )
    api.force_login(world.users["bob"])  # the docs page is a Django view: a session signs in
    assert api.get("/api/docs/").status_code == 200


def _builder_pushing_with_hub(world: World) -> Any:
    """Create the image builder `web` in shop that pushes with the registry secret `hub`."""
    from builders.models import BuildEnvironment, ImageBuilder

    return ImageBuilder.objects.create(
        project=world.shop,
        name="web",
        artifact_kind="jar",
        environment=BuildEnvironment.objects.first(),
        image_name="shop/web",
        registry_secret=world.shop.registry_secrets.get(name="hub"),
    )


def test_project_whose_builders_use_its_secrets_can_be_deleted(world: World) -> None:
    from builders.models import BuildRun, ImageBuilder

    builder = _builder_pushing_with_hub(world)
    BuildRun.objects.create(builder=builder, number=1, tag="v1", state="successful")
    response = world.client("bob").delete(SHOP + "?confirm=shop")
    assert response.status_code == 204, response.content
    assert not ImageBuilder.objects.filter(pk=builder.pk).exists()


def test_secret_used_by_a_builder_is_not_deleted_and_says_by_what(world: World) -> None:
    _builder_pushing_with_hub(world)
    response = world.client("bob").delete(SHOP + "registrysecrets/hub/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict:in-use"
    assert "web" in response.json()["message"]


def test_openapi_schema_and_docs_need_a_signed_in_user(db: Any) -> None:
    anonymous = APIClient()
    schema = anonymous.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 401
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")
