"""Workspaces, projects, members and API tokens through their pages: create dialogs, invite,
change role, remove (typing the name), a token shown once and revoked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from projects.models import ApiToken, Project, ProjectMembership, Workspace, WorkspaceMembership
from tests.browser.conftest import ConsoleServer, make_user, screenshot, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_workspace_and_project_and_manages_members(
    page: Page, context: BrowserContext, console_server: ConsoleServer
) -> None:
    root = make_user("root", superuser=True)
    make_user("bob")
    sign_in_as(context, root, console_server)

    page.goto("/workspaces/")
    page.get_by_role("button", name="Create Workspace").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("Not_Valid")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_role("alert").or_(dialog.locator(".field-error"))).not_to_have_count(0)
    expect(dialog).to_be_visible()  # the server refused; the dialog keeps the input
    dialog.get_by_label("Name", exact=True).fill("team")
    dialog.get_by_label("Alias").fill("The Team")
    dialog.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile("/workspaces/team/$"))
    assert Workspace.objects.filter(name="team", alias="The Team").exists()

    page.get_by_role("button", name="Create Project").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("web")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile("/workspaces/team/projects/web/$"))
    assert Project.objects.get(name="web").workspace.name == "team"
    # The switcher now offers the new project.
    expect(page.locator("#switch-project option[value=web]")).to_have_count(1)

    page.goto("/workspaces/team/members/")
    page.get_by_role("button", name="Invite Member").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill("bob")
    dialog.get_by_label("Role").select_option("workspace-viewer")
    dialog.get_by_role("button", name="Invite").click()
    row = page.locator("[data-testid=members] tr[data-name=bob]")
    expect(row).to_be_visible()
    row.get_by_label("Role: bob").select_option("workspace-regular")
    expect(page.locator(".toast", has_text="Role changed")).to_be_visible()
    assert WorkspaceMembership.objects.get(user__username="bob").role == "workspace-regular"
    screenshot(page, "16-workspace-members")
    row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile("Type the name")).fill("bo")
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog.locator(".field-error")).to_contain_text("does not match")
    dialog.get_by_label(re.compile("Type the name")).fill("bob")
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert not WorkspaceMembership.objects.filter(user__username="bob").exists()

    page.goto("/workspaces/team/projects/web/members/")
    page.get_by_role("button", name="Invite Member").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill("bob")
    dialog.get_by_label("Role").select_option("operator")
    dialog.get_by_role("button", name="Invite").click()
    expect(page.locator("[data-testid=members] tr[data-name=bob]")).to_be_visible()
    assert ProjectMembership.objects.get(user__username="bob", project__name="web").role == (
        "operator"
    )


def test_api_token_is_shown_once_listed_and_revoked(
    page: Page, context: BrowserContext, console_server: ConsoleServer
) -> None:
    sign_in_as(context, make_user("alice"), console_server)
    page.goto("/workspaces/")
    page.get_by_role("button", name="alice").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_test_id("token-header")).to_have_text("Authorization: Token <token>")
    page.get_by_role("button", name="Create Token").click()
    page.get_by_role("dialog").get_by_label("Name").fill("ci")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    token = page.get_by_test_id("new-token").inner_text()
    assert len(token) > 20
    # Nothing to cancel once the token exists: the dialog's one footer button closes it.
    footer = page.get_by_role("dialog").locator("footer button")
    expect(footer).to_have_count(1)
    expect(footer).to_have_text("Close")
    footer.click()
    row = page.locator("[data-testid=tokens] tbody tr").first
    expect(row).to_contain_text("ci")
    expect(row).to_contain_text("Read-only")  # the form's defaults: read-only, 90 days
    created = ApiToken.objects.get(name="ci")
    assert created.scope == "read" and created.expires_at is not None
    assert 89 <= (created.expires_at - created.created_at).days <= 90
    assert token not in page.content()  # shown once, never listed
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("tokens")).to_contain_text("No API token yet.")
    assert not ApiToken.objects.filter(name="ci").exists()
