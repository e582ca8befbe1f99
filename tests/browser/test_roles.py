"""A project viewer sees the pages but no create, run or delete controls, and the API refuses
those actions when they are sent anyway from the viewer's browser session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from rest_framework.test import APIClient

from builders.models import BuildRun
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.artifacts import build_http_jar

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def create_builder_through_api(world: World, jar: Path) -> None:
    api = APIClient()
    api.force_authenticate(world.alice)
    with jar.open("rb") as file:
        answer = api.post(
            "/api/v1/workspaces/acme/projects/shop/imagebuilders/",
            {
                "name": "hello",
                "artifact_kind": "jar",
                "environment": "java-17",
                "image_name": "shop/hello",
                "registry_secret": "local",
                "trigger_token": "Secret42Secret42Secret42",
                "file": file,
            },
            format="multipart",
        )
    assert answer.status_code == 201, answer.content


def browser_post(page: Page, path: str) -> int:
    """POST from the page with the session cookie and CSRF token, as the page's JS would."""
    return int(
        page.evaluate(
            """async (path) => {
                const token = document.cookie.match(/csrftoken=([^;]+)/)?.[1]
                    || document.querySelector("input[name=csrfmiddlewaretoken]").value;
                const r = await fetch(path, {method: "POST", headers: {"X-CSRFToken": token,
                    "Content-Type": "application/json"}, body: "{}"});
                return r.status;
            }""",
            path,
        )
    )


def test_viewer_sees_no_create_run_or_delete_controls_and_the_api_refuses_them(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    tmp_path: Path,
) -> None:
    create_builder_through_api(build_world, build_http_jar(tmp_path))
    sign_in_as(context, build_world.victor, console_server)
    project = build_world.project_path

    page.goto(project + "imagebuilders/")
    row = page.locator("[data-testid=builders] tr[data-name=hello]")
    expect(row).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)  # no Run / Edit / Delete
    expect(page.locator("#create-builder")).to_have_count(0)
    screenshot(page, "03-imagebuilders-viewer", docs=True)

    page.goto(project + "imagebuilders/hello/")
    expect(page.get_by_test_id("log-body")).to_contain_text("Build completed successfully")
    for control in ("#run-builder", "#cancel-run", "#delete-builder"):
        expect(page.locator(control)).to_have_count(0)
    # The token is the operators' secret, but the viewer is not told there is none.
    attributes = page.locator("#builder-attrs")
    expect(attributes).to_contain_text("Set (shown to operators only)")
    expect(attributes).not_to_contain_text("No trigger token set")
    expect(attributes).not_to_contain_text("Secret42")

    page.goto(project + "secrets/")
    expect(page.locator("[data-testid=secrets] tr[data-name=local]")).to_be_visible()
    expect(page.locator("[data-testid=secrets] button")).to_have_count(0)
    expect(page.locator("#create-secret")).to_have_count(0)

    page.goto(project + "services/")
    expect(page.locator("#create-service")).to_have_count(0)
    page.goto(project + "members/")
    expect(page.locator("#invite-member")).to_have_count(0)
    expect(page.locator("[data-testid=members] select")).to_have_count(0)

    # The API answers 403 to the same actions sent from the viewer's session.
    runs_before = BuildRun.objects.count()
    builder = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/"
    assert browser_post(page, builder + "run/") == 403
    assert browser_post(page, builder + "runs/1/cancel/") == 403
    assert browser_post(page, "/api/v1/workspaces/acme/projects/shop/registrysecrets/") == 403
    assert BuildRun.objects.count() == runs_before
    # And the create pages themselves are refused.
    assert page.goto(project + "imagebuilders/create/").status == 403
    assert page.goto(project + "services/create/jar/").status == 403


def test_without_websocket_the_log_falls_back_to_polling(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    build_world: World,
    tmp_path: Path,
) -> None:
    # A proxy that refuses WebSocket upgrades: every socket is closed at once.
    page.route_web_socket(re.compile(r"/ws/"), lambda ws: ws.close())
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/log/?after=" in r.url else None)
    create_builder_through_api(build_world, build_http_jar(tmp_path))
    sign_in_as(context, build_world.alice, console_server)
    page.goto(build_world.project_path + "imagebuilders/hello/")
    log = page.get_by_test_id("log-body")
    expect(log).to_contain_text("Build completed successfully", timeout=60_000)
    expect(page.get_by_test_id("log-status")).to_have_text("Finished")
    expect(page.locator("[data-testid=runs] tr[data-run='1']")).to_have_attribute(
        "data-state", "successful"
    )
    assert log.inner_text().count("Build completed successfully") == 1  # nothing twice
    assert polls, "the log came from the polling endpoint"
