"""Tenancy boundaries of names: inviting and naming reveal nothing about other tenants.

Project admins invite only members of their workspace (KubeSphere's rule), and an unknown user
name gets the very answer a user outside the workspace gets; a project or workspace name taken
in a tenant the user cannot see is answered like a reserved name; the workspace's creator is
not demoted by another workspace admin.
"""

from __future__ import annotations

from typing import Any

import pytest

from projects.models import ProjectMembership, WorkspaceMembership
from tests.projects.conftest import World, make_user

ACME = "/api/v1/workspaces/acme/"
SHOP = ACME + "projects/shop/"


def invite(world: World, inviter: str, url: str, username: str, role: str) -> Any:
    body = {"username": username, "role": role}
    return world.client(inviter).post(url + "members/", body, format="json")


def answer_without_name(response: Any, name: str) -> dict[str, Any]:
    body = dict(response.json())
    body["message"] = body["message"].replace(repr(name), "<name>")
    return body


def test_project_admin_cannot_invite_a_user_outside_the_workspace(world: World) -> None:
    response = invite(world, "bob", SHOP, "rita", "viewer")  # rita exists, not in acme
    assert response.status_code == 400
    assert response.json()["code"] == "members:unknown-user"
    assert not ProjectMembership.objects.filter(user__username="rita").exists()


def test_unknown_and_outside_user_names_get_the_same_answer(world: World) -> None:
    outside = invite(world, "bob", SHOP, "rita", "viewer")
    unknown = invite(world, "bob", SHOP, "no-such-user", "viewer")
    assert outside.status_code == unknown.status_code == 400
    assert answer_without_name(outside, "rita") == answer_without_name(unknown, "no-such-user")


def test_project_admin_invites_members_of_the_workspace(world: World) -> None:
    response = invite(world, "bob", SHOP, "walt", "viewer")  # walt: workspace-regular of acme
    assert response.status_code == 201, response.content


def test_workspace_admin_may_bring_a_platform_user_in(world: World) -> None:
    assert invite(world, "alice", SHOP, "rita", "viewer").status_code == 201
    assert invite(world, "alice", ACME, "paula", "workspace-regular").status_code == 201


def test_only_workspace_admins_invite_into_the_workspace(world: World) -> None:
    for persona in ("sam", "walt", "bob"):
        response = invite(world, persona, ACME, "rita", "workspace-regular")
        assert response.status_code == 403, persona
    assert not WorkspaceMembership.objects.filter(user__username="rita").exists()


@pytest.fixture
def second_admin(world: World) -> str:
    ada = make_user("ada", "platform-regular")
    world.users["ada"] = ada
    WorkspaceMembership.objects.create(workspace=world.acme, user=ada, role="workspace-admin")
    return "ada"


def test_another_admin_cannot_demote_or_remove_the_creator(world: World, second_admin: str) -> None:
    api = world.client(second_admin)
    demote = api.patch(ACME + "members/alice/", {"role": "workspace-viewer"}, format="json")
    assert demote.status_code == 403
    assert api.delete(ACME + "members/alice/").status_code == 403
    assert WorkspaceMembership.objects.get(user__username="alice").role == "workspace-admin"


@pytest.mark.parametrize("persona", ["alice", "root"])
def test_the_creator_or_a_platform_admin_may_change_the_creators_role(
    world: World, second_admin: str, persona: str
) -> None:
    api = world.client(persona)
    demote = api.patch(ACME + "members/alice/", {"role": "workspace-viewer"}, format="json")
    assert demote.status_code == 200
    assert WorkspaceMembership.objects.get(user__username="alice").role == "workspace-viewer"


def test_a_project_name_of_an_invisible_tenant_is_answered_like_a_reserved_one(
    world: World,
) -> None:
    taken = world.client("alice").post(ACME + "projects/", {"name": "lab"})  # lab: in globex
    reserved = world.client("alice").post(ACME + "projects/", {"name": "kube-system"})
    assert taken.status_code == reserved.status_code == 409
    assert "already exists" not in taken.json()["message"]
    assert "globex" not in taken.json()["message"]
    assert answer_without_name(taken, "lab") == answer_without_name(reserved, "kube-system")


def test_a_visible_clash_says_the_project_exists(world: World) -> None:
    response = world.client("alice").post(ACME + "projects/", {"name": "back-office"})
    assert response.status_code == 409
    assert "already exists" in response.json()["message"]


def test_a_workspace_name_of_another_tenant_is_not_confirmed(world: World) -> None:
    taken = world.client("paula").post("/api/v1/workspaces/", {"name": "globex"})
    reserved = world.client("paula").post("/api/v1/workspaces/", {"name": "system-workspace"})
    assert taken.status_code == reserved.status_code == 409
    assert answer_without_name(taken, "globex") == answer_without_name(reserved, "system-workspace")
