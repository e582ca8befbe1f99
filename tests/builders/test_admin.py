"""Admin: platform admins list builders' models and add build environments (spec checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from builders import services
from builders.models import BuildEnvironment
from tests.builders.conftest import World, make_artifact, make_builder


@pytest.fixture
def admin_client(world: World) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", None))
    return client


@pytest.mark.parametrize("model", ["buildenvironment", "artifact", "imagebuilder", "buildrun"])
def test_changelists_render(
    admin_client: Client,
    world: World,
    media_root: Path,
    busybox: Path,
    model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    services.do_start_run(make_builder(world, make_artifact(world.project, busybox)))
    response = admin_client.get(f"/admin/builders/{model}/")
    assert response.status_code == 200


def environment_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "company-jre",
        "title": "Company JRE",
        "base_image": "registry.example.com/base/jre:17",
        "artifact_kinds": json.dumps(["jar"]),
        "spec": json.dumps({"placement": "/srv/app.jar", "port": 8080}),
        "enabled": "on",
        **overrides,
    }


def test_admin_adds_a_custom_environment_and_a_broken_spec_is_refused(
    admin_client: Client,
) -> None:
    broken = admin_client.post(
        "/admin/builders/buildenvironment/add/", environment_form(spec='{"colour": "red"}')
    )
    assert broken.status_code == 200
    assert "The engine cannot use this spec" in broken.content.decode()
    assert not BuildEnvironment.objects.filter(name="company-jre").exists()
    added = admin_client.post("/admin/builders/buildenvironment/add/", environment_form())
    assert added.status_code == 302
    assert BuildEnvironment.objects.get(name="company-jre").port == 8080
