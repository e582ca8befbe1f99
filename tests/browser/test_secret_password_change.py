"""A registry secret's wrong password is corrected in place: the new password replaces the old
one (never shown), the secret is checked again at once, and it keeps its identity - the image
builder pushing with it still does. Viewers get no such button."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.fixtures.registry import HTPASSWD_USERS, Registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def builder_on(world: World, secret: object) -> object:
    from builders.models import BuildEnvironment, ImageBuilder

    return ImageBuilder.objects.create(
        project=world.project, name="hello", artifact_kind="binary",
        environment=BuildEnvironment.objects.get(name="binary-debian"), image_name="shop/hello",
        registry_secret=secret,
    )  # fmt: skip


def test_a_wrong_password_is_replaced_and_checked_again(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    htpasswd_registry: Registry,
) -> None:
    from projects.models import RegistrySecret

    secret = RegistrySecret(project=world.project, name="harbor", address=htpasswd_registry.url)
    secret.username, secret.password = "alice", "a-typo"
    secret.save()
    builder = builder_on(world, secret)
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "secrets/")
    row = page.locator("[data-testid=secrets] tr[data-name=harbor]")

    row.get_by_role("button", name="Validate").click()
    page.get_by_test_id("run-validation").click()
    results = page.get_by_test_id("validation-results")
    expect(results.locator("[data-check=login]")).to_have_class("fail")

    row.get_by_role("button", name="Change password").click()
    dialog = page.get_by_role("dialog")
    password = dialog.get_by_label("New password or token")
    expect(password).to_have_value("")  # the stored password never comes back to the page
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_contain_text("Enter the new password or token.")  # blank is not saved
    password.fill(HTPASSWD_USERS["alice"])
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # Checked again at once, without a second click: the login now passes.
    results = page.get_by_test_id("validation-results")
    expect(results.locator("[data-check=login]")).to_have_class("pass", timeout=30_000)
    stored = RegistrySecret.objects.get(pk=secret.pk)  # the same row: same identity
    assert stored.password == HTPASSWD_USERS["alice"]
    builder.refresh_from_db()  # type: ignore[attr-defined]
    assert builder.registry_secret_id == secret.pk  # type: ignore[attr-defined]
    assert HTPASSWD_USERS["alice"] not in page.content()


def test_a_viewer_cannot_change_a_password(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    sign_in_as(context, world.victor, console_server)
    page.goto(world.project_path + "secrets/")
    expect(page.locator("[data-testid=secrets] tr[data-name=local]")).to_be_visible()
    expect(page.get_by_role("button", name="Change password")).to_have_count(0)
