"""Simplified Chinese, chosen per user from the user menu: the main pages render in Chinese,
both the server-rendered parts and the JavaScript-built tables and dialogs."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# page path (under the project) -> (heading, a string the page's JavaScript renders)
PAGES = {
    "": ("最近构建", "暂无镜像构建器。"),
    "imagebuilders/": ("镜像构建器", "暂无镜像构建器。"),
    "secrets/": ("保密字典", "仓库地址"),
    "services/": ("服务", "暂无服务。请通过制品创建服务。"),
    "members/": ("项目成员", "角色"),
}


def test_chinese_locale_renders_the_main_pages(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    world.add_registry_secret("http://127.0.0.1:9")
    sign_in_as(context, world.alice, console_server)
    page.goto("/workspaces/")
    page.get_by_role("button", name="alice").click()
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="企业空间")).to_be_visible()
    expect(page.get_by_test_id("workspaces")).to_contain_text("我的角色")

    for index, (path, (heading, rendered)) in enumerate(PAGES.items()):
        page.goto(world.project_path + path)
        expect(page.locator("#main h1, #main h2").first).to_be_visible()
        expect(page.locator("#main")).to_contain_text(heading)
        expect(page.locator("#main")).to_contain_text(rendered)
        expect(page.get_by_role("navigation", name="项目导航")).to_contain_text("应用负载")
        screenshot(page, f"20-zh-{index}-{path.strip('/') or 'overview'}", docs=index == 1)

    page.goto(world.project_path + "services/create/jar/")
    expect(page.locator(".wizard-steps")).to_contain_text("基本信息")
    expect(page.locator(".wizard-steps")).to_contain_text("容器组设置")
    page.get_by_test_id("wizard-next").click()
    expect(page.locator("#svc-name-error")).to_contain_text("小写字母")
    screenshot(page, "21-zh-wizard")
