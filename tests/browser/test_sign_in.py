"""Signing in and out through the real login form, in Chromium against the ASGI server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from projects.models import Workspace, WorkspaceMembership, WorkspaceRole
from tests.browser.conftest import ConsoleServer, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_signs_in_sees_their_workspace_and_signs_out(
    page: Page, console_server: ConsoleServer
) -> None:
    alice = make_user("alice")
    ws = Workspace.objects.create(name="team-a", alias="Team A")
    WorkspaceMembership.objects.create(workspace=ws, user=alice, role=WorkspaceRole.VIEWER)
    Workspace.objects.create(name="hidden-ws")

    page.goto("/workspaces/")
    expect(page).to_have_url(f"{console_server.url}/login/?next=/workspaces/")
    screenshot(page, "01-sign-in")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pw")
    page.get_by_role("button", name="Sign in").click()
    table = page.get_by_test_id("workspaces")
    expect(table.get_by_role("link", name="team-a")).to_be_visible()
    expect(table).not_to_contain_text("hidden-ws")
    screenshot(page, "02-workspaces", docs=True)

    page.get_by_role("button", name="alice").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to B2I Console")).to_be_visible()
