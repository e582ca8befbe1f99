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
    # alice runs the project, not the installation: she is told whom to ask, not which setting.
    expect(distroless.locator(".availability")).to_contain_text("ask your platform admin")
    expect(distroless.locator(".availability")).not_to_contain_text("B2I_")
    expect(page.locator(".env-card[data-env=demo-busybox]")).to_have_attribute(
        "data-availability", "available"
    )
    page.locator(".env-cards").scroll_into_view_if_needed()
    screenshot(page, "environment-availability")
