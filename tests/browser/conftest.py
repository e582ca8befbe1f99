"""Browser test infrastructure: the console's web server (uvicorn, ASGI + WebSocket) on the test
database and Debian's Chromium driven by Playwright, plus helpers to sign in and take
screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.fixtures.celery_worker import ROOT
from tests.fixtures.console_process import ConsoleProcess
from tests.fixtures.processes import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_ARTIFACT_BYTES = 48 * 1024 * 1024
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


class ConsoleServer(ConsoleProcess):
    """The console's web server (uvicorn, ASGI + WebSocket) for the browser tests."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        env = {
            "REDIS_URL": redis_url,
            "B2I_HTTPS": "false",
            "LOG_LEVEL": "WARNING",
            # Small enough that a test can exceed it, large enough for chunked uploads.
            "B2I_MAX_ARTIFACT_BYTES": str(MAX_ARTIFACT_BYTES),
            # The page checks every environment's base (builders/availability.py): Docker Hub
            # bases go to a mirror, the others to a proxy, both closed loopback ports, so
            # nothing leaves the machine.
            "B2I_REGISTRY_MIRROR": f"127.0.0.1:{free_port()}",
            "B2I_REGISTRY_PROXY": f"http://127.0.0.1:{free_port()}",
        }
        super().__init__(workdir, env)

    def start(self, timeout: float = 60) -> ConsoleServer:
        super().start(timeout)
        return self


@pytest.fixture(scope="session")
def console_server(
    django_db_setup: None, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleServer]:
    server = ConsoleServer(redis_url, tmp_path_factory.mktemp("console")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Module scope, not session: while Playwright's sync API is
    started its event loop counts as running in this thread and Django refuses ORM calls, so
    the loop must not outlive the browser tests and leak into other packages' tests."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/bootstrap.sh test (Debian package chromium)"
        )
    with pytest.MonkeyPatch.context() as patch:
        # The tests' own ORM calls between browser steps are plain synchronous calls.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def context(browser: Browser, console_server: ConsoleServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=console_server.url, viewport={"width": 1280, "height": 720}, locale="en-US"
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    # An uncaught exception in our modules is a bug even when the assertions passed.
    assert not errors, f"JavaScript errors on the page: {errors}"


def make_user(username: str, *, superuser: bool = False) -> object:
    users = get_user_model().objects
    if superuser:
        return users.create_superuser(username, f"{username}@example.com", f"{username}-pw")
    return users.create_user(username, password=f"{username}-pw")


def sign_in_as(context: BrowserContext, user: object, console_server: ConsoleServer) -> None:
    """Give the browser a session cookie for `user` (the sign-in form has its own test)."""
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": console_server.url}])


def screenshot(page: Page, name: str, *, docs: bool = False) -> Path:
    """Save a screenshot under test-artifacts/; with B2I_UPDATE_SCREENSHOTS=1 the ones marked
    `docs` also replace their copy in docs/screenshots/ (committed, shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("B2I_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


class World:
    """Workspace acme, project shop; alice is workspace-admin, victor a project viewer."""

    def __init__(self) -> None:
        from projects.models import Project, ProjectMembership, Workspace, WorkspaceMembership

        self.alice = make_user("alice")
        self.victor = make_user("victor")
        self.workspace = Workspace.objects.create(name="acme", alias="ACME Corp")
        self.project = Project.objects.create(workspace=self.workspace, name="shop", alias="Shop")
        WorkspaceMembership.objects.create(
            workspace=self.workspace, user=self.alice, role="workspace-admin"
        )
        ProjectMembership.objects.create(project=self.project, user=self.victor, role="viewer")

    @property
    def project_path(self) -> str:
        return "/workspaces/acme/projects/shop/"

    def add_registry_secret(self, address: str, name: str = "local") -> object:
        from projects.models import RegistrySecret

        secret = RegistrySecret(project=self.project, name=name, address=address, is_default=True)
        secret.password = ""
        secret.save()
        return secret


@pytest.fixture
def world(transactional_db: None) -> World:
    from builders.environments_sync import sync_builtin_environments

    # Transactional tests truncate every table afterwards, seeded environments included.
    sync_builtin_environments()
    return World()


@pytest.fixture
def build_world(world: World, registry: Any, jre_base: Any, celery_worker: Any) -> World:
    """The world plus what a real build needs: a default secret on the test registry, a worker,
    and the java-17 environment based on the locally pushed JRE image (no Docker Hub here)."""
    from builders.models import BuildEnvironment

    world.add_registry_secret(registry.url)
    BuildEnvironment.objects.filter(name="java-17").update(base_image=jre_base.tagged)
    return world


@pytest.fixture
def cluster_world(build_world: World, kube_apiserver: Any) -> World:
    """The build world plus a Kubernetes cluster (the faithful test API server)."""
    import yaml

    from workloads.models import Cluster

    cluster = Cluster(name="default")
    cluster.kubeconfig = yaml.safe_dump(kube_apiserver.kubeconfig())
    cluster.save()
    return build_world
