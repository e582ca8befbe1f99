"""The five-step "Create Service from Artifact" wizard with a JAR, in Chromium, against the real
worker, registry and the test Kubernetes API server: Next validates, Previous keeps input,
the review shows YAML, nothing exists before Create, then the progress view goes live."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect

from builders.models import BuildRun, ImageBuilder
from tests.browser.conftest import ConsoleServer, World, screenshot, sign_in_as
from tests.fixtures.artifacts import build_http_jar
from workloads.models import Service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BUILD_TIMEOUT = 120_000


def next_step(page: Page, expected: str) -> None:
    """Press Next and check which step the wizard shows afterwards."""
    page.get_by_test_id("wizard-next").click()
    expect(page.locator(".wizard-steps li[aria-current=step]")).to_have_text(expected)


def check_jobs_page(page: Page, world: World) -> None:
    """The Jobs page lists the project's build Jobs read live from its namespace."""
    from workloads.client import KubeClient
    from workloads.jobs import BuildJobSpec, render_build_job
    from workloads.models import Cluster

    spec = BuildJobSpec(
        namespace=world.project.namespace,
        builder="hello",
        run_number=7,
        console_image="registry.example/b2i-console:0.1.0",
        artifact_url="http://127.0.0.1:9/artifact",
        artifact_sha256="a" * 64,
        target="127.0.0.1:5000/demo/hello:latest",
        credentials_secret="b2i-push-hello",
        environment="java-17",
    )
    kube = KubeClient.connect(Cluster.objects.get().kubeconfig)
    try:
        kube.create(render_build_job(spec))
        deadline = time.monotonic() + 15  # the test API server's controller runs it
        while time.monotonic() < deadline:
            job = kube.get("Job", spec.namespace, spec.name) or {}
            if (job.get("status") or {}).get("completionTime"):
                break
            time.sleep(0.1)
    finally:
        kube.close()
    page.goto(world.project_path + "jobs/")
    row = page.locator("[data-testid=jobs] tr[data-name=b2i-build-hello-7]")
    expect(row).to_contain_text("hello #7")
    expect(row).to_contain_text("Succeeded")


def test_wizard_creates_a_service_from_a_jar_and_the_build_goes_live(
    page: Page,
    context: BrowserContext,
    console_server: ConsoleServer,
    cluster_world: World,
    tmp_path: Path,
) -> None:
    sign_in_as(context, cluster_world.alice, console_server)
    page.goto(cluster_world.project_path + "services/")
    page.locator("#create-service").click()
    screenshot(page, "08-service-create-chooser")
    page.get_by_role("link", name="JAR").click()

    # Step 1: Next refuses an invalid name and stays; a valid one moves on.
    page.get_by_label("Name", exact=True).fill("Bad_Name")
    next_step(page, "Basic Information")
    expect(page.locator("#svc-name-error")).not_to_be_empty()
    page.get_by_label("Name", exact=True).fill("hello")
    expect(page.get_by_test_id("name-availability")).to_have_text("Name available")
    page.get_by_label("Alias").fill("你好-app")
    next_step(page, "Build Settings")

    # Step 2: the JAR is checked from its content; the recommendation is preselected.
    next_step(page, "Build Settings")  # no artifact yet: refused
    expect(page.get_by_test_id("artifact-result")).to_contain_text("Choose the artifact")
    page.get_by_test_id("artifact-file").set_input_files(str(build_http_jar(tmp_path, "hi")))
    summary = page.get_by_test_id("inspection-summary")
    expect(summary).to_contain_text("Java 17 bytecode → recommended: java-17")
    expect(page.locator(".env-card[data-env=java-17] input")).to_be_checked()
    expect(page.get_by_label("Image name")).to_have_value("shop/hello")
    screenshot(page, "09-wizard-build-settings", docs=True)
    next_step(page, "Pod Settings")

    # Previous keeps what was typed.
    page.get_by_role("button", name="Previous").click()
    page.get_by_role("button", name="Previous").click()
    expect(page.get_by_label("Alias")).to_be_visible()
    expect(page.get_by_label("Alias")).to_have_value("你好-app")
    next_step(page, "Build Settings")
    # The keyboard alone drives the wizard: Enter in a field submits the step.
    page.get_by_label("Tag").press("Enter")
    expect(page.locator(".wizard-steps li[aria-current=step]")).to_have_text("Pod Settings")

    # Step 3: the port comes from the environment (8080).
    expect(page.get_by_label("Container port").first).to_have_value("8080")
    expect(page.get_by_label("Container port").first).to_be_visible()
    screenshot(page, "10-wizard-pod-settings")
    next_step(page, "Storage Settings")
    next_step(page, "Advanced Settings")  # storage: nothing needed
    page.get_by_label("External access").select_option("NodePort")
    next_step(page, "Review")

    # Review: YAML shown; nothing exists yet.
    review_yaml = page.get_by_test_id("review-yaml")
    expect(review_yaml).to_contain_text("kind: Deployment")  # rendered before anything exists
    expect(review_yaml).to_contain_text("replicas: 0")
    expect(review_yaml).not_to_have_attribute("data-preview-error", re.compile(".*"))
    screenshot(page, "11-wizard-review", docs=True)
    assert not ImageBuilder.objects.filter(name="hello").exists()
    assert not Service.objects.filter(name="hello").exists()
    page.get_by_test_id("wizard-next").click()  # Create

    log = page.get_by_test_id("log-body")
    expect(log).to_contain_text("Build completed successfully", timeout=BUILD_TIMEOUT)
    expect(page.get_by_test_id("run-status")).to_contain_text("Successful")
    progress = page.get_by_test_id("progress")
    expect(progress.locator("[data-stage=push]")).to_have_attribute("data-state", "done")
    expect(progress.locator("[data-stage=rollout]")).to_have_attribute(
        "data-state", "done", timeout=60_000
    )
    expect(page.get_by_test_id("access-urls")).to_contain_text("http://")
    page.get_by_text("YAML of the created objects").click()
    expect(page.get_by_test_id("created-yaml")).to_contain_text("kind: Deployment")
    screenshot(page, "12-service-progress", docs=True)

    run = BuildRun.objects.get(builder__name="hello", number=1)
    assert run.state == "successful"
    service = Service.objects.get(name="hello")
    assert service.deployed_run_id == run.pk

    # The created service shows in the Services and Deployments lists and its detail page.
    page.goto(cluster_world.project_path + "services/")
    row = page.locator("[data-testid=services] tr[data-name=hello]")
    expect(row).to_contain_text("Deployed")
    expect(row).to_contain_text("#1")
    screenshot(page, "13-services")
    page.goto(cluster_world.project_path + "services/hello/")
    expect(page.locator("#service-pods")).to_contain_text("1/1")
    expect(page.locator("#build-panel")).to_contain_text("Build completed successfully")
    screenshot(page, "14-service-detail", docs=True)
    page.goto(cluster_world.project_path + "deployments/")
    expect(page.locator("[data-testid=workloads] tr[data-name=hello]")).to_contain_text("1/1")
    screenshot(page, "15-deployments")
    check_jobs_page(page, cluster_world)

    # From the service: run again with a new artifact; the workload follows, then roll back.
    page.goto(cluster_world.project_path + "services/hello/")
    page.locator("#build-panel").get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("artifact-file").set_input_files(str(build_http_jar(tmp_path, "v2")))
    expect(dialog.get_by_test_id("inspection-summary")).to_contain_text("Java 17")
    dialog.get_by_role("button", name="Run").click()
    panel = page.locator("#build-panel")
    expect(panel).to_contain_text("Latest run #2")
    expect(panel.get_by_test_id("log-body")).to_contain_text(
        "Build completed successfully", timeout=BUILD_TIMEOUT
    )
    second = BuildRun.objects.get(builder__name="hello", number=2)
    expect(page.locator("#service-attrs")).to_contain_text("#2", timeout=15_000)
    assert Service.objects.get(name="hello").deployed_run_id == second.pk
    page.get_by_role("button", name="Roll back").click()
    page.get_by_role("dialog").get_by_label("Deploy the image of run").select_option("1")
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    expect(page.locator("#service-attrs")).to_contain_text("#1")
    assert Service.objects.get(name="hello").deployed_run_id == run.pk

    # Delete, typing the name, with the builder too.
    page.locator("#delete-service").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Also delete the image builder").check()
    dialog.get_by_label(re.compile("Type the name")).fill("hello")
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile("/services/$"))
    assert not Service.objects.filter(name="hello").exists()
    assert not ImageBuilder.objects.filter(name="hello").exists()


def test_leaving_the_wizard_with_input_asks_first(
    page: Page, context: BrowserContext, console_server: ConsoleServer, world: World
) -> None:
    sign_in_as(context, world.alice, console_server)
    page.goto(world.project_path + "services/create/war/")
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type("half-done")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert not page.is_closed()  # the user chose to stay
