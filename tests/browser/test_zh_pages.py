"""Every page a zh-Hans user visits is in Chinese: a walk through all console pages (with a
builder, a failed and a successful run, an artifact) fails on any English UI string - any
translated message of our catalogues (django.po, djangojs.po) shown in English, and the server's
English messages for build errors, artifact summaries and notices. Log times are 24-hour."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.fixtures.artifacts import build_http_jar
from tests.fixtures.celery_worker import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOGUES = [ROOT / "locale/zh_Hans/LC_MESSAGES" / name for name in ("django.po", "djangojs.po")]
PROJECT_PAGES = [
    "",
    "services/",
    "services/create/",
    "services/create/jar/",
    "deployments/",
    "statefulsets/",
    "jobs/",
    "imagebuilders/",
    "imagebuilders/hello/",
    "secrets/",
    "members/",
    "notifications/",
]
OTHER_PAGES = [
    "/workspaces/",
    "/workspaces/acme/",
    "/workspaces/acme/members/",
    "/workspaces/acme/audit/",
    "/account/tokens/",
]
# English the server writes that a zh page used to show as is.
SERVER_ENGLISH = [
    "cannot be reached",
    "bytecode",
    "Spring Boot JAR ·",
    "Executable JAR",
    # The built-in environments' titles and parameter descriptions, and `make run`'s own.
    " on Java ",
    "JVM options",
    "local Debian base",
    # Why runs ended, and why an upload was refused.
    "cancelled by a user",
    "not an executable JAR",
    "not a zip archive",
    "looks like a text file",
]
ERROR_MESSAGE = "registry 127.0.0.1:9 cannot be reached: connection refused"


def translated_english() -> set[str]:
    """English msgids with a Chinese translation: seeing one on a zh page is a miss."""
    entries = re.findall(
        r'^msgid "(.+)"\nmsgstr "(.+)"$', "\n".join(p.read_text() for p in CATALOGUES), re.M
    )
    # Short or one-word ids ("Name", "Log") also occur inside data; whole phrases do not.
    return {en for en, zh in entries if en != zh and " " in en and len(en) >= 12}


def add_builder_with_runs(world: World, tmp_path: Path) -> None:
    from b2i.packaging.inspection import inspect_artifact
    from builders.local_environments import save_debian_environments
    from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder

    jar = build_http_jar(tmp_path, "v1")
    inspection = inspect_artifact(jar, "jar", jar.name)
    artifact = Artifact.objects.create(
        project=world.project,
        file_name=jar.name,
        size=jar.stat().st_size,
        sha256="0" * 64,
        kind="jar",
        summary=inspection.summary(),
        inspection=inspection.as_dict(),
        storage_key="artifacts/none",
    )
    builder = ImageBuilder.objects.create(
        project=world.project,
        name="hello",
        artifact_kind="jar",
        environment=BuildEnvironment.objects.get(name="java-17"),
        image_name="shop/hello",
        registry_secret=world.add_registry_secret("http://127.0.0.1:9"),
        artifact=artifact,
        next_run_number=5,
    )
    now = timezone.now()
    run = {"builder": builder, "tag": "latest", "artifact": artifact, "finished_at": now}
    BuildRun.objects.create(
        **run,
        number=1,
        state="failed",
        error_code="registry:unreachable",
        error_message=ERROR_MESSAGE,
        started_at=now - timedelta(minutes=3),
    )
    BuildRun.objects.create(
        **run, number=2, state="successful", digest="sha256:" + "ab" * 32, started_at=now
    )
    BuildRun.objects.create(
        **run, number=3, state="cancelled", error_code="build:cancelled",
        error_message="cancelled by a user", started_at=now,
    )  # fmt: skip
    BuildRun.objects.create(
        **run, number=4, state="failed", error_code="build:user:not-executable-jar",
        error_message="not an executable JAR: META-INF/MANIFEST.MF has no Main-Class.",
        started_at=now,
    )  # fmt: skip
    # The environments `make run` registers on its local Debian bases (admin-defined rows).
    save_debian_environments("127.0.0.1:9/local/jre:17", "127.0.0.1:9/local/tomcat:10")


def english_on(page: Page, phrases: set[str]) -> list[str]:
    page.wait_for_load_state("networkidle")
    text = page.locator("body").inner_text()
    return sorted(phrase for phrase in phrases | set(SERVER_ENGLISH) if phrase in text)


def test_every_page_is_in_chinese(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    add_builder_with_runs(world, tmp_path)
    sign_in_as(context, world.alice, console_server)
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    phrases = translated_english()
    assert len(phrases) > 100  # the catalogues were read

    misses = {}
    for path in OTHER_PAGES + [world.project_path + p for p in PROJECT_PAGES]:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        if path.endswith("imagebuilders/hello/"):
            expect(page.get_by_test_id("runs")).to_contain_text("无法连接镜像仓库")
            expect(page.locator("#builder-attrs")).to_contain_text("Java 17 字节码")
        misses[path] = english_on(page, phrases)

    for kind in ("JAR", "WAR"):
        page.goto(world.project_path + "imagebuilders/create/")
        page.get_by_role("button", name=kind).click()
        expect(page.locator(".env-card").first).to_be_visible()
        page.get_by_text("高级设置").click()  # the environment's parameters
        expect(page.get_by_test_id("env-parameters")).to_be_visible()
        misses[f"imagebuilders/create/ ({kind} form)"] = english_on(page, phrases)

    # A text file named x.jar is refused; the reason is shown in Chinese.
    not_a_jar = tmp_path / "x.jar"
    not_a_jar.write_text("hello, I am not a JAR\n")
    page.goto(world.project_path + "imagebuilders/create/")
    page.get_by_role("button", name="JAR").click()
    page.get_by_test_id("artifact-file").set_input_files(str(not_a_jar))
    expect(page.get_by_test_id("artifact-result")).to_contain_text("不是 ZIP 归档")
    misses["imagebuilders/create/ (x.jar refused)"] = english_on(page, phrases)
    assert {path: found for path, found in misses.items() if found} == {}


def test_log_times_use_the_24_hour_clock(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World, tmp_path: Path
) -> None:
    from builders.models import BuildLogLine, BuildRun

    add_builder_with_runs(world, tmp_path)
    # An afternoon time: a 12-hour clock shows it as 3:04:05 PM (下午3:04:05).
    afternoon = timezone.now().replace(hour=15, minute=4, second=5)
    run = BuildRun.objects.get(number=1)
    BuildLogLine.objects.create(run=run, seq=1, time=afternoon, text="Pulling the base image")
    sign_in_as(context, world.alice, console_server)
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.goto(world.project_path + "imagebuilders/hello/")
    row = page.locator("[data-testid=runs] tr[data-run='1']")
    row.get_by_role("button", name="日志").click()
    log = page.locator("tr[data-log-for='1']")
    expect(log).to_contain_text("Pulling the base image")
    stamp = log.locator(".log-line .ts").first.inner_text()
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", stamp.strip()), stamp
