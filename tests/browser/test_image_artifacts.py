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
from tests.fixtures.artifacts import build_http_jar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAME = "sha256:" + "a1" * 32
OTHER = "sha256:" + "b2" * 32


def builder_with_runs(world: World, tmp_path: Path) -> None:
    """Runs #1 (latest) and #2 (v2) pushed one image, #3 (latest) another; #4 failed."""
    from b2i.packaging.inspection import inspect_artifact
    from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder

    jar = build_http_jar(tmp_path, "v1")
    inspection = inspect_artifact(jar, "jar", jar.name)
    artifact = Artifact.objects.create(
        project=world.project, file_name=jar.name, size=jar.stat().st_size, sha256="0" * 64,
        kind="jar", summary=inspection.summary(), inspection=inspection.as_dict(),
        storage_key="artifacts/none",
    )  # fmt: skip
    builder = ImageBuilder.objects.create(
        project=world.project, name="hello", artifact_kind="jar",
        environment=BuildEnvironment.objects.get(name="java-17"), image_name="shop/hello",
        registry_secret=world.add_registry_secret("http://127.0.0.1:9"), artifact=artifact,
        next_run_number=5,
    )  # fmt: skip
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
