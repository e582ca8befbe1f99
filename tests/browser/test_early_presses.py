"""A button pressed as soon as the page arrives works: the builder page's Run waits for the
builder it runs, and buttons stay disabled until their page's module has wired them (on a busy
CI machine Run was pressed before the builder had loaded, and nothing opened)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.browser.stored_builders import stored_jar_builder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class HeldRequests:
    """GET requests matching `pattern` wait here until released."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.routes: list[Route] = []
        self.holding = True
        page.route(pattern, self._arrive)

    def _arrive(self, route: Route, request: Request) -> None:
        if self.holding and request.method == "GET":
            self.routes.append(route)
        else:
            route.continue_()

    def wait_for_one(self, page: Page) -> None:
        for _ in range(400):  # the route handler runs as Playwright dispatches events
            if self.routes:
                return
            page.wait_for_timeout(50)
        raise AssertionError("the held request never came")

    def release(self) -> None:
        self.holding = False
        for route in self.routes:
            route.continue_()
        self.routes.clear()


def test_run_pressed_before_the_builder_has_loaded_opens_the_dialog_once_it_has(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    stored_jar_builder(world, tmp_path, next_run_number=1)
    sign_in_as(context, world.alice, console_server)
    builder_api = HeldRequests(page, "**/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/")

    page.goto(world.project_path + "imagebuilders/hello/", wait_until="commit")
    builder_api.wait_for_one(page)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_timeout(200)  # a dialog that was going to open at once would be open by now
    expect(page.get_by_role("dialog")).to_have_count(0)

    builder_api.release()
    expect(page.get_by_role("dialog")).to_contain_text("Build environment: java-17")


def test_buttons_stay_disabled_until_the_page_module_has_wired_them(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    stored_jar_builder(world, tmp_path, next_run_number=1)
    sign_in_as(context, world.alice, console_server)
    module = HeldRequests(page, "**/js/pages/imagebuilder-detail*.js")

    page.goto(world.project_path + "imagebuilders/hello/", wait_until="commit")
    module.wait_for_one(page)
    run, delete = (page.get_by_role("button", name=n, exact=True) for n in ("Run", "Delete"))
    expect(run).to_be_disabled()
    expect(delete).to_be_disabled()
    expect(page.get_by_role("button", name="alice ▾")).to_be_disabled()

    module.release()
    expect(run).to_be_enabled()
    expect(delete).to_be_enabled()
    expect(page.get_by_role("button", name="alice ▾")).to_be_enabled()
    run.click()
    expect(page.get_by_role("dialog")).to_contain_text("Build environment: java-17")
