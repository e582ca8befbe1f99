"""`manage.py bootstrap_demo` creates the demo admin, workspace, project and registry secret."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from projects import access
from projects.models import Project, RegistrySecret, Workspace


def run_bootstrap(registry: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", "--registry", registry, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_bootstrap_creates_demo_tenancy_and_default_local_secret() -> None:
    output = run_bootstrap("http://127.0.0.1:5999")
    assert "password:" in output
    project = Project.objects.get(name="demo")
    assert project.workspace == Workspace.objects.get(name="demo")
    secret = RegistrySecret.objects.get(project=project, name="local")
    assert (secret.address, secret.is_default, secret.registry_host) == (
        "http://127.0.0.1:5999",
        True,
        "127.0.0.1:5999",
    )
    admin = project.workspace.memberships.get().user
    assert access.can(admin, project, "manage")


@pytest.mark.django_db
def test_bootstrap_is_idempotent_and_follows_the_registry_address() -> None:
    run_bootstrap("http://127.0.0.1:5999")
    output = run_bootstrap("http://127.0.0.1:6000")
    assert "password:" not in output
    assert Project.objects.count() == 1
    secret = RegistrySecret.objects.get(name="local")
    assert secret.address == "http://127.0.0.1:6000"
