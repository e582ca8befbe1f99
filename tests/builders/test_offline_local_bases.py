"""`make run` without internet: the local Debian bases build a JAR, a WAR and a static binary.

The installation is offline here the way an air-gapped one is whose mirror and proxy are down:
both point at closed loopback ports, so every base outside the local registry is unreachable.
Through the API, as the wizard does it: upload, ask which environment to preselect, create the
builder on it, and the image runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from b2i.local_bases import push_local_bases
from b2i.oci.registry import RegistryClient
from builders.local_environments import JAVA, TOMCAT, TOMCAT_JAVAEE, save_debian_environments
from builders.models import BuildEnvironment, BuildRun, BuildState
from tests.builders.conftest import World
from tests.builders.test_pipeline_e2e import log_of, wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.base_images import cache_root
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.fixtures.run_image import ImageRunner

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = "/api/v1/workspaces/acme/projects/shop/"


@pytest.fixture(scope="session")
def local_base_images(registry: Registry) -> tuple[str, str]:
    """The JRE 17 and Tomcat 10 bases made from this machine's packages, in the test registry."""
    with RegistryClient(registry.host, scheme="http", allowed_networks=["127.0.0.0/8"]) as client:
        java, tomcat = push_local_bases(client, cache_root() / "local-bases")
    return (
        f"{registry.host}/{java.repository}:{java.tag}",
        f"{registry.host}/{tomcat.repository}:{tomcat.tag}",
    )


@pytest.fixture
def offline(pipeline: World, local_base_images: tuple[str, str]) -> Any:
    save_debian_environments(*local_base_images)
    # Nothing listens on these ports: Docker Hub bases go to the mirror, the others to the proxy.
    dead_mirror, dead_proxy = f"127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    # gcr.io stands for itself as a closed loopback port, so not even a DNS query leaves here.
    distroless = BuildEnvironment.objects.get(name="binary-distroless-static")
    distroless.base_image = f"{dead_mirror}/distroless/static-debian12"
    distroless.save()
    with override_settings(B2I_REGISTRY_PROXY=dead_proxy, B2I_REGISTRY_MIRROR=dead_mirror):
        yield pipeline


def upload(world: World, path: Path, kind: str) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = world.client("olga").post(
            PROJECT + "artifacts/", {"file": handle, "kind": kind}, format="multipart"
        )
    assert response.status_code in (200, 201), response.json()
    return dict(response.json())


def settled_environments(world: World, kind: str, artifact: str) -> dict[str, Any]:
    """Ask as the wizard does until no base is still being checked."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        params = {"kind": kind, "artifact": artifact, "registry_secret": "local"}
        answer = world.client("olga").get(PROJECT + "buildenvironments/", params).json()
        if not answer["checking"]:
            return dict(answer)
        time.sleep(0.2)
    raise AssertionError(f"still checking after 60 s: {answer}")


def create_on(world: World, name: str, kind: str, artifact: str, environment: str) -> BuildRun:
    response = world.client("olga").post(
        PROJECT + "imagebuilders/",
        {
            "name": name, "artifact_kind": kind, "artifact_id": artifact,
            "environment": environment, "image_name": f"offline/{name}",
            "registry_secret": "local",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return BuildRun.objects.get(builder__name=name, number=1)


def build_preselected(
    world: World, worker: CeleryWorker, path: Path, kind: str, name: str
) -> tuple[str, BuildRun]:
    artifact = upload(world, path, kind)["id"]
    answer = settled_environments(world, kind, artifact)
    chosen = answer["recommended"]
    states = {env["name"]: env["availability"]["state"] for env in answer["results"]}
    assert states[chosen] == "available", answer
    run = wait_for_run(
        create_on(world, name, kind, artifact, chosen),
        (BuildState.SUCCESSFUL, BuildState.FAILED),
        worker,
        120,
    )
    assert run.state == BuildState.SUCCESSFUL, log_of(run)
    return chosen, run


def test_offline_the_sample_jar_war_and_binary_build_on_the_preselected_local_bases(
    offline: World,
    celery_worker: CeleryWorker,
    image_runner: ImageRunner,
    registry: Registry,
    tmp_path: Path,
) -> None:
    # KubeSphere's sample is named java11 but holds Java 8 bytecode (javac --release 8).
    jar = artifacts.build_http_jar(
        tmp_path, "hello offline", name="b2i-jar-java11.jar", java_release=8
    )
    chosen, run = build_preselected(offline, celery_worker, jar, "jar", "sample-jar")
    assert chosen == JAVA
    image = image_runner.pull(run.image_reference)
    port = free_port()
    running = image_runner.start(image, env={"PORT": str(port)})
    assert running.wait_for_http(f"http://127.0.0.1:{port}/", timeout=90).text == "hello offline\n"

    war = artifacts.build_war(tmp_path, "hello javax", name="legacy.war", namespace="javax")
    chosen, run = build_preselected(offline, celery_worker, war, "war", "javax-war")
    assert chosen == TOMCAT_JAVAEE  # Tomcat 10.1 migrates it to Jakarta EE when it starts
    image = image_runner.pull(run.image_reference)
    port = free_port()
    running = image_runner.start(image, env={"CATALINA_OPTS": f"-Dhttp.port={port}"})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/legacy/hello", timeout=120)
    assert (response.status_code, response.text) == (200, "hello javax\n"), running.log_tail()

    jakarta = artifacts.build_war(tmp_path, "hello jakarta", name="shop.war", namespace="jakarta")
    assert build_preselected(offline, celery_worker, jakarta, "war", "jakarta-war")[0] == TOMCAT

    binary = artifacts.build_static_binary(tmp_path, "hello static")
    chosen, _ = build_preselected(offline, celery_worker, binary, "binary", "static-binary")
    assert chosen == "busybox-test"  # the local busybox base, not distroless from gcr.io


def test_offline_the_environments_make_run_seeds_are_the_ones_preselected(
    offline: World,
    celery_worker: CeleryWorker,
    image_runner: ImageRunner,
    registry: Registry,
    tmp_path: Path,
) -> None:
    """As `make run` seeds them (its two commands, not the test's own environments): the
    KubeSphere sample JAR lands on local-java-17 and answers, a static binary on demo-busybox."""
    BuildEnvironment.objects.filter(name__in=[JAVA, TOMCAT, TOMCAT_JAVAEE]).delete()
    BuildEnvironment.objects.filter(name="busybox-test").update(enabled=False)
    with override_settings(B2I_ALLOWED_REGISTRY_NETWORKS=["127.0.0.0/8"]):
        call_command("seed_demo_base", registry=registry.host)
        call_command(
            "seed_local_bases", registry=registry.host, cache_dir=cache_root() / "local-bases"
        )
    jar = artifacts.build_http_jar(
        tmp_path, "hello make run", name="b2i-jar-java11.jar", java_release=8
    )
    chosen, run = build_preselected(offline, celery_worker, jar, "jar", "seeded-jar")
    assert chosen == "local-java-17"
    port = free_port()
    running = image_runner.start(image_runner.pull(run.image_reference), env={"PORT": str(port)})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/", timeout=90)
    assert response.text == "hello make run\n", running.log_tail()

    binary = artifacts.build_static_binary(tmp_path, "hello seeded")
    chosen, _ = build_preselected(offline, celery_worker, binary, "binary", "seeded-binary")
    assert chosen == "demo-busybox"


def test_offline_docker_hub_bases_are_unavailable_with_a_message_for_the_reader(
    offline: World, tmp_path: Path
) -> None:
    jar = upload(offline, artifacts.build_http_jar(tmp_path, "x", java_release=8), "jar")["id"]
    answer = settled_environments(offline, "jar", jar)
    java8 = next(env for env in answer["results"] if env["name"] == "java-8")
    availability = java8["availability"]
    assert availability["state"] == "unavailable"
    assert availability["code"] == "registry:unreachable", availability
    assert availability["base_image"].startswith("127.0.0.1:")  # checked through the mirror
    assert "ask your platform admin" in availability["message"]
    assert "B2I_REGISTRY_MIRROR" not in availability["message"]  # olga cannot change it
    assert "B2I_REGISTRY_MIRROR" not in availability["reason"]

    offline.users["alice"].is_superuser = True
    offline.users["alice"].save()
    admin_view = offline.client("alice").get(PROJECT + "buildenvironments/", {"kind": "jar"}).json()
    message = next(e for e in admin_view["results"] if e["name"] == "java-8")["availability"][
        "message"
    ]
    assert "B2I_REGISTRY_MIRROR" in message and "B2I_REGISTRY_PROXY" in message


def test_create_on_a_base_known_unreachable_is_refused_with_409(
    offline: World, tmp_path: Path
) -> None:
    jar = upload(offline, artifacts.build_http_jar(tmp_path, "x", java_release=8), "jar")["id"]
    settled_environments(offline, "jar", jar)  # the checks have run: java-8 is known down
    response = offline.client("olga").post(
        PROJECT + "imagebuilders/",
        {
            "name": "doomed", "artifact_kind": "jar", "artifact_id": jar, "environment": "java-8",
            "image_name": "offline/doomed", "registry_secret": "local",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "environment:base-unavailable"
    assert not BuildRun.objects.filter(builder__name="doomed").exists()
