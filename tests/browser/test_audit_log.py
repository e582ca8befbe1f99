"""The audit log page in a real Chromium: changes made through the console's API by a signed-in
browser show up for the workspace admin, and hostile text in recorded fields is shown as text -
never run as HTML or script (the page is rendered by Django with autoescaping)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=document.title='pwned'><script>window.pwned=1</script>"


def csrf_token(context: BrowserContext) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")


def test_hostile_names_are_shown_escaped_on_the_audit_page(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path)  # sets the CSRF cookie, as for every page that uses the API
    changed = page.request.patch(
        f"{console_server.url}/api/v1/workspaces/acme/projects/shop/",
        data={"alias": "Shop", "description": HOSTILE},
        headers={"X-CSRFToken": csrf_token(context), "Referer": console_server.url + "/"},
    )
    assert changed.status == 200, changed.text()

    page.goto("/workspaces/acme/")
    page.get_by_role("link", name="Audit Log").click()
    expect(page).to_have_url(console_server.url + "/workspaces/acme/audit/")
    table = page.get_by_test_id("audit-entries")
    row = table.locator("tbody tr").first
    expect(row).to_contain_text("project.update")
    expect(row).to_contain_text("alice")
    expect(row.locator(".audit-detail")).to_contain_text(HOSTILE)  # the literal text
    assert table.locator("img, script").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert page.title() != "pwned" and dialogs == []

    page.get_by_label("Action").fill("project")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        console_server.url + "/workspaces/acme/audit/?user=&action=project&object=&since=&until="
    )
    expect(table.locator("tbody tr")).to_have_count(1)
    screenshot(page, "audit-log")
