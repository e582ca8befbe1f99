"""The builder list ordered by latest build (the overview's "Recent builds")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from builders.models import BuildRun, ImageBuilder
from tests.builders.conftest import World, make_artifact, make_builder

BUILDERS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/"


def started_hours_ago(builder: ImageBuilder, hours: int, number: int = 1) -> None:
    run = BuildRun.objects.create(builder=builder, number=number, tag="latest", state="successful")
    moment = timezone.now() - timedelta(hours=hours)
    BuildRun.objects.filter(pk=run.pk).update(created_at=moment)


def test_recent_ordering_puts_the_latest_build_first(
    world: World, media_root: Path, busybox: Path
) -> None:
    artifact = make_artifact(world.project, busybox)
    old = make_builder(world, artifact, name="old")  # created first, built last
    middle = make_builder(world, artifact, name="middle")
    new = make_builder(world, artifact, name="new")  # created last, built long ago
    make_builder(world, artifact, name="idle")  # never built: counts from its creation, now
    started_hours_ago(new, 30)
    started_hours_ago(middle, 20)
    started_hours_ago(old, 40)
    started_hours_ago(old, 1, number=2)  # the latest run counts, not the first

    answer = world.client("olga").get(BUILDERS, {"ordering": "recent", "limit": 5})
    assert answer.status_code == 200, answer.json()
    assert [b["name"] for b in answer.json()["results"]] == ["idle", "old", "middle", "new"]
