"""A builder's Image Artifacts card: one row per pushed image. Runs that pushed the same digest
(the same inputs built again, or only a new tag) are one image with all its references and runs;
the digest's prefix, the size and the time never wrap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.browser.stored_builders import stored_jar_builder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAME = "sha256:" + "a1" * 32
OTHER = "sha256:" + "b2" * 32


def builder_with_runs(world: World, tmp_path: Path) -> None:
    """Runs #1 (latest) and #2 (v2) pushed one image, #3 (latest) another; #4 failed."""
    from builders.models import BuildRun

    builder, artifact = stored_jar_builder(world, tmp_path, next_run_number=5)
    now = timezone.now()
    pushed = [(1, "latest", SAME), (2, "v2", SAME), (3, "latest", OTHER), (4, "latest", "")]
    for number, tag, digest in pushed:
        BuildRun.objects.create(
            builder=builder, number=number, tag=tag, artifact=artifact,
            state="successful" if digest else "failed", digest=digest,
            image_reference=f"127.0.0.1:9/shop/hello:{tag}", compressed_size=109_576_192,
            pull_command=f"docker pull 127.0.0.1:9/shop/hello@{digest}",
            started_at=now - timedelta(minutes=10 - number),
            finished_at=now - timedelta(minutes=10 - number, seconds=-4),
        )  # fmt: skip


def test_runs_that_pushed_the_same_image_are_one_row_with_its_references_and_runs(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    builder_with_runs(world, tmp_path)
    sign_in_as(context, world.alice, console_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(world.project_path + "imagebuilders/hello/")
    rows = page.locator("[data-testid=image-artifacts] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-digest", OTHER)
    expect(rows.nth(0)).to_contain_text("#3")
    same = rows.nth(1)
    expect(same).to_have_attribute("data-digest", SAME)
    expect(same.locator("code.image-reference")).to_have_text(
        ["127.0.0.1:9/shop/hello:v2", "127.0.0.1:9/shop/hello:latest"]
    )
    expect(same.locator("td").last).to_have_text("#2, #1")
    # The digest's prefix and the size are one line each (they wrapped to "…f074f1 / 9…").
    for cell in (same.locator("td").nth(1), same.locator("td").nth(2)):
        lines = cell.evaluate(
            "c => { const r = document.createRange(); r.selectNodeContents(c.firstChild);"
            " return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size; }"
        )
        assert lines == 1
