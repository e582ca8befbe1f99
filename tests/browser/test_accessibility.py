"""Keyboard and screen-reader basics on the main pages: every form control has a label (or an
accessible name), and the keyboard focus is always visible."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import ConsoleServer, World, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNLABELLED = """() => [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button, a[href]")]
  .filter((el) => !(el.labels?.length || el.getAttribute("aria-label")
    || el.getAttribute("aria-labelledby") || el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""

FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px"};
}"""


def assert_labelled_and_focus_visible(page: Page, where: str) -> None:
    assert page.evaluate(UNLABELLED) == [], where
    for _ in range(6):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_VISIBLE)
        if focus["tag"] != "BODY":
            assert focus["outline"], f"{where}: focus on {focus['tag']} is invisible"


def test_main_pages_have_labelled_controls_and_visible_focus(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    sign_in_as(context, world.alice, console_server)
    for path in ("", "imagebuilders/", "secrets/", "services/", "members/"):
        page.goto(world.project_path + path)
        page.wait_for_load_state("networkidle")
        assert_labelled_and_focus_visible(page, path or "overview")

    page.goto(world.project_path + "secrets/")
    page.get_by_role("button", name="Create").click()
    assert page.evaluate(UNLABELLED) == [], "secret dialog"

    # The whole wizard, every step's controls (hidden steps included) and the build settings.
    page.goto(world.project_path + "services/create/jar/")
    page.wait_for_load_state("networkidle")
    assert_labelled_and_focus_visible(page, "wizard")
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").press("Enter")  # keyboard only
    page.wait_for_load_state("networkidle")
    assert_labelled_and_focus_visible(page, "image builder create")
