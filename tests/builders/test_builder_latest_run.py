"""The builders list and detail carry the latest run's tag, start, duration (list columns)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from tests.builders.conftest import World

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"


def make_builder(world: World, name: str) -> ImageBuilder:
    return ImageBuilder.objects.create(
        project=world.project,
        name=name,
        artifact_kind="jar",
        environment=next(e for e in BuildEnvironment.objects.all() if "jar" in e.artifact_kinds),
        image_name=f"demo/{name}",
        registry_secret=world.secret,
    )


def test_latest_run_has_tag_start_and_duration_in_seconds(world: World) -> None:
    builder = make_builder(world, "shop")
    started = timezone.now() - timedelta(minutes=5)
    BuildRun.objects.create(builder=builder, number=1, tag="v1", state="failed")
    BuildRun.objects.create(
        builder=builder,
        number=2,
        tag="v2",
        state="successful",
        started_at=started,
        finished_at=started + timedelta(seconds=83.5),
    )
    listed = world.client("victor").get(BUILDERS).json()["results"][0]["latest_run"]
    assert listed["number"] == 2 and listed["tag"] == "v2" and listed["state"] == "successful"
    assert listed["duration"] == 83.5
    assert listed["started_at"].startswith(started.strftime("%Y-%m-%dT%H:%M:%S"))
    assert listed["finished_at"] and listed["created_at"]
    detail = world.client("victor").get(f"{BUILDERS}shop/").json()["latest_run"]
    assert detail == listed


def test_a_run_not_started_yet_has_no_start_or_duration(world: World) -> None:
    builder = make_builder(world, "queued")
    BuildRun.objects.create(builder=builder, number=1, tag="latest", state="pending")
    latest = world.client("olga").get(f"{BUILDERS}queued/").json()["latest_run"]
    assert latest["state"] == "pending" and latest["tag"] == "latest"
    assert latest["started_at"] is None and latest["duration"] is None


def test_a_builder_never_run_has_no_latest_run(world: World) -> None:
    make_builder(world, "idle")
    assert world.client("olga").get(f"{BUILDERS}idle/").json()["latest_run"] is None
