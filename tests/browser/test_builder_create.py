"""The Create Image Builder form's environment cards: the inspection's recommendation is the
checked card even when the upload finishes before the environment list arrives (the race behind
a flaky test on a loaded machine), and the cards are in natural version order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.fixtures.artifacts import build_http_jar
from tests.fixtures.base_images import BaseImage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_recommendation_applies_when_the_environments_arrive_after_the_upload(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    busybox_base: BaseImage,
    tmp_path: Path,
) -> None:
    from builders.models import BuildEnvironment

    # java-17's base must be reachable (a local registry): an unreachable one is, rightly,
    # never preselected, and availability answers at different times under load. The test
    # registry speaks plain HTTP: the project's secret for its address says so, or the check
    # tries HTTPS and finds the base unavailable (it did, whenever it answered before the
    # assertion: the test passed only while the check was still running).
    world.add_registry_secret("http://" + busybox_base.tagged.split("/")[0])
    BuildEnvironment.objects.filter(name="java-17").update(base_image=busybox_base.tagged)
    sign_in_as(context, world.alice, console_server)
    # Hold the environment list until the upload has been inspected: on a loaded machine the
    # upload can win this race, and the cards rendered afterwards used to check the first one.
    held: list[Route] = []
    released = False

    def hold_until_released(route: Route) -> None:
        # A request made after the release (the list asked again for the uploaded artifact)
        # goes through; holding it forever would be the test's own race.
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r"/buildenvironments/"), hold_until_released)
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    page.get_by_test_id("artifact-file").set_input_files(str(build_http_jar(tmp_path, "v1")))
    expect(page.get_by_test_id("inspection-summary")).to_contain_text("recommended: java-17")
    assert held, "the environment list was requested"
    assert page.locator(".env-card").count() == 0
    released = True
    for route in held:
        route.continue_()

    java17 = page.locator(".env-card[data-env=java-17]")
    # Settled: the check has answered (not merely "checking"), and the card stays chosen.
    expect(java17).to_have_attribute("data-availability", "available", timeout=30_000)
    expect(java17.locator("input")).to_be_checked()
    expect(java17.locator(".badge")).to_be_visible()
    assert page.locator(".env-card input:checked").count() == 1
    # Versions in numeric order: 8 before 11 (string order put it last, after 25).
    names = page.locator(".env-card").evaluate_all("cards => cards.map(c => c.dataset.env)")
    java = [name for name in names if name.startswith("java-")]
    assert java == ["java-8", "java-11", "java-17", "java-21", "java-25"]
