"""Form errors from the server: a field's error shows under the field, once, in words; the
banner was repeating it as "name: This field may not be blank." with the raw key."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, make_user, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_field_error_shows_under_its_field_not_again_in_the_banner(
    page: Page, context: BrowserContext, console_server: ConsoleServer
) -> None:
    sign_in_as(context, make_user("alice"), console_server)
    page.goto("/account/tokens/")
    page.get_by_role("button", name="Create Token").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Create").click()  # no name: the server refuses it

    name = dialog.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".field-error").first).not_to_be_empty()
    expect(dialog.locator(".form-error")).to_be_hidden()
    expect(dialog).not_to_contain_text("name:")
    expect(name).to_be_focused()
