"""The builder list answers each builder exactly as its detail does: the list reads plain values
(builders/api/builder_rows.py) for speed, the detail goes through BuilderSerializer, and the
two must never drift apart - for an operator (trigger token and URL) and a viewer (neither)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from builders.models import BuildRun
from tests.builders.conftest import World, make_artifact, make_builder

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"


def varied_builders(world: World, busybox: Path) -> None:
    """Builders covering every shape a row takes: a token, no artifact, no run, each state."""
    artifact = make_artifact(world.project, busybox)
    artifact.uploaded_by = world.users["olga"]
    artifact.save()
    tokened = make_builder(
        world,
        artifact,
        "tokened",
        alias="Shop",
        description="with a token",
        created_by=world.users["olga"],
    )
    tokened.trigger_token = "Secret42Secret42Secret42"
    tokened.environment_parameters = {"JAVA_OPTS": "-Xmx1g"}
    tokened.save()
    started = timezone.now() - timedelta(minutes=3)
    BuildRun.objects.create(builder=tokened, number=1, tag="v1", state="failed")
    BuildRun.objects.create(
        builder=tokened, number=2, tag="v2", state="successful",
        started_at=started, finished_at=started + timedelta(seconds=61.25),
    )  # fmt: skip
    running = make_builder(world, artifact, "running")
    BuildRun.objects.create(builder=running, number=1, tag="latest", state="running",
                            started_at=started)  # fmt: skip
    bare = make_builder(world, artifact, "bare")
    bare.artifact = None
    bare.save()
    BuildRun.objects.create(builder=bare, number=1, tag="latest", state="cancelled")
    make_builder(world, artifact, "never-run")


@pytest.mark.parametrize("persona", ["olga", "victor"])
def test_every_listed_builder_equals_its_detail(
    world: World, busybox: Path, media_root: Path, persona: str
) -> None:
    varied_builders(world, busybox)
    client = world.client(persona)
    listed = client.get(BUILDERS, {"limit": 200}).json()["results"]
    assert sorted(row["name"] for row in listed) == ["bare", "never-run", "running", "tokened"]
    for row in listed:
        detail = client.get(f"{BUILDERS}{row['name']}/").json()
        assert row == detail, row["name"]
    tokened = next(row for row in listed if row["name"] == "tokened")
    assert tokened["has_trigger_token"] is True
    if persona == "olga":
        assert tokened["trigger_token"] == "Secret42Secret42Secret42"
        assert tokened["trigger_url"].endswith(BUILDERS + "tokened/trigger/")
    else:
        assert "trigger_token" not in tokened and tokened["trigger_url"] is None
    assert tokened["latest_run"]["duration"] == 61.25
    assert {row["name"]: row["status"] for row in listed} == {
        "tokened": "successful", "running": "building", "bare": "cancelled",
        "never-run": "not-run",
    }  # fmt: skip
