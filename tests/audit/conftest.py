"""A world for the audit tests: workspaces acme (admin alice) and globex (admin gina), project
shop in acme with a registry secret on a closed port, a platform admin root, users to invite."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from audit.models import AuditEntry
from projects.models import Project, RegistrySecret, Workspace, WorkspaceMembership
from tests.fixtures.processes import free_port


@dataclass
class World:
    acme: Workspace
    shop: Project
    globex: Workspace
    lab: Project
    secret: RegistrySecret
    users: dict[str, User] = field(default_factory=dict)

    def client(self, persona: str) -> APIClient:
        api = APIClient(REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="audit-test/1.0")
        api.force_authenticate(self.users[persona])
        return api


def make_world() -> World:
    users = {name: User.objects.create_user(name, password=f"{name}-pw") for name in PEOPLE}
    users["root"].is_superuser = users["root"].is_staff = True
    users["root"].save()
    acme = Workspace.objects.create(name="acme", creator=users["alice"])
    globex = Workspace.objects.create(name="globex", creator=users["gina"])
    WorkspaceMembership.objects.create(workspace=acme, user=users["alice"], role="workspace-admin")
    WorkspaceMembership.objects.create(workspace=globex, user=users["gina"], role="workspace-admin")
    WorkspaceMembership.objects.create(workspace=acme, user=users["walt"], role="workspace-regular")
    shop = Project.objects.create(workspace=acme, name="shop")
    lab = Project.objects.create(workspace=globex, name="lab")
    secret = RegistrySecret(
        project=shop, name="local", address=f"http://127.0.0.1:{free_port()}", is_default=True
    )
    secret.password = ""
    secret.save()
    return World(acme, shop, globex, lab, secret, users)


PEOPLE = ("root", "alice", "gina", "walt", "pete")


@pytest.fixture
def world(db: None) -> World:
    return make_world()


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def busybox(tmp_path: Path) -> Path:
    """A real static Linux binary (busybox-static): an artifact of kind binary."""
    target = tmp_path / "busybox"
    shutil.copyfile("/bin/busybox", target)
    return target


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entries_after(last_pk: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(pk__gt=last_pk).order_by("pk"))


def last_entry_pk() -> int:
    last = AuditEntry.objects.order_by("-pk").first()
    return last.pk if last is not None else 0
