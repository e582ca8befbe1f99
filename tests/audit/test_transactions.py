"""An entry is written in the transaction of its change: a change that rolls back leaves no
success entry (and is recorded as failed), and a change whose entry cannot be written does not
happen at all. Failures and refusals are recorded too, in their own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit import recording
from audit.models import AuditEntry
from projects.api import serializers
from projects.models import Project, Workspace
from tests.audit.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = "/api/v1/workspaces/acme/projects/"


def test_a_change_that_rolls_back_leaves_no_success_entry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_answer(self: Any, instance: Any) -> Any:
        raise RuntimeError("the answer could not be built")

    # The project is created, then answering fails: the request's transaction rolls back.
    monkeypatch.setattr(serializers.ProjectSerializer, "to_representation", broken_answer)
    client = world.client("alice")
    client.raise_request_exception = False
    response = client.post(PROJECTS, {"name": "ghost"}, format="json")
    assert response.status_code == 500
    assert not Project.objects.filter(name="ghost").exists()
    assert not AuditEntry.objects.filter(result="success").exists()
    failed = AuditEntry.objects.get()
    assert (failed.action, failed.result, failed.status_code) == ("project.create", "failed", 500)


def test_a_change_whose_entry_cannot_be_written_does_not_happen(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = recording.record

    def refusing_record(action: str, *args: Any, **kwargs: Any) -> Any:
        if action == "project.create":
            raise RuntimeError("the audit table is unavailable")
        return real_record(action, *args, **kwargs)

    monkeypatch.setattr("audit.api.auditing.record", refusing_record)
    client = world.client("alice")
    client.raise_request_exception = False
    response = client.post(PROJECTS, {"name": "unrecorded"}, format="json")
    assert response.status_code == 500
    assert not Project.objects.filter(name="unrecorded").exists()


def test_a_refusal_is_recorded_as_denied_in_the_workspace(world: World) -> None:
    response = world.client("walt").post(PROJECTS, {"name": "nope"}, format="json")
    assert response.status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.status_code) == ("project.create", "denied", 403)
    assert (entry.actor_name, entry.workspace_id, entry.error_code) == (
        "walt",
        world.acme.pk,
        "access:forbidden",
    )
    assert not Project.objects.filter(name="nope").exists()


def test_an_anonymous_attempt_is_recorded_as_denied(world: World) -> None:
    response = APIClient().delete("/api/v1/workspaces/acme/?confirm=acme")
    assert response.status_code == 401
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.actor_kind) == (
        "workspace.delete",
        "denied",
        "anonymous",
    )
    assert Workspace.objects.filter(name="acme").exists()


def test_a_failure_is_recorded_with_its_code(world: World) -> None:
    response = world.client("alice").post(
        "/api/v1/workspaces/acme/members/", {"username": "walt", "role": "workspace-admin"}
    )
    assert response.status_code == 409
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.error_code) == (
        "member.add",
        "failed",
        "members:already-member",
    )


def test_a_wrong_trigger_token_is_recorded_as_failed_without_the_token(world: World) -> None:
    response = APIClient().post(
        "/api/v1/workspaces/acme/projects/shop/imagebuilders/none/trigger/",
        {},
        HTTP_X_B2I_TRIGGER_TOKEN="GuessedToken0123456789abcd",
    )
    assert response.status_code == 404
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.actor_kind, entry.project_id) == (
        "run.trigger",
        "failed",
        "trigger",
        world.shop.pk,
    )
    assert "GuessedToken" not in str(list(AuditEntry.objects.values()))


def test_a_page_post_refused_by_the_csrf_check_is_recorded(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["alice"])
    response = browser.post("/logout/")
    assert response.status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.result, entry.channel, entry.actor_name) == (
        "request.denied",
        "denied",
        "web",
        "alice",
    )
    assert entry.object_id == "/logout/"


def test_reads_write_no_entries(world: World) -> None:
    alice = world.client("alice")
    assert alice.get(PROJECTS).status_code == 200
    assert alice.get("/api/v1/audit/entries/").status_code == 200
    assert not AuditEntry.objects.exists()


def test_recording_costs_one_insert_per_request(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = world.client("alice").patch(
            "/api/v1/workspaces/acme/projects/shop/", {"alias": "Shop"}, format="json"
        )
    assert response.status_code == 200
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')]
    assert len(inserts) == 1
