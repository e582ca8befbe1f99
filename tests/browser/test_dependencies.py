"""Issue 17, done when: two builds of one builder whose JAR differs by one upgraded library show
exactly that upgrade - in the API and in the browser's Dependencies tab. Real JARs (a Spring
Boot layout with BOOT-INF/lib jars carrying their pom.properties), the real engine in a real
Celery worker, a real registry, Chromium."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from rest_framework.test import APIClient

from builders.models import BuildRun, BuildState
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.artifacts import COMMONS_LANG, build_spring_boot_jar
from tests.fixtures.celery_worker import CeleryWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROJECT = "/api/v1/workspaces/acme/projects/shop/"
RUNS = PROJECT + "imagebuilders/shop-app/runs/"
TEXT = "org.apache.commons/commons-text"
BUILD_TIMEOUT = 180


def library_jar(directory: Path, group: str, artifact: str, version: str) -> Path:
    """A library jar as Maven builds it: its coordinates in META-INF/maven/…/pom.properties."""
    jar = directory / f"{artifact}-{version}.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        pom = f"groupId={group}\nartifactId={artifact}\nversion={version}\n"
        archive.writestr(f"META-INF/maven/{group}/{artifact}/pom.properties", pom)
        archive.writestr(f"org/apache/commons/text/VERSION-{version}.txt", version)
    return jar


def app_jar(tmp_path: Path, text_version: str) -> Path:
    """The application with commons-lang3 (unchanged) and commons-text at TEXT_VERSION."""
    directory = tmp_path / text_version
    directory.mkdir()
    text = library_jar(directory, "org.apache.commons", "commons-text", text_version)
    return build_spring_boot_jar(directory, "shop", name="shop-app.jar", libs=[COMMONS_LANG, text])


def wait_for_run(number: int, worker: CeleryWorker) -> BuildRun:
    deadline = time.monotonic() + BUILD_TIMEOUT
    while time.monotonic() < deadline:
        run = BuildRun.objects.filter(builder__name="shop-app", number=number).first()
        if run is not None and run.state not in ("pending", "running"):
            assert run.state == BuildState.SUCCESSFUL, (run.error_code, run.error_message)
            return run
        time.sleep(0.3)
    raise AssertionError(f"run #{number} did not finish; worker log:\n{worker.log_tail()}")


def build_twice(world: World, tmp_path: Path, worker: CeleryWorker) -> None:
    """Run #1 with commons-text 1.10.0, run #2 with 1.12.0 (same builder, same settings)."""
    api = APIClient()
    api.force_authenticate(world.alice)
    with app_jar(tmp_path, "1.10.0").open("rb") as handle:
        fields = {"name": "shop-app", "artifact_kind": "jar", "environment": "java-17"}
        fields |= {"image_name": "shop/shop-app", "registry_secret": "local", "file": handle}
        created = api.post(PROJECT + "imagebuilders/", fields, format="multipart")
    assert created.status_code == 201, created.json()
    wait_for_run(1, worker)
    with app_jar(tmp_path, "1.12.0").open("rb") as handle:
        again = api.post(
            PROJECT + "imagebuilders/shop-app/run/", {"file": handle}, format="multipart"
        )
    assert again.status_code == 201, again.json()
    wait_for_run(2, worker)


def check_the_api_shows_exactly_the_upgrade(world: World) -> None:
    api = APIClient()
    api.force_authenticate(world.victor)  # a viewer reads it
    changes = api.get(RUNS + "2/changes/").json()
    assert changes["against"] == 1
    assert (changes["added"], changes["removed"]) == ([], [])
    [upgrade] = changes["upgraded"]
    assert upgrade["before"]["purl"] == f"pkg:maven/{TEXT}@1.10.0"
    assert upgrade["after"]["purl"] == f"pkg:maven/{TEXT}@1.12.0"
    assert upgrade["direction"] == "up"
    assert changes["summary"] == "+0 \u22120 \u21911"
    run = api.get(RUNS + "2/").json()["supply_chain"]
    assert (run["compared_with"], run["added"], run["removed"], run["upgraded"]) == (1, 0, 0, 1)
    libraries = api.get(RUNS + "2/components/", {"source": "library"}).json()["results"]
    purls = {c["purl"] for c in libraries}
    assert f"pkg:maven/{TEXT}@1.12.0" in purls
    assert any(p.startswith("pkg:maven/org.apache.commons/commons-lang3@") for p in purls)
    sbom = api.get(RUNS + "2/sbom/")
    assert sbom["Content-Type"] == "application/vnd.cyclonedx+json"
    assert json.loads(sbom.content)["specVersion"] == "1.6"
    statement = json.loads(api.get(RUNS + "2/provenance/").content)
    invocation = statement["predicate"]["runDetails"]["metadata"]["invocationId"]
    assert invocation.endswith("/imagebuilders/shop-app/#run-2")


def test_an_upgraded_library_is_exactly_the_change_in_api_and_dependencies_tab(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    celery_worker: CeleryWorker,
    tmp_path: Path,
) -> None:
    build_twice(build_world, tmp_path, celery_worker)
    check_the_api_shows_exactly_the_upgrade(build_world)

    sign_in_as(context, build_world.victor, console_server)
    page.goto(build_world.project_path + "imagebuilders/shop-app/")
    row = page.locator("[data-testid=runs] tr[data-run='2']")
    summary = row.get_by_test_id("dependency-summary-cell")
    expect(summary).to_have_text("+0 \u22120 \u21911")
    expect(summary).to_have_attribute("title", "Since run #1: 0 added, 0 removed, 1 upgraded")
    table_width = page.get_by_test_id("runs").evaluate("(t) => t.offsetWidth")
    summary.click()
    panel = page.locator("tr[data-log-for='2']")
    expect(panel.get_by_role("tab", name="Dependencies")).to_have_attribute("aria-selected", "true")
    deps = panel.get_by_test_id("dependencies")
    expect(deps.get_by_label("Compare with run")).to_have_value("1")
    changes = deps.get_by_test_id("dependency-changes").locator("li")
    expect(changes).to_have_count(1)
    expect(changes).to_have_text("\u2191 org.apache.commons:commons-text 1.10.0 \u2192 1.12.0")
    expect(changes).to_have_attribute("data-change", "up")

    libraries = deps.get_by_test_id("components-library")
    expect(libraries.locator(f"tr[data-purl='pkg:maven/{TEXT}@1.12.0']")).to_contain_text("1.12.0")
    expect(deps.get_by_test_id("components-application")).to_be_visible()
    deps.get_by_label("Search dependencies").fill("commons-text")
    expect(libraries.locator("tbody tr")).to_have_count(1)
    # The panel's long coordinates wrap: it never widens the run table (nor the page).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    table = page.get_by_test_id("runs")
    assert table.evaluate("(t) => t.offsetWidth") == table_width
    deps.scroll_into_view_if_needed()
    screenshot(page, "17-run-dependencies", docs=True)
    check_downloads(page, deps)

    # Run #1's tab, reached by its address, has no comparison before it.
    page.goto(build_world.project_path + "imagebuilders/shop-app/#run-1-dependencies")
    first = page.locator("tr[data-log-for='1']").get_by_test_id("dependencies")
    expect(first.get_by_test_id("no-comparison")).to_be_visible()
    first.get_by_label("Compare with run").select_option("2")
    expect(first.get_by_test_id("dependency-summary")).to_have_text("+0 \u22120 \u21911")
    back = first.get_by_test_id("dependency-changes").locator("li")
    expect(back).to_have_text("\u2193 org.apache.commons:commons-text 1.12.0 \u2192 1.10.0")
    expect(back).to_have_attribute("data-change", "down")

    # In Simplified Chinese: the tab, the summary's explanation, the groups.
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.goto(build_world.project_path + "imagebuilders/shop-app/#run-2-dependencies")
    page.reload()  # only the address's fragment changed: no new page without a reload
    zh_panel = page.locator("tr[data-log-for='2']")
    expect(zh_panel.get_by_role("tab", name="依赖")).to_have_attribute("aria-selected", "true")
    expect(zh_panel.get_by_test_id("dependencies")).to_contain_text("依赖库")
    expect(zh_panel.get_by_role("link", name="下载 SBOM")).to_be_visible()
    expect(row.get_by_test_id("dependency-summary-cell")).to_have_attribute(
        "title",
        "自运行 #1 起：新增 0 个，移除 0 个，升级 1 个",  # noqa: RUF001
    )
    expect(page.locator("[data-testid=runs] tr[data-run='1']")).to_contain_text("SBOM")


def check_downloads(page: Page, deps: Any) -> None:
    for testid, media_type in (
        ("sbom-download", "application/vnd.cyclonedx+json"),
        ("provenance-download", "application/vnd.in-toto+json"),
    ):
        href = deps.get_by_test_id(testid).get_attribute("href")
        response = page.request.get(href)
        assert response.ok and response.headers["content-type"] == media_type
        assert json.loads(response.body())
