"""The installation's registry mirror: set by a platform admin in the admin, used by builds and
by the availability checks, and named in the build log when it served the base."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from builders.models import BuildEnvironment, BuildRun, BuildState, InstallationSettings
from builders.registry_mirror import effective_mirror
from tests.builders.conftest import World, busybox_environment
from tests.builders.test_offline_local_bases import PROJECT, create_on, upload
from tests.builders.test_pipeline_e2e import log_of, wait_for_run
from tests.fixtures import artifacts
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.registry import Registry


def test_the_admins_mirror_wins_over_the_setting(db: None, settings: object) -> None:
    with override_settings(B2I_REGISTRY_MIRROR="mirror.from.env:5000"):
        assert effective_mirror() == "mirror.from.env:5000"
        InstallationSettings(registry_mirror="harbor.example.test/dockerhub/").save()
        assert effective_mirror() == "harbor.example.test/dockerhub"
        InstallationSettings(registry_mirror="").save()  # the one row again, emptied
        assert effective_mirror() == "mirror.from.env:5000"
    assert InstallationSettings.objects.count() == 1


def test_platform_admins_set_the_mirror_in_the_admin(db: None) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.test", None))
    url = "/admin/builders/installationsettings/add/"
    refused = client.post(url, {"registry_mirror": "https://harbor.example.test"})
    assert refused.status_code == 200 and "no scheme" in refused.content.decode()
    saved = client.post(url, {"registry_mirror": "harbor.example.test:8443/hub"})
    assert saved.status_code == 302
    assert effective_mirror() == "harbor.example.test:8443/hub"
    assert client.get("/admin/builders/installationsettings/").status_code == 200
    assert client.get(url).status_code == 403  # one row only


@pytest.mark.django_db(transaction=True)
def test_the_build_log_names_the_mirror_that_served_the_base(
    pipeline: World, registry: Registry, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    # "base/busybox:1" names a Docker Hub image; the test registry mirrors it.
    busybox_environment("base/busybox:1", name="hub-busybox")
    InstallationSettings(registry_mirror=registry.host).save()
    artifact = upload(pipeline, artifacts.build_static_binary(tmp_path, "hi"), "binary")["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = pipeline.client("olga").get(PROJECT + "buildenvironments/", {"kind": "binary"})
        states = {env["name"]: env["availability"] for env in answer.json()["results"]}
        if states["hub-busybox"]["state"] != "checking":
            break
        time.sleep(0.2)
    assert states["hub-busybox"]["state"] == "available", states["hub-busybox"]
    assert states["hub-busybox"]["base_image"] == f"{registry.host}/base/busybox:1"

    run = create_on(pipeline, "mirrored", "binary", artifact, "hub-busybox")
    run = wait_for_run(run, (BuildState.SUCCESSFUL, BuildState.FAILED), celery_worker)
    assert run.state == BuildState.SUCCESSFUL, log_of(run)
    served = f"base/busybox:1 was served by the registry mirror {registry.host}"
    assert any(served in line for line in log_of(run)), log_of(run)
    assert BuildEnvironment.objects.get(name="hub-busybox").base_image == "base/busybox:1"
    assert BuildRun.objects.filter(builder__name="mirrored").count() == 1
