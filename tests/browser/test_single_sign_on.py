"""Single sign-on in Chromium: the console's button, a real OpenID provider's sign-in page
(node oidc-provider), back with a role mapped from the groups claim, and sign-out at both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from identity.models import GroupRoleMapping
from projects.models import Workspace
from tests.browser.conftest import screenshot
from tests.fixtures.console_process import DaphneConsole
from tests.fixtures.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def provider_and_console(
    django_db_setup: None, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OidcProvider, DaphneConsole]]:
    workdir: Path = tmp_path_factory.mktemp("sso")
    provider = OidcProvider(workdir, [], [])
    env = {
        "B2I_OIDC_ISSUER": provider.issuer,
        "B2I_OIDC_CLIENT_ID": CLIENT_ID,
        "B2I_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "B2I_OIDC_LABEL": "Corp SSO",
        "LOG_LEVEL": "WARNING",
    }
    console = DaphneConsole(redis_url, workdir, env)
    provider.redirect_uris = [f"{console.url}/oidc/callback/"]
    provider.logout_uris = [f"{console.url}/login/"]
    provider.start()
    console.start()
    yield provider, console
    console.stop()
    provider.stop()


@pytest.fixture
def sso_page(
    browser: Browser, provider_and_console: tuple[OidcProvider, DaphneConsole]
) -> Iterator[Page]:
    _, console = provider_and_console
    context = browser.new_context(base_url=console.url, locale="en-US")
    context.set_default_timeout(15_000)
    # The provider's development pages import a web font from the internet: refuse anything
    # that is not on this machine (tests talk to loopback only).
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    yield context.new_page()
    context.close()


def test_a_user_signs_in_at_the_provider_gets_a_mapped_role_and_signs_out_of_both(
    sso_page: Page, provider_and_console: tuple[OidcProvider, DaphneConsole]
) -> None:
    provider, console = provider_and_console
    payments = Workspace.objects.create(name="payments", alias="Payments")
    Workspace.objects.create(name="secret-lab")
    GroupRoleMapping.objects.create(
        provider="oidc", group="payments-team", workspace=payments, role="workspace-viewer"
    )
    provider.set_account("kim", groups=["payments-team"], given_name="Kim", family_name="Park")
    page = sso_page

    page.goto("/workspaces/")
    page.get_by_role("link", name="Sign in with Corp SSO").click()
    page.wait_for_url(f"{provider.issuer}/**", wait_until="domcontentloaded")
    page.locator('input[name="login"]').fill("kim")
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()

    page.wait_for_url(f"{console.url}/workspaces/")
    table = page.get_by_test_id("workspaces")
    expect(table.get_by_role("link", name="payments")).to_be_visible()
    expect(table).not_to_contain_text("secret-lab")
    screenshot(page, "sso-01-workspaces")

    page.get_by_role("button", name="kim").click()
    page.get_by_role("button", name="Sign out").click()
    # The provider asks to confirm its own sign-out.
    page.wait_for_url(f"{provider.issuer}/**", wait_until="domcontentloaded")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{console.url}/login/**")
    expect(page.get_by_role("heading", name="Sign in to B2I Console")).to_be_visible()
    page.goto("/workspaces/")
    expect(page).to_have_url(f"{console.url}/login/?next=/workspaces/")
