"""Quotas on the pages: a platform admin sets the limits on the workspace page, members see the
usage bars; a run held back by the concurrent-build quota says why it waits (en and zh-Hans)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from builders.models import WorkspaceQuota
from tests.browser.conftest import ConsoleServer, World, make_user, sign_in_as
from tests.browser.test_zh_pages import add_builder_with_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_platform_admin_sets_quotas_and_members_see_the_usage_bars(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    sign_in_as(context, make_user("root", superuser=True), console_server)
    page.goto("/workspaces/acme/")
    card = page.locator("#workspace-quota")
    expect(card.locator('[data-quota="builders"]')).to_contain_text("0 (no limit)")
    expect(card.locator("progress")).to_have_count(0)
    card.get_by_role("button", name="Edit Quotas").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Concurrent builds").fill("2")
    dialog.get_by_label("Image builders").fill("5")
    dialog.get_by_role("button", name="Save").click()
    expect(card.locator('[data-quota="builders"]')).to_contain_text("0 of 5")
    expect(card.locator('[data-quota="concurrent_builds"]')).to_contain_text("0 of 2")
    expect(card.locator("progress")).to_have_count(2)
    quota = WorkspaceQuota.objects.get(workspace=world.workspace)
    assert (quota.max_concurrent_builds, quota.max_builders, quota.max_artifact_bytes) == (
        2,
        5,
        None,
    )

    # The workspace's admin sees the limits and usage, and cannot change them.
    context.clear_cookies()
    sign_in_as(context, world.alice, console_server)
    page.goto("/workspaces/acme/")
    expect(card.locator('[data-quota="builders"] progress')).to_have_attribute("max", "5")
    expect(card.get_by_role("button", name="Edit Quotas")).to_have_count(0)


def hold_a_run_back(world: World, tmp_path: Path) -> None:
    """Builder hello's run #9 waits for the slot a running build of another builder holds."""
    from builders.models import BuildRun, ImageBuilder

    add_builder_with_runs(world, tmp_path)
    WorkspaceQuota.objects.create(workspace=world.workspace, max_concurrent_builds=1)
    hello = ImageBuilder.objects.get(name="hello")
    other = ImageBuilder.objects.create(
        project=world.project,
        name="other",
        artifact_kind="jar",
        environment=hello.environment,
        image_name="shop/other",
        registry_secret=hello.registry_secret,
        artifact=hello.artifact,
    )
    now = timezone.now()
    BuildRun.objects.create(builder=other, number=1, tag="latest", state="running", started_at=now)
    BuildRun.objects.create(
        builder=hello, number=9, tag="latest", state="pending", waiting_for_slot_since=now
    )


def test_a_run_waiting_for_a_build_slot_says_so_in_english_and_chinese(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    hold_a_run_back(world, tmp_path)
    sign_in_as(context, world.victor, console_server)
    page.goto(world.project_path + "imagebuilders/hello/")
    waiting = page.locator('tr[data-run="9"]').get_by_test_id("slot-wait")
    expect(waiting).to_have_text("Waiting for a build slot (1 of 1 in use)")

    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.goto(world.project_path + "imagebuilders/hello/")
    expect(waiting).to_have_text("等待构建名额（已用 1 / 共 1）")  # noqa: RUF001
    context.clear_cookies()
    sign_in_as(context, world.alice, console_server)
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.goto("/workspaces/acme/")
    card = page.locator("#workspace-quota")
    expect(card).to_contain_text("并发构建")
    expect(card.locator('[data-quota="concurrent_builds"]')).to_contain_text("已用 1 / 共 1")
    expect(card.locator('[data-quota="concurrent_builds"]')).to_contain_text("1 个构建正在等待名额")
