"""The Content-Security-Policy: the console's pages and the API docs work under it (no
violation reported, their scripts draw the page), and a script injected into a page does not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route

from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from tests.browser.conftest import ConsoleServer, World, sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each page with an element its module script draws (a page whose script is refused stays bare).
PAGES = {
    "/workspaces/": "main table tbody tr, main .empty",
    "/account/tokens/": "main table, main .empty",
    "/workspaces/acme/": "main table tbody tr, main .empty",
    "/workspaces/acme/members/": "main table tbody tr",
    "": "#recent-builds > *",
    "imagebuilders/": "main table tbody tr",
    "imagebuilders/hello/": "main table tbody tr",
    "imagebuilders/create/": "main button",
    "secrets/": "main table tbody tr",
    "services/": "main table, main .empty",
    "services/create/jar/": "main input",
    "members/": "main table tbody tr",
    "deployments/": "main table, main .empty, main .notice",
    "jobs/": "main table, main .empty, main .notice",
}
INJECTION = (
    "<script>window.__injected = 'inline script';</script>"
    "<img src='/nowhere.png' onerror=\"window.__injected = 'event handler'\">"
    "<div style='display:none' id='injected-style'>styled</div>"
)


def csp_violations(page: Page) -> list[str]:
    """Collect the browser's CSP refusals (console errors) for the page's lifetime."""
    refused: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", record)
    return refused


def add_builder_with_a_run(world: World) -> None:
    secret = world.add_registry_secret("http://127.0.0.1:9")
    builder = ImageBuilder.objects.create(
        project=world.project,
        name="hello",
        artifact_kind="binary",
        environment=BuildEnvironment.objects.get(name="binary-debian"),
        image_name="demo/hello",
        registry_secret=secret,
    )
    BuildRun.objects.create(builder=builder, number=1, tag="latest", state="failed")


def test_console_pages_run_under_the_policy_without_a_violation(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    add_builder_with_a_run(world)
    sign_in_as(context, world.alice, console_server)
    refused = csp_violations(page)
    for path, drawn in PAGES.items():
        url = path if path.startswith("/") else world.project_path + path
        response = page.goto(url)
        assert response is not None and response.ok, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.locator(drawn).first.wait_for()
        page.wait_for_load_state("networkidle")
        assert refused == [], f"{url}: {refused}"


def test_api_docs_render_under_the_policy(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    sign_in_as(context, world.alice, console_server)
    refused = csp_violations(page)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()  # drawn from the fetched schema
    page.wait_for_load_state("networkidle")
    assert refused == []


def test_a_script_injected_into_a_page_does_not_run(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    sign_in_as(context, world.alice, console_server)

    def inject(route: Route) -> None:
        # The real page with its real headers (the policy) plus markup a bug could let in.
        original = route.fetch()
        body = original.text().replace("</main>", INJECTION + "</main>")
        route.fulfill(response=original, body=body)

    page.route("**/workspaces/", inject)
    refused = csp_violations(page)
    page.goto("/workspaces/")
    page.locator("#injected-style").wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__injected") is None
    assert page.locator("#injected-style").is_visible(), "the inline style attribute applied"
    assert len(refused) >= 3, refused  # the script, the handler and the style attribute
    # The page's own module still ran: the list is drawn.
    page.locator("main table tbody tr, main .empty").first.wait_for()
