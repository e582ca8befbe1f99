"""Run, the trigger and an edit refuse a base known unreachable with Create's 409, before a run
is queued (it would only fail after its wait); a base not known yet lets them through."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from builders.availability import UNAVAILABLE, environments_availability
from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from tests.builders.conftest import World, busybox_environment, make_artifact, make_builder
from tests.fixtures.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"
TOKEN = "Tr1ggerToken" * 2


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()  # availability and throttle counts live in the cache, beyond a test


def dead_environment(world: World) -> BuildEnvironment:
    """An environment on a closed loopback port, checked (for real) until known unreachable."""
    environment = busybox_environment(f"127.0.0.1:{free_port()}/base/busybox:1", name="dead")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        known = environments_availability([environment], world.project)["dead"]
        if known.state == UNAVAILABLE:
            return environment
        time.sleep(0.1)
    raise AssertionError("the closed port's base is still not known unreachable")


@pytest.fixture
def builder(world: World, media_root: Path, busybox: Path, enqueued: list[int]) -> ImageBuilder:
    built = make_builder(world, make_artifact(world.project, busybox))  # on binary-debian
    built.trigger_token = TOKEN
    built.save()
    return built


def refused(response: Any) -> bool:
    body = response.json()
    assert response.status_code == 409, body
    assert body["code"] == "environment:base-unavailable", body
    assert body["environment"] == "dead" and body["reason_code"] == "registry:unreachable"
    return True


def test_run_and_trigger_refuse_a_base_known_unreachable(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    builder.environment = dead_environment(world)
    builder.save()

    assert refused(world.client("olga").post(BUILDERS + "hello/run/", {}, format="json"))
    trigger = world.client("anonymous").post(
        BUILDERS + "hello/trigger/", {}, format="json", HTTP_X_B2I_TRIGGER_TOKEN=TOKEN
    )
    assert refused(trigger)
    assert "ask your platform admin" in trigger.json()["message"]  # a pipeline's reader
    assert not BuildRun.objects.filter(builder=builder).exists() and enqueued == []


def test_run_on_a_base_not_known_yet_is_queued(
    world: World, builder: ImageBuilder, enqueued: list[int]
) -> None:
    builder.environment = busybox_environment(f"127.0.0.1:{free_port()}/b/b:1", name="unknown")
    builder.save()
    response = world.client("olga").post(BUILDERS + "hello/run/", {}, format="json")
    assert response.status_code == 201, response.json()
    assert len(enqueued) == 1


def test_an_edit_onto_a_base_known_unreachable_is_refused(
    world: World, builder: ImageBuilder
) -> None:
    dead_environment(world)
    olga = world.client("olga")
    response = olga.patch(BUILDERS + "hello/", {"environment": "dead"}, format="json")
    assert refused(response)
    builder.refresh_from_db()
    assert builder.environment.name == "binary-debian"
    # An edit that leaves the environment alone is not the base's business.
    changed = olga.patch(BUILDERS + "hello/", {"description": "still here"}, format="json")
    assert changed.status_code == 200, changed.json()
