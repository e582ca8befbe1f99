"""Artifact uploads from the page: the size limit is shown and enforced before sending, and a
large file goes in resumable chunks with progress, then is inspected like any other."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from builders.models import Artifact
from tests.browser.conftest import MAX_ARTIFACT_BYTES, ConsoleServer, World, sign_in_as
from tests.fixtures.artifacts import build_http_jar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_large_jar_uploads_in_chunks_and_oversized_files_are_refused_up_front(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    # Random bytes do not compress: a 40 MiB JAR really is 40 MiB on the wire.
    big = build_http_jar(
        tmp_path, name="big.jar", extra_members={"assets/blob.bin": os.urandom(40 * 1024**2)}
    )
    patches: list[Request] = []
    page.on("request", lambda r: patches.append(r) if r.method == "PATCH" else None)
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    expect(page.locator(".dropzone")).to_contain_text("Size limit: 48.0 MiB")

    page.get_by_test_id("artifact-file").set_input_files(str(big))
    expect(page.get_by_test_id("inspection-summary")).to_contain_text(
        "Java 17 bytecode", timeout=60_000
    )
    assert len(patches) == math.ceil(big.stat().st_size / (8 * 1024**2))  # 8 MiB chunks
    stored = Artifact.objects.get(project=world.project, file_name="big.jar")
    assert stored.size == big.stat().st_size

    too_big = tmp_path / "huge.jar"
    with too_big.open("wb") as file:
        file.truncate(MAX_ARTIFACT_BYTES + 1)
    sent_before = len(patches)
    page.get_by_test_id("artifact-file").set_input_files(str(too_big))
    expect(page.get_by_test_id("artifact-result")).to_contain_text("the limit is 48.0 MiB")
    assert len(patches) == sent_before
    assert not Artifact.objects.filter(file_name="huge.jar").exists()


def format_bytes(size: int) -> str:
    """As the page's formatBytes: one decimal above 1 KiB."""
    value, units = float(size), ["B", "KiB", "MiB", "GiB"]
    unit = 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.0f} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def test_upload_progress_counts_the_file_bytes_not_the_multipart_body(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    # Small (one request, not chunked); random bytes so the size is what goes on the wire.
    jar = build_http_jar(tmp_path, extra_members={"blob.bin": os.urandom(3000)})
    size = format_bytes(jar.stat().st_size)
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    page.get_by_test_id("artifact-file").set_input_files(str(jar))
    expect(page.get_by_test_id("inspection-summary")).to_contain_text(size)
    expect(page.locator(".dropzone")).to_contain_text(f"{size} / {size}")
