"""A queued run waits for a worker: the run page and the builder list say "Queued at" and that
it waits (en and zh-Hans), its log says why it is empty, and once a worker takes the run the
page shows its start time instead."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.browser.stored_builders import stored_jar_builder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "en": ("Queued at", "Waiting for a worker", "waiting for a worker to pick this run up"),
    "zh-hans": ("排队于", "等待构建节点", "等待构建节点接手此次运行"),
}


def queued_run(world: World, tmp_path: Path) -> object:
    from builders.models import BuildRun

    builder, artifact = stored_jar_builder(world, tmp_path, next_run_number=2)
    # No worker runs in this test: the run stays queued until the test "starts" it.
    return BuildRun.objects.create(
        builder=builder, number=1, tag="latest", artifact=artifact, state="pending",
        created_at=timezone.now() - timedelta(minutes=2),
    )  # fmt: skip


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_queued_run_says_it_waits_for_a_worker_until_one_takes_it(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    tmp_path: Path,
    language: str,
) -> None:
    run = queued_run(world, tmp_path)
    queued_at, waiting, log_waiting = TEXTS[language]
    sign_in_as(context, world.alice, console_server)
    context.add_cookies([{"name": "django_language", "value": language, "url": console_server.url}])

    page.goto(world.project_path + "imagebuilders/")
    expect(page.locator("#main")).to_contain_text(queued_at)
    expect(page.locator("#main")).to_contain_text(waiting)

    page.goto(world.project_path + "imagebuilders/hello/")
    row = page.locator("[data-testid=runs] tr[data-run='1']")
    expect(row.get_by_test_id("queued-at")).to_contain_text(queued_at)
    expect(row).to_contain_text(waiting)
    # The newest run's log opens by itself; empty, it says why.
    expect(page.get_by_test_id("log-waiting")).to_contain_text(log_waiting)

    run.state, run.started_at = "running", timezone.now()  # type: ignore[attr-defined]
    run.save()  # type: ignore[attr-defined]
    expect(row.get_by_test_id("queued-at")).to_have_count(0, timeout=20_000)  # page polls 3 s
    expect(row).not_to_contain_text(waiting)
