"""Image Builders in the browser: create from a JAR, watch the live log reach success without
reloading, run again with a new artifact, cancel a run — with the real worker and registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Request, Route, expect
from rest_framework.test import APIClient

from builders.models import BuildRun, ImageBuilder
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.artifacts import build_http_jar
from tests.fixtures.celery_worker import CeleryWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BUILD_TIMEOUT = 120_000


def create_builder(page: Page, world: World, jar: Path, name: str) -> None:
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_test_id("artifact-file").set_input_files(str(jar))
    summary = page.get_by_test_id("inspection-summary")
    expect(summary).to_contain_text("Java 17 bytecode")
    expect(summary).to_contain_text("recommended: java-17")
    expect(page.locator(".env-card[data-env=java-17] input")).to_be_checked()
    screenshot(page, "06-imagebuilder-create")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(f"{world.project_path}imagebuilders/{name}/$"))


def test_builder_created_from_a_jar_builds_and_the_live_log_shows_success(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    tmp_path: Path,
) -> None:
    sign_in_as(context, build_world.alice, console_server)
    jar = build_http_jar(tmp_path, "v1")
    create_builder(page, build_world, jar, "hello")

    log = page.get_by_test_id("log-body")
    expect(log).to_contain_text("Build completed successfully", timeout=BUILD_TIMEOUT)
    run_row = page.locator("[data-testid=runs] tr[data-run='1']")
    expect(run_row).to_have_attribute("data-state", "successful")
    expect(page.get_by_test_id("image-artifacts")).to_contain_text("sha256:")
    # Full image references and pull commands wrap inside their card: the page never scrolls
    # sideways (it did, by ~500 px, at 1280 px wide).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_test_id("runs").scroll_into_view_if_needed()
    screenshot(page, "07-imagebuilder-detail", docs=True)
    run = BuildRun.objects.get(builder__name="hello", number=1)
    assert run.state == "successful" and run.digest.startswith("sha256:")
    assert run.digest[:19] in run_row.inner_text()
    check_artifact_download(page, jar)

    # Run again with a new artifact and a new tag, from the Run dialog; the new log goes live.
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("artifact-file").set_input_files(str(build_http_jar(tmp_path, "v2")))
    expect(dialog.get_by_test_id("inspection-summary")).to_contain_text("Java 17")
    dialog.get_by_label("Tag").fill("v2")
    # The new tag is the builder's from now on, and the dialog says so before Run.
    expect(dialog.get_by_test_id("tag-change-note")).to_contain_text("from latest to v2")
    dialog.get_by_role("button", name="Run").click()
    second = page.locator("[data-testid=runs] tr[data-run='2']")
    expect(second).to_have_attribute("data-state", "successful", timeout=BUILD_TIMEOUT)
    second_log = page.locator("tr[data-log-for='2']")
    expect(second_log).to_contain_text("Build completed successfully")
    rerun = BuildRun.objects.get(builder__name="hello", number=2)
    assert rerun.tag == "v2" and rerun.artifact_id != run.artifact_id
    assert ImageBuilder.objects.get(name="hello").tag == "v2"

    check_log_tools(page, second_log)
    check_list_filters_and_delete(page, build_world)


def check_artifact_download(page: Page, jar: Path) -> None:
    """The artifact attribute links the stored file, served under its original name."""
    href = page.get_by_test_id("artifact-download").get_attribute("href")
    assert href
    response = page.request.get(href)
    assert response.ok
    assert response.body() == jar.read_bytes()
    assert jar.name in response.headers["content-disposition"]


def check_log_tools(page: Page, log_row: Locator) -> None:
    """Search highlights, scrolling up pauses following, the download is the full log."""
    log_row.get_by_label("Search log").fill("push")
    expect(log_row.locator(".log-line.match").first).to_be_visible()
    expect(log_row.get_by_role("button", name="Paused")).to_be_visible()  # a jump pauses
    log_row.get_by_role("button", name="Paused").click()
    expect(log_row.get_by_role("button", name="Follow")).to_be_visible()
    href = log_row.get_by_role("link", name="Download").get_attribute("href")
    assert href
    text = page.request.get(href).text()
    assert text.rstrip().endswith("Build completed successfully")


def check_list_filters_and_delete(page: Page, world: World) -> None:
    page.goto(world.project_path + "imagebuilders/")
    table = page.get_by_test_id("builders")
    row = table.locator("tr[data-name=hello]")
    expect(row.locator(".chip")).to_have_text("Successful")
    expect(row).to_contain_text("#2 · v2 · ")  # last run: number, tag, time
    assert re.search(r"\b\d+(m \d+)?s\b", row.inner_text()), "the Duration column is filled"
    page.get_by_label("Status").select_option("failed")
    expect(table).to_contain_text("No image builder yet.")
    page.get_by_label("Status").select_option("successful")
    expect(row).to_be_visible()
    page.get_by_label("Search").fill("nothing-like-this")
    expect(row).to_have_count(0)
    page.get_by_label("Search").fill("hel")
    row.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Alias").fill("Hello App")
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Hello App")
    assert ImageBuilder.objects.get(name="hello").alias == "Hello App"
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile("Type the name")).fill("hello")
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert not ImageBuilder.objects.filter(name="hello").exists()


def test_an_active_run_is_cancelled_from_the_detail_page(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    # A local build takes about a second, too quick to click Cancel while it runs; with the
    # worker stopped the run stays Pending (active), which is the same Cancel path in the page.
    celery_worker.stop()
    try:
        sign_in_as(context, build_world.alice, console_server)
        create_builder(page, build_world, build_http_jar(tmp_path, "cancel-me"), "to-cancel")
        row = page.locator("[data-testid=runs] tr[data-run='1']")
        expect(row).to_have_attribute("data-state", "pending")
        cancel = page.locator("#cancel-run")
        expect(cancel).to_be_visible()
        cancel.click()
        expect(row).to_have_attribute("data-state", "cancelled", timeout=30_000)
        expect(cancel).to_be_hidden()
        assert BuildRun.objects.get(builder__name="to-cancel", number=1).state == "cancelled"

        # Run #2 from the dialog; the list's status chip follows it without a reload.
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("dialog").get_by_role("button", name="Run").click()
        expect(page.locator("[data-testid=runs] tr[data-run='2']")).to_have_attribute(
            "data-state", "pending"
        )
        page.goto(build_world.project_path + "imagebuilders/")
        chip = page.locator("[data-testid=builders] tr[data-name=to-cancel] .chip")
        expect(chip).to_have_text("Building")
        api = APIClient()
        api.force_authenticate(build_world.alice)
        url = "/api/v1/workspaces/acme/projects/shop/imagebuilders/to-cancel/runs/2/cancel/"
        assert api.post(url).status_code == 202
        expect(chip).to_have_text("Cancelled", timeout=10_000)
    finally:
        celery_worker.start()


def test_run_pressed_while_the_new_artifact_uploads_starts_once_the_upload_ends(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    # The run only has to be created (it stays Pending with the worker stopped).
    celery_worker.stop()
    try:
        sign_in_as(context, build_world.alice, console_server)
        create_builder(page, build_world, build_http_jar(tmp_path, "v1"), "held")
        held: list[Route] = []
        hold = {"uploads": False}

        def artifacts(route: Route, request: Request) -> None:
            if hold["uploads"] and request.method == "POST":
                held.append(route)
            else:
                route.continue_()

        page.route("**/artifacts/", artifacts)
        page.get_by_role("button", name="Run", exact=True).click()
        dialog = page.get_by_role("dialog")
        # The builder's environment is fixed here: the dialog names it and recommends no other.
        expect(dialog).to_contain_text("Build environment: java-17")
        v2 = build_http_jar(tmp_path, "v2", name="v2.jar")
        dialog.get_by_test_id("artifact-file").set_input_files(str(v2))
        expect(dialog.get_by_test_id("inspection-summary")).to_contain_text("Java 17 bytecode")
        expect(dialog.get_by_test_id("inspection-summary")).not_to_contain_text("recommended")

        hold["uploads"] = True
        v3 = build_http_jar(tmp_path, "v3", name="v3.jar")
        dialog.get_by_test_id("artifact-file").set_input_files(str(v3))
        dialog.get_by_role("button", name="Run").click()
        expect(dialog.get_by_role("status").filter(has_text="upload")).to_have_text(
            "The run starts when the upload has finished."
        )
        for _ in range(200):  # the held request reaches the handler as events are dispatched
            if held:
                break
            page.wait_for_timeout(50)
        assert len(held) == 1
        assert BuildRun.objects.filter(builder__name="held").count() == 1
        held[0].continue_()
        expect(page.locator("[data-testid=runs] tr[data-run='2']")).to_be_visible()
        expect(dialog).to_be_hidden()
        second = BuildRun.objects.get(builder__name="held", number=2).artifact
        assert second is not None and second.file_name == "v3.jar"
    finally:
        celery_worker.start()
