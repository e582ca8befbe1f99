"""Run Records keep their short columns on one line when a run failed with a long error: the
tag "latest" was squeezed to "late/st" and the Chinese headers to one character per line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_ERROR = (
    "cannot resolve registry-1.docker.io: the base image docker.io/library/eclipse-temurin:"
    "17-jre-jammy could not be pulled through https://mirror.example.internal:5000/v2/library/"
    "eclipse-temurin/manifests/17-jre-jammy (connection refused) "
) * 3

# Distinct line tops of an element's text: 1 when it is on one line.
LINE_COUNT = """(element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


def add_failed_and_successful_runs(world: World) -> None:
    from builders.models import BuildEnvironment, BuildRun, ImageBuilder

    secret = world.add_registry_secret("http://127.0.0.1:9")
    builder = ImageBuilder.objects.create(
        project=world.project,
        name="hello",
        artifact_kind="jar",
        environment=BuildEnvironment.objects.get(name="java-17"),
        image_name="shop/hello",
        registry_secret=secret,
        next_run_number=3,
    )
    now = timezone.now()
    BuildRun.objects.create(
        builder=builder,
        number=1,
        tag="latest",
        state="failed",
        error_code="registry:unreachable",
        error_message=LONG_ERROR,
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=4),
    )
    BuildRun.objects.create(
        builder=builder,
        number=2,
        tag="latest",
        state="successful",
        digest="sha256:" + "ab" * 32,
        started_at=now - timedelta(minutes=2),
        finished_at=now - timedelta(minutes=1),
    )


def lines_of(locator: Locator) -> list[int]:
    return [int(cell.evaluate(LINE_COUNT)) for cell in locator.all()]


def check_short_columns_stay_on_one_line(page: Page, error_text: str, *, wraps: bool) -> None:
    runs = page.get_by_test_id("runs")
    expect(runs.locator("tr[data-run='1']")).to_contain_text(error_text)
    assert lines_of(runs.locator("tr[data-run] td:nth-child(3) code")) == [1, 1]
    assert all(count == 1 for count in lines_of(runs.locator("th:not(:empty)")))
    error_lines = int(runs.locator("tr[data-run='1'] td:nth-child(2) div").evaluate(LINE_COUNT))
    assert (error_lines > 1) == wraps
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_run_records_columns_do_not_squeeze_under_a_long_error(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    add_failed_and_successful_runs(world)
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "imagebuilders/hello/")
    check_short_columns_stay_on_one_line(page, "registry-1.docker.io", wraps=True)

    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.goto(world.project_path + "imagebuilders/hello/")
    expect(page.get_by_test_id("runs").locator("thead")).to_contain_text("标签")
    # In Chinese the run's error is the translation of its code (static/js/messages.js): short.
    check_short_columns_stay_on_one_line(page, "无法连接镜像仓库", wraps=False)
