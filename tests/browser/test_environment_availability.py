"""Environment cards tell the truth before Create: an unreachable base is shown as such, with
a reason written for the reader, cannot be chosen, and is never preselected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from builders.models import BuildEnvironment
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.artifacts import build_static_binary
from tests.fixtures.processes import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_static_binary_gets_the_working_local_base_not_unreachable_distroless(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    registry: Any,
    busybox_base: Any,
    tmp_path: Path,
) -> None:
    world.add_registry_secret(registry.url)
    spec = {
        key: value for key, value in BuildEnvironment.objects.get(name="binary-debian").spec.items()
    }
    BuildEnvironment.objects.create(
        name="demo-busybox", title="Binary on busybox (local demo base)",
        base_image=busybox_base.tagged, artifact_kinds=["binary"], spec=spec,
    )  # fmt: skip
    # gcr.io stands for itself as a closed loopback port, so not even a DNS query leaves here.
    BuildEnvironment.objects.filter(name="binary-distroless-static").update(
        base_image=f"127.0.0.1:{free_port()}/distroless/static-debian12"
    )
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="Binary").click()
    page.get_by_test_id("artifact-file").set_input_files(str(build_static_binary(tmp_path)))

    expect(page.get_by_test_id("inspection-summary")).to_contain_text("recommended: demo-busybox")
    expect(page.locator(".env-card[data-env=demo-busybox] input")).to_be_checked()
    distroless = page.locator(".env-card[data-env=binary-distroless-static]")
    expect(distroless).to_have_attribute("data-availability", "unavailable")
    expect(distroless.locator("input")).to_be_disabled()
    # A card says it in a few words; the page explains once, for its reader: alice runs the
    # project, not the installation, so she is told whom to ask and what for, not a setting.
    note = distroless.locator(".availability")
    expect(note).to_contain_text("Unavailable: the registry does not answer")
    for long_text in ("ask your platform admin", "B2I_", "--mirror", "Choose another"):
        expect(note).not_to_contain_text(long_text)
    help_text = page.get_by_test_id("env-unavailable-help")
    expect(help_text).to_have_count(1)
    expect(help_text).to_contain_text(
        "Ask your platform admin to set a registry mirror that has these images: 127.0.0.1:"
    )
    expect(help_text).to_contain_text("/distroless/static-debian12")
    expect(help_text).not_to_contain_text("B2I_")
    expect(help_text.get_by_role("link")).to_have_count(0)
    expect(page.locator(".env-card[data-env=demo-busybox]")).to_have_attribute(
        "data-availability", "available"
    )
    page.locator(".env-cards").scroll_into_view_if_needed()
    screenshot(page, "environment-availability")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_platform_admin_is_told_the_setting_once_with_a_link(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, language: str
) -> None:
    from tests.browser.conftest import make_user

    world.add_registry_secret("http://127.0.0.1:9")
    # Docker Hub's bases go to the console's mirror, a closed loopback port: all unavailable.
    admin = make_user("root", superuser=True)
    sign_in_as(context, admin, console_server)
    context.add_cookies([{"name": "django_language", "value": language, "url": console_server.url}])
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    help_text = page.get_by_test_id("env-unavailable-help")
    expect(help_text).to_contain_text("B2I_REGISTRY_MIRROR", timeout=30_000)
    expect(help_text).to_contain_text("eclipse-temurin")
    link = help_text.get_by_role("link")
    expect(link).to_have_attribute("href", "/admin/builders/installationsettings/")
    cards = page.locator(".env-card[data-availability=unavailable] .availability")
    expect(cards.first).to_be_visible()
    for text in cards.all_inner_texts():
        assert "B2I_" not in text and len(text) < 60, text  # a few words, not the explanation
    if language == "zh-hans":
        expect(help_text).to_contain_text("部分构建环境暂不可用")
        expect(cards.first).to_contain_text("不可用")
    else:
        # The images are listed in the cards' order (8 before 11, not after 25), and the list
        # ends before the other remedies begin (it ran on into "…:8-jre, set B2I_REGISTRY_PROXY").
        text = help_text.inner_text()
        assert text.index("eclipse-temurin:8-jre") < text.index("eclipse-temurin:11-jre"), text
        assert "these images: " in text, text
        assert ". If the workers reach registries through a proxy, set B2I_REGISTRY_PROXY." in text
