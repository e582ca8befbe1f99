"""Platform admins keep the group mappings in the Django admin; other staff do not see them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from identity.models import GroupRoleMapping
from projects.models import Workspace

pytestmark = pytest.mark.django_db


def test_a_platform_admin_adds_a_mapping_in_the_admin() -> None:
    root = User.objects.create_superuser("root", "root@example.test", "x")
    Workspace.objects.create(name="ops", creator=root)
    client = Client()
    client.force_login(root)
    page = client.get("/admin/identity/grouprolemapping/add/")
    assert page.status_code == 200
    response = client.post(
        "/admin/identity/grouprolemapping/add/",
        {
            "provider": "ldap",
            "group": "ops-team",
            "platform_role": "",
            "workspace": Workspace.objects.get().pk,
            "role": "workspace-viewer",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert GroupRoleMapping.objects.get().target_label() == "workspace-viewer of workspace ops"


def test_the_admin_refuses_a_mapping_with_two_targets() -> None:
    root = User.objects.create_superuser("root", "root@example.test", "x")
    workspace = Workspace.objects.create(name="ops", creator=root)
    client = Client()
    client.force_login(root)
    response = client.post(
        "/admin/identity/grouprolemapping/add/",
        {
            "provider": "ldap",
            "group": "ops-team",
            "platform_role": "platform-admin",
            "workspace": workspace.pk,
            "role": "",
        },
    )
    assert response.status_code == 200
    assert "exactly one of" in response.content.decode()
    assert not GroupRoleMapping.objects.exists()


def test_staff_who_are_not_platform_admins_do_not_see_mappings() -> None:
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/identity/grouprolemapping/").status_code == 403
