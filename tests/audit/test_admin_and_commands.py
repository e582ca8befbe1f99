"""The admin and the management commands record each change once, in its transaction."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client

from audit.admin import AuditedModelAdmin, AuditEntryAdmin
from audit.models import AuditEntry
from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from projects.models import Project, Workspace
from tests.audit.conftest import World, entries_after, last_entry_pk

pytestmark = pytest.mark.django_db(transaction=True)

CREATED_AT = {"created_at_0": "2026-12-01", "created_at_1": "10:00:00"}


def admin_client(world: World) -> Client:
    client = Client(REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="admin-browser")
    client.force_login(world.users["root"])
    return client


def test_every_model_admin_is_audited() -> None:
    plain = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if not isinstance(model_admin, AuditedModelAdmin | AuditEntryAdmin)
    ]
    assert plain == []


def test_an_admin_registered_later_is_audited_too() -> None:
    from django.contrib.auth.models import Group

    before = admin.site._registry[Group]
    admin.site.unregister(Group)
    try:
        admin.site.register(Group, admin.ModelAdmin)  # as an app after audit would
        assert isinstance(admin.site._registry[Group], AuditedModelAdmin)
    finally:
        admin.site.unregister(Group)
        admin.site._registry[Group] = before


def test_admin_add_change_and_delete_are_each_recorded_once(world: World) -> None:
    client = admin_client(world)
    before = last_entry_pk()
    added = client.post(
        "/admin/projects/workspace/add/",
        {
            "name": "gamma",
            "alias": "",
            "description": "",
            **CREATED_AT,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert added.status_code == 302, added.content[:3000]
    gamma = Workspace.objects.get(name="gamma")
    changed = client.post(
        f"/admin/projects/workspace/{gamma.pk}/change/",
        {
            "name": "gamma",
            "alias": "Gamma",
            "description": "",
            **CREATED_AT,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert changed.status_code == 302, changed.content[:3000]
    deleted = client.post(f"/admin/projects/workspace/{gamma.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Workspace.objects.filter(name="gamma").exists()
    entries = entries_after(before)
    assert [(e.action, e.object_repr, e.channel) for e in entries] == [
        ("workspace.create", "gamma", "admin"),
        ("workspace.update", "gamma", "admin"),
        ("workspace.delete", "gamma", "admin"),
    ]
    assert "Alias" in entries[1].detail["fields"]
    assert {(e.actor_name, e.source_ip, e.user_agent) for e in entries} == {
        ("root", "198.51.100.4", "admin-browser")
    }
    assert entries[2].workspace_name == "gamma"


def test_admin_bulk_delete_records_one_entry_per_object(world: World) -> None:
    extra = [Project.objects.create(workspace=world.acme, name=f"p{n}") for n in range(3)]
    before = last_entry_pk()
    response = admin_client(world).post(
        "/admin/projects/project/",
        {"action": "delete_selected", "_selected_action": [p.pk for p in extra], "post": "yes"},
    )
    assert response.status_code == 302
    entries = entries_after(before)
    assert sorted((e.action, e.object_repr, e.project_id) for e in entries) == sorted(
        ("project.delete", p.name, p.pk) for p in extra
    )


def test_the_admin_cancel_action_records_each_cancelled_run(world: World) -> None:
    builder = ImageBuilder.objects.create(
        project=world.shop,
        name="hello",
        artifact_kind="binary",
        environment=BuildEnvironment.objects.get(name="binary-debian"),
        image_name="demo/hello",
        registry_secret=world.secret,
    )
    run = BuildRun.objects.create(builder=builder, number=1, tag="latest", state="pending")
    before = last_entry_pk()
    response = admin_client(world).post(
        "/admin/builders/buildrun/", {"action": "cancel_runs", "_selected_action": [run.pk]}
    )
    assert response.status_code == 302
    [entry] = entries_after(before)
    assert (entry.action, entry.project_id, entry.channel) == ("run.cancel", world.shop.pk, "admin")


def test_the_audit_admin_is_read_only_and_for_platform_admins(world: World) -> None:
    world.users["alice"].is_staff = True
    world.users["alice"].save()
    AuditEntry.objects.create(actor_kind="system", channel="task", action="x.y", result="success")
    root = admin_client(world)
    assert root.get("/admin/audit/auditentry/").status_code == 200
    entry = AuditEntry.objects.get()
    assert root.get(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    # An entry of a deleted workspace still shows (its ids are kept, not followed).
    AuditEntry.objects.filter(pk=entry.pk).update(workspace_id=987654, actor_id=987654)
    assert root.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert root.get("/admin/audit/auditentry/add/").status_code == 403
    staff = Client()
    staff.force_login(world.users["alice"])
    assert staff.get("/admin/audit/auditentry/").status_code == 403


def test_a_management_command_is_recorded_once_with_its_allowed_options(world: World) -> None:
    before = last_entry_pk()
    call_command("set_platform_role", "pete", "platform-admin")
    [entry] = entries_after(before)
    assert (entry.action, entry.actor_kind, entry.channel, entry.result) == (
        "command.set_platform_role",
        "command",
        "command",
        "success",
    )
    assert entry.detail == {"username": "pete", "role": "platform-admin"}


def test_a_failed_command_changes_nothing_and_is_recorded_as_failed(world: World) -> None:
    before = last_entry_pk()
    with pytest.raises(CommandError):
        call_command("set_platform_role", "nobody", "platform-admin")
    [entry] = entries_after(before)
    assert (entry.action, entry.result, entry.error_code) == (
        "command.set_platform_role",
        "failed",
        "CommandError",
    )
