"""A small tenancy world with one persona per role, shared by the tenancy tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from rest_framework.test import APIClient

from projects.models import (
    Project,
    ProjectMembership,
    RegistrySecret,
    Workspace,
    WorkspaceMembership,
)

# persona -> (platform role, workspace role in "acme", project role in "shop")
PERSONAS: dict[str, tuple[str, str | None, str | None]] = {
    "root": ("platform-admin", None, None),
    "paula": ("platform-self-provisioner", None, None),
    "rita": ("platform-regular", None, None),
    "alice": ("platform-regular", "workspace-admin", None),
    "sam": ("platform-regular", "workspace-self-provisioner", None),
    "walt": ("platform-regular", "workspace-regular", None),
    "vera": ("platform-regular", "workspace-viewer", None),
    "bob": ("platform-regular", None, "admin"),
    "oscar": ("platform-regular", None, "operator"),
    "charlie": ("platform-regular", None, "viewer"),
}


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    acme: Workspace | None = None
    shop: Project | None = None
    globex: Workspace | None = None
    lab: Project | None = None

    def client(self, persona: str) -> APIClient:
        api = APIClient()
        if persona != "anonymous":
            api.force_authenticate(self.users[persona])
        return api


def make_user(username: str, platform_role: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.test")
    if platform_role == "platform-admin":
        user.is_superuser = user.is_staff = True
        user.save()
    if platform_role == "platform-self-provisioner":
        user.user_permissions.add(Permission.objects.get(codename="create_workspaces"))
    return user


def build_world(registry_address: str = "http://127.0.0.1:9") -> World:
    world = World()
    for name, (platform_role, _ws_role, _p_role) in PERSONAS.items():
        world.users[name] = make_user(name, platform_role)
    world.acme = Workspace.objects.create(name="acme", creator=world.users["alice"])
    world.shop = Project.objects.create(workspace=world.acme, name="shop")
    Project.objects.create(workspace=world.acme, name="back-office")
    world.globex = Workspace.objects.create(name="globex")
    world.lab = Project.objects.create(workspace=world.globex, name="lab")
    for name, (_platform_role, ws_role, p_role) in PERSONAS.items():
        if ws_role:
            WorkspaceMembership.objects.create(
                workspace=world.acme, user=world.users[name], role=ws_role
            )
        if p_role:
            ProjectMembership.objects.create(
                project=world.shop, user=world.users[name], role=p_role
            )
    secret = RegistrySecret(
        project=world.shop, name="hub", address=registry_address, username="ci", is_default=True
    )
    secret.password = "s3cret-hub-password"
    secret.save()
    return world


@pytest.fixture(autouse=True)
def clear_rate_limits() -> None:
    # DRF throttles count in the cache, which outlives a test; each test starts with none.
    cache.clear()


@pytest.fixture
def world(db: Any) -> World:
    return build_world()
