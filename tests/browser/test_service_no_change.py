"""The service page says "no change" when a later run built the deployed digest again (issue 17:
identical inputs roll nothing), in English and Simplified Chinese."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from playwright.sync_api import BrowserContext, Page, expect

from builders.models import BuildRun
from tests.browser.conftest import ConsoleServer, World, sign_in_as
from tests.workloads.conftest import make_builder
from workloads.models import Cluster, Service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DIGEST = "sha256:" + "ab" * 32


def service_with_an_unchanged_rerun(world: World, kube_apiserver: Any) -> None:
    """Run #1 deployed, run #2 built the same digest (recorded as no change)."""
    cluster = Cluster(name="default")
    cluster.kubeconfig = yaml.safe_dump(kube_apiserver.kubeconfig())
    cluster.save()
    builder = make_builder(world.project, world.add_registry_secret("http://127.0.0.1:9"), "web")
    image = f"127.0.0.1:9/demo/web@{DIGEST}"
    first, second = (
        BuildRun.objects.create(
            builder=builder, number=n, tag="latest", state="successful", digest=DIGEST
        )
        for n in (1, 2)
    )
    Service.objects.create(
        project=world.project,
        cluster=cluster,
        name="web",
        builder=builder,
        spec={"name": "web", "replicas": 1, "ports": []},
        state="Deployed",
        deployed_run=first,
        deployed_image=image,
        unchanged_run=second,
    )


def test_service_page_shows_no_change_in_english_and_chinese(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    world: World,
    kube_apiserver: Any,
) -> None:
    service_with_an_unchanged_rerun(world, kube_apiserver)
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "services/web/")
    expect(page.locator("#service-unchanged")).to_have_text(
        "No change: run #2 built the deployed image again; nothing was rolled."
    )
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": console_server.url}]
    )
    page.reload()
    expect(page.locator("#service-unchanged")).to_have_text(
        "无变化：运行 #2 构建出的镜像与已部署的相同，未进行滚动更新。"  # noqa: RUF001
    )
