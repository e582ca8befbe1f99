"""Retention on real rows and files: each builder keeps its newest N finished runs with their
log lines and archived logs; queued, running and deployed runs stay; artifacts no run or
builder names go after the grace period, with their stored files (counts before and after)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from builders import runner, services, tasks
from builders.log_archive import archive_run_log
from builders.models import Artifact, BuildLogLine, BuildRun, BuildState, ImageBuilder
from builders.retention import apply_retention
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor
from workloads.models import Cluster, Service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def keep_three(settings: Any, media_root: Path, enqueued: list[int]) -> None:
    settings.B2I_RUN_RETENTION = 3
    settings.B2I_ARTIFACT_GRACE_HOURS = 24


def build(builder: ImageBuilder, **kwargs: Any) -> BuildRun:
    """Start a run and build it to the end in this process (three log lines and more)."""
    run = services.do_start_run(builder, **kwargs)
    assert runner.run_build(run.pk, executor=ScriptedExecutor(lines=3)) == "successful"
    run.refresh_from_db()
    return run


def numbers(builder: ImageBuilder) -> list[int]:
    return sorted(BuildRun.objects.filter(builder=builder).values_list("number", flat=True))


def stored_files(media_root: Path, prefix: str) -> list[str]:
    files = (media_root / prefix).rglob("*")
    return sorted(str(p.relative_to(media_root)) for p in files if p.is_file())


def test_each_builder_keeps_its_newest_finished_runs_and_their_logs(
    world: World, busybox: Path, media_root: Path
) -> None:
    builder = make_builder(world, make_artifact(world.project, busybox), name="many")
    runs = [build(builder) for _ in range(6)]
    for old in runs[:2]:  # the oldest logs were archived into storage
        assert archive_run_log(BuildRun.objects.select_related("builder").get(pk=old.pk))
    queued = services.do_start_run(builder)  # #7, Pending
    archived = stored_files(media_root, "build-logs")
    assert len(archived) == 2
    lines_before = BuildLogLine.objects.filter(run__builder=builder).count()
    kept_lines = BuildLogLine.objects.filter(run__number__in=[4, 5, 6, 7], run__builder=builder)
    kept_line_count = kept_lines.count()
    assert lines_before > kept_line_count > 0

    result = apply_retention()

    assert result.runs_deleted == 3
    assert numbers(builder) == [4, 5, 6, 7]
    assert BuildRun.objects.get(pk=queued.pk).state == BuildState.PENDING
    assert BuildLogLine.objects.filter(run__builder=builder).count() == kept_line_count
    assert stored_files(media_root, "build-logs") == []  # both archives belonged to #1, #2
    # Numbering goes on: the next run is #8; it supersedes #7, the fourth finished run now.
    assert apply_retention().runs_deleted == 0
    assert services.do_start_run(builder).number == 8
    assert apply_retention().runs_deleted == 1
    assert numbers(builder) == [5, 6, 7, 8]


def test_queued_and_running_runs_stay_and_a_builder_can_keep_fewer(
    world: World, busybox: Path
) -> None:
    builder = make_builder(world, make_artifact(world.project, busybox), name="busy", keep_runs=1)
    running = services.do_start_run(builder)
    assert services.do_claim_run(running.pk, worker_host="w:1").claimed  # #1 Running
    cancelled = [services.do_start_run(builder) for _ in range(3)]  # #2, #3 superseded; #4
    services.do_request_cancel(cancelled[-1])
    assert BuildRun.objects.filter(builder=builder).count() == 4

    assert apply_retention().runs_deleted == 2
    # The newest finished run (#4) and the running one (#1, though oldest) stay.
    assert numbers(builder) == [1, 4]
    assert BuildRun.objects.get(pk=running.pk).state == BuildState.RUNNING


def test_a_run_a_service_deploys_is_kept_with_its_artifact(
    world: World, busybox: Path, tmp_path: Path
) -> None:
    first_artifact = make_artifact(world.project, busybox)
    builder = make_builder(world, first_artifact, name="served", keep_runs=1)
    deployed = build(builder)
    other = tmp_path / "newer-busybox"
    other.write_bytes(busybox.read_bytes() + b"\0")
    newer_artifact = make_artifact(world.project, other)
    build(builder, artifact=newer_artifact)
    build(builder, artifact=newer_artifact)
    Service.objects.create(
        project=world.project,
        cluster=Cluster.objects.create(in_cluster=True),
        name="web",
        builder=builder,
        deployed_run=deployed,
    )
    assert apply_retention().runs_deleted == 1  # #2 only: #1 is deployed, #3 the newest
    assert numbers(builder) == [1, 3]
    # #1 still names the first artifact: not even marked unreferenced.
    assert Artifact.objects.get(pk=first_artifact.pk).unreferenced_since is None


def test_unreferenced_artifacts_go_after_the_grace_period_with_their_files(
    world: World, busybox: Path, media_root: Path, tmp_path: Path
) -> None:
    used = make_artifact(world.project, busybox)
    builder = make_builder(world, used, name="keeper", keep_runs=1)
    old_bytes = tmp_path / "old-busybox"
    old_bytes.write_bytes(busybox.read_bytes() + b"old")
    old = make_artifact(world.project, old_bytes)
    build(builder, artifact=old)  # #1 built the old artifact ...
    build(builder, artifact=used)  # ... #2 the builder's current one: #1 goes, then "old" is free
    fresh_bytes = tmp_path / "fresh-busybox"
    fresh_bytes.write_bytes(busybox.read_bytes() + b"fresh")
    fresh = make_artifact(world.project, fresh_bytes)  # uploaded, not used yet
    assert Artifact.objects.count() == 3
    assert len(stored_files(media_root, "artifacts")) == 3

    first = apply_retention()
    assert (first.runs_deleted, first.artifacts_marked, first.artifacts_deleted) == (1, 2, 0)
    marked = set(
        Artifact.objects.filter(unreferenced_since__isnull=False).values_list("pk", flat=True)
    )
    assert marked == {old.pk, fresh.pk}

    # A day and more later: "fresh" got a builder meanwhile (its mark is cleared), "old" did not.
    day_ago = timezone.now() - timedelta(hours=django_settings.B2I_ARTIFACT_GRACE_HOURS, minutes=1)
    Artifact.objects.filter(pk__in=marked).update(unreferenced_since=day_ago)
    make_builder(world, fresh, name="later")
    second = tasks.apply_retention_task.apply().get()
    assert second == {"runs_deleted": 0, "artifacts_marked": 0, "artifacts_deleted": 1}
    assert set(Artifact.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert Artifact.objects.get(pk=fresh.pk).unreferenced_since is None
    assert len(stored_files(media_root, "artifacts")) == 2
    assert not (media_root / old.storage_key).exists()
    assert (media_root / used.storage_key).is_file()


def test_retention_runs_hourly_from_beat() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["apply-retention"]
    assert entry["task"] == "builders.tasks.apply_retention_task"
    assert entry["schedule"] == 3600.0


def test_no_run_is_deleted_while_an_app_cannot_say_which_runs_it_uses(
    world: World, busybox: Path
) -> None:
    from builders.signals import runs_in_use

    builder = make_builder(world, make_artifact(world.project, busybox), name="unsure", keep_runs=1)
    for _ in range(3):
        build(builder)

    def broken(sender: object, **kwargs: object) -> set[int]:
        raise RuntimeError("database of that app is away")

    runs_in_use.connect(broken, dispatch_uid="test-broken")
    try:
        assert apply_retention().runs_deleted == 0
        assert numbers(builder) == [1, 2, 3]
    finally:
        runs_in_use.disconnect(dispatch_uid="test-broken")
    assert apply_retention().runs_deleted == 2


def test_a_builder_sets_its_own_retention_through_the_api(world: World, busybox: Path) -> None:
    make_builder(world, make_artifact(world.project, busybox), name="tuned")
    url = "/api/v1/workspaces/acme/projects/shop/imagebuilders/tuned/"
    assert world.client("olga").get(url).json()["keep_runs"] is None  # B2I_RUN_RETENTION
    changed = world.client("olga").patch(url, {"keep_runs": 5}, format="json")
    assert changed.status_code == 200, changed.content
    assert ImageBuilder.objects.get(name="tuned").keep_runs == 5
    refused = world.client("olga").patch(url, {"keep_runs": 0}, format="json")
    assert refused.status_code == 400
    assert world.client("victor").patch(url, {"keep_runs": 9}, format="json").status_code == 403
    assert ImageBuilder.objects.get(name="tuned").keep_runs == 5
