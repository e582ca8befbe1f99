"""Every role x every action on every resource kind through the API: allowed, 403 or 404.

One table drives it: each row names an action, who can see the object (else 404) and who may do
it (else 403). Adding a resource kind means adding its rows here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.projects.conftest import PERSONAS, World, build_world

ALL = frozenset(PERSONAS)
# Who sees workspace acme: its members and members of any of its projects.
WS_VIEW = frozenset({"root", "alice", "sam", "walt", "vera", "bob", "oscar", "charlie"})
WS_MANAGE = frozenset({"root", "alice"})
WS_CREATE_PROJECT = frozenset({"root", "alice", "sam"})
# Who sees project shop: workspace admins/viewers and the project's members.
P_VIEW = frozenset({"root", "alice", "vera", "bob", "oscar", "charlie"})
P_OPERATE = frozenset({"root", "alice", "bob", "oscar"})
P_MANAGE = frozenset({"root", "alice", "bob"})
PLATFORM_CREATE_WS = frozenset({"root", "paula"})
ONLY_ROOT = frozenset({"root"})
NOBODY: frozenset[str] = frozenset()

ACME = "/api/v1/workspaces/acme/"
SHOP = ACME + "projects/shop/"


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    path: str
    visible: frozenset[str]
    allowed: frozenset[str]
    ok_status: int = 200
    body: dict[str, Any] = field(default_factory=dict)


# fmt: off
ACTIONS = [
    # platform
    Action("workspace.create", "post", "/api/v1/workspaces/", ALL, PLATFORM_CREATE_WS, 201,
           {"name": "newco"}),
    # workspace
    Action("workspace.get", "get", ACME, WS_VIEW, WS_VIEW),
    Action("workspace.update", "patch", ACME, WS_VIEW, WS_MANAGE, body={"alias": "ACME"}),
    # acme still has projects: permission passes, then the not-empty rule answers 409.
    Action("workspace.delete", "delete", ACME + "?confirm=acme", WS_VIEW, WS_MANAGE, 409),
    Action("workspace.members.list", "get", ACME + "members/", WS_VIEW, WS_VIEW),
    Action("workspace.members.add", "post", ACME + "members/", WS_VIEW, WS_MANAGE, 201,
           {"username": "rita", "role": "workspace-regular"}),
    Action("workspace.members.change", "patch", ACME + "members/walt/", WS_VIEW, WS_MANAGE,
           body={"role": "workspace-viewer"}),
    Action("workspace.members.remove", "delete", ACME + "members/walt/", WS_VIEW, WS_MANAGE, 204),
    # project
    Action("project.list", "get", ACME + "projects/", WS_VIEW, WS_VIEW),
    Action("project.create", "post", ACME + "projects/", WS_VIEW, WS_CREATE_PROJECT, 201,
           {"name": "newshop"}),
    Action("project.get", "get", SHOP, P_VIEW, P_VIEW),
    Action("project.update", "patch", SHOP, P_VIEW, P_MANAGE, body={"description": "x"}),
    Action("project.delete", "delete", SHOP + "?confirm=shop", P_VIEW, P_MANAGE, 204),
    Action("project.other-workspace.get", "get", "/api/v1/workspaces/globex/projects/lab/",
           ONLY_ROOT, ONLY_ROOT),
    # A project addressed through the wrong workspace does not exist, even for the admin.
    Action("project.wrong-workspace.get", "get", ACME + "projects/lab/", NOBODY, NOBODY),
    # project members
    Action("project.members.list", "get", SHOP + "members/", P_VIEW, P_VIEW),
    Action("project.members.add", "post", SHOP + "members/", P_VIEW, P_MANAGE, 201,
           {"username": "walt", "role": "viewer"}),
    Action("project.members.change", "patch", SHOP + "members/charlie/", P_VIEW, P_MANAGE,
           body={"role": "operator"}),
    Action("project.members.remove", "delete", SHOP + "members/charlie/", P_VIEW, P_MANAGE, 204),
    # registry secrets
    Action("secret.list", "get", SHOP + "registrysecrets/", P_VIEW, P_VIEW),
    Action("secret.create", "post", SHOP + "registrysecrets/", P_VIEW, P_OPERATE, 201,
           {"name": "quay", "address": "https://quay.example.com", "username": "u",
            "password": "p"}),
    Action("secret.get", "get", SHOP + "registrysecrets/hub/", P_VIEW, P_VIEW),
    Action("secret.update", "patch", SHOP + "registrysecrets/hub/", P_VIEW, P_OPERATE,
           body={"email": "ci2@example.test"}),
    Action("secret.delete", "delete", SHOP + "registrysecrets/hub/", P_VIEW, P_OPERATE, 204),
    Action("secret.validate", "post", SHOP + "registrysecrets/hub/validate/", P_VIEW, P_OPERATE,
           body={"repository": "shop/app"}),
    Action("secret.probe-unsaved", "post", SHOP + "registryprobe/", P_VIEW, P_OPERATE,
           body={"address": "http://127.0.0.1:9", "repository": "shop/app"}),
]
# fmt: on


def expected_status(action: Action, persona: str) -> int:
    if persona == "anonymous":
        return 401
    if persona in action.allowed:
        return action.ok_status
    if persona in action.visible:
        return 403
    return 404


CASES = [
    pytest.param(action, persona, id=f"{action.name}-{persona}")
    for action in ACTIONS
    for persona in [*PERSONAS, "anonymous"]
]


@pytest.fixture
def world_with_registry(db: Any, registry: Any) -> World:
    return build_world(registry.url)


@pytest.mark.parametrize(("action", "persona"), CASES)
def test_permission_matrix(world_with_registry: World, action: Action, persona: str) -> None:
    api = world_with_registry.client(persona)
    response = getattr(api, action.method)(action.path, action.body, format="json")
    assert response.status_code == expected_status(action, persona), response.content
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] and body["message"]


def test_matrix_covers_every_api_route() -> None:
    from projects.api.urls import urlpatterns

    routes = {str(pattern.pattern) for pattern in urlpatterns}
    personal = {"me/", "tokens/", "tokens/<int:token_id>/"}  # per-user, tested in test_tokens
    covered = {
        "workspaces/",
        "workspaces/<str:workspace>/",
        "workspaces/<str:workspace>/members/",
        "workspaces/<str:workspace>/members/<str:username>/",
        "workspaces/<str:workspace>/projects/",
        "workspaces/<str:workspace>/projects/<str:project>/",
        "workspaces/<str:workspace>/projects/<str:project>/members/",
        "workspaces/<str:workspace>/projects/<str:project>/members/<str:username>/",
        "workspaces/<str:workspace>/projects/<str:project>/registrysecrets/",
        "workspaces/<str:workspace>/projects/<str:project>/registryprobe/",
        "workspaces/<str:workspace>/projects/<str:project>/registrysecrets/<str:name>/",
        "workspaces/<str:workspace>/projects/<str:project>/registrysecrets/<str:name>/validate/",
    }
    assert routes == covered | personal
