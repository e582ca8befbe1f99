"""Group-to-role mappings over the API: platform admins only, validated, in the schema."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from identity.models import GroupRoleMapping
from projects.models import Project, Workspace, WorkspaceMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> tuple[Workspace, Project]:
    owner = User.objects.create_user("owner")
    workspace = Workspace.objects.create(name="retail", creator=owner)
    WorkspaceMembership.objects.create(workspace=workspace, user=owner, role="workspace-admin")
    return workspace, Project.objects.create(name="pos", workspace=workspace, creator=owner)


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_platform_admin_creates_lists_changes_and_deletes_mappings(
    world: tuple[Workspace, Project],
) -> None:
    admin = client_for(User.objects.create_superuser("root", "root@example.test", "x"))
    created = admin.post(
        "/api/v1/group-mappings/",
        {
            "provider": "ldap",
            "group": "retail-devs",
            "workspace": "retail",
            "role": "workspace-regular",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    mapping_id = created.json()["id"]
    listed = admin.get("/api/v1/group-mappings/").json()
    assert [row["group"] for row in listed["results"]] == ["retail-devs"]
    changed = admin.patch(
        f"/api/v1/group-mappings/{mapping_id}/", {"role": "workspace-viewer"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["role"] == "workspace-viewer"
    assert admin.delete(f"/api/v1/group-mappings/{mapping_id}/").status_code == 204
    assert not GroupRoleMapping.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "ldap", "group": "g"},  # no target
        {
            "provider": "ldap",
            "group": "g",
            "workspace": "retail",
            "role": "admin",
        },  # a project role
        {"provider": "oidc", "group": "g", "project": "pos", "role": "workspace-admin"},
        {
            "provider": "ldap",
            "group": "g",
            "platform_role": "platform-admin",
            "workspace": "retail",
            "role": "workspace-admin",
        },
        {"provider": "saml", "group": "g", "platform_role": "platform-admin"},
        {"provider": "ldap", "group": "g" * 300, "platform_role": "platform-admin"},
    ],
)
def test_invalid_mappings_are_refused_with_400(
    world: tuple[Workspace, Project], body: dict[str, str]
) -> None:
    admin = client_for(User.objects.create_superuser("root", "root@example.test", "x"))
    response = admin.post("/api/v1/group-mappings/", body, format="json")
    assert response.status_code == 400, response.json()
    assert not GroupRoleMapping.objects.exists()


def test_nobody_but_platform_admins_sees_or_changes_mappings(
    world: tuple[Workspace, Project],
) -> None:
    GroupRoleMapping.objects.create(provider="ldap", group="admins", platform_role="platform-admin")
    workspace_admin = User.objects.get(username="owner")
    for user in (workspace_admin, User.objects.create_user("plain")):
        client = client_for(user)
        assert client.get("/api/v1/group-mappings/").status_code == 403
        body = {"provider": "ldap", "group": "mine", "platform_role": "platform-admin"}
        assert client.post("/api/v1/group-mappings/", body, format="json").status_code == 403
    assert APIClient().get("/api/v1/group-mappings/").status_code in (401, 403)
    assert GroupRoleMapping.objects.count() == 1


def test_the_mappings_are_in_the_openapi_schema() -> None:
    admin = client_for(User.objects.create_superuser("root", "root@example.test", "x"))
    schema = admin.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/group-mappings/" in schema["paths"]
    assert "/api/v1/group-mappings/{id}/" in schema["paths"]
