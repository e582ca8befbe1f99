"""Artifacts and archived logs on S3-compatible storage (a real S3 API server: moto, over HTTP)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from builders import runner, services
from builders.log_archive import archive_old_logs
from builders.models import Artifact, BuildRun, BuildState
from tests.builders.conftest import World, make_builder
from tests.builders.executors import ScriptedExecutor

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "/api/v1/workspaces/acme/projects/shop/artifacts/"
RUN = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/runs/1/"


def test_upload_lands_in_the_bucket_once_and_builds_from_it(
    world: World, s3_bucket: Any, busybox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    for _ in range(2):
        with busybox.open("rb") as handle:
            world.client("olga").post(ARTIFACTS, {"file": handle}, format="multipart")
    artifact = Artifact.objects.get()
    stored = s3_bucket.list_objects_v2(Bucket="artifacts")["Contents"]
    assert [item["Key"] for item in stored] == [artifact.storage_key]
    body = s3_bucket.get_object(Bucket="artifacts", Key=artifact.storage_key)["Body"].read()
    assert body == busybox.read_bytes()

    run = services.do_start_run(make_builder(world, artifact))
    executor = ScriptedExecutor()
    assert runner.run_build(run.pk, executor=executor) == BuildState.SUCCESSFUL
    # S3 has no local path: the runner streamed a copy to the worker's disk for the engine.
    assert executor.jobs[0].artifact_path.name == "artifact"
    assert executor.jobs[0].artifact_sha256 == artifact.sha256

    lines = world.client("olga").get(RUN + "log/").json()["lines"]
    BuildRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=40))
    assert archive_old_logs(days=30) == 1
    run.refresh_from_db()
    assert s3_bucket.head_object(Bucket="artifacts", Key=run.log_archive_key)
    assert world.client("olga").get(RUN + "log/").json()["lines"] == lines
