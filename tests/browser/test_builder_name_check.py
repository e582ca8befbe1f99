"""A taken image builder name is told while it is typed on the create form, before any artifact
is chosen or uploaded (not only by Create's 409); Create is not even sent with it."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "taken"),
    [("en", "already exists"), ("zh-hans", "已存在同名的镜像构建器")],
)
def test_a_taken_name_is_told_before_the_upload(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    language: str,
    taken: str,
) -> None:
    from builders.models import BuildEnvironment, ImageBuilder

    ImageBuilder.objects.create(
        project=world.project, name="hello", artifact_kind="jar",
        environment=BuildEnvironment.objects.get(name="java-17"), image_name="shop/hello",
        registry_secret=world.add_registry_secret("http://127.0.0.1:9"),
    )  # fmt: skip
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    sign_in_as(context, world.alice, console_server)
    context.add_cookies([{"name": "django_language", "value": language, "url": console_server.url}])
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    name = page.locator("input[name=name]")
    error = page.locator(f"#{name.get_attribute('id')}-error")

    name.fill("hello")
    expect(error).to_contain_text(taken)
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill("hello-2")
    expect(error).to_have_text("")
    # A free name is an empty list, not a 404 that DevTools shows as a failed resource.
    assert console_errors == []

    name.fill("hello")
    page.locator("#builder-form-root button[type=submit]").click()
    expect(error).to_contain_text(taken)
    assert [r.url for r in posts if "/imagebuilders/" in r.url] == []
