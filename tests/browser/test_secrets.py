"""Registry secrets page: create a secret through the dialog and validate it against real
registries (login and push permission reported separately)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from projects.models import RegistrySecret
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.registry import Registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def create_secret(page: Page, name: str, scheme: str, host: str, user: str, password: str) -> None:
    page.get_by_role("button", name="Create").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Scheme").select_option(scheme)
    dialog.get_by_label("Registry address").fill(host)
    dialog.get_by_label("Username", exact=True).fill(user)
    dialog.get_by_label("Password or token").fill(password)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()


def test_operator_creates_a_secret_and_validate_reports_login_and_push(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    registry: Registry,
    token_registry: Registry,
) -> None:
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "secrets/")

    # A new secret is checked right away: its panel opens with the results, no second click.
    create_secret(page, "local", "http://", registry.host, "", "")
    results = page.get_by_test_id("validation-results")
    results.get_by_text("Checking").wait_for(state="detached")
    expect(results.locator("[data-check=login]")).to_have_class("pass")
    expect(results.locator("[data-check=push]")).to_have_class("pass")
    screenshot(page, "05-secrets-validate", docs=True)

    # A pull-only token user: login succeeds, push is refused, both shown.
    create_secret(page, "readonly", "http://", token_registry.host, "reader", "reader-secret")
    row = page.locator("[data-testid=secrets] tr[data-name=readonly]")
    expect(row).to_be_visible()
    results = page.get_by_test_id("validation-results")
    expect(results.locator("[data-check=login]")).to_have_class("pass")
    expect(results.locator("[data-check=push]")).to_have_class("fail")
    # Validate again on demand from the open panel.
    page.get_by_test_id("run-validation").click()
    results.get_by_text("Checking").wait_for(state="detached")
    expect(results.locator("[data-check=push]")).to_have_class("fail")

    stored = RegistrySecret.objects.get(project=world.project, name="readonly")
    assert stored.address == f"http://{token_registry.host}"
    assert stored.password == "reader-secret"
    assert "reader-secret" not in page.content()  # write-only: never sent back to the page
