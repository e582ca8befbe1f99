"""Workspace quotas: concurrent builds wait for a slot (a real Celery worker with two
processes), artifact storage and builder count answer 409 naming the limit and create nothing;
limits are read by members and changed by platform admins only (API and admin)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from b2i_console.redis_options import channel_layers
from builders import builder_services, quotas, services
from builders.models import (
    Artifact,
    BuildLogLine,
    BuildRun,
    BuildState,
    ImageBuilder,
    WorkspaceQuota,
)
from projects.models import Workspace
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.test_pipeline_e2e import wait_for_run
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at
from tests.fixtures.redis_server import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_API = "/api/v1/workspaces/acme/projects/shop/"
QUOTA_API = "/api/v1/workspaces/acme/quota/"


def set_quota(**limits: Any) -> WorkspaceQuota:
    return quotas.set_workspace_quota(Workspace.objects.get(name="acme").pk, limits)


def admin_client() -> APIClient:
    admin = User.objects.create_superuser("root", password="x")
    client = APIClient()
    client.force_authenticate(admin)
    return client


def wait_until(condition: Any, timeout: float, what: str, worker: CeleryWorker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.log_tail()}")
        time.sleep(0.1)


# --- concurrent builds with a real worker ----------------------------------------------------


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    path = tmp_path / "gate"
    path.mkdir()
    return path


@pytest.fixture
def gated_worker(
    tmp_path: Path, gate: Path, media_root: Path, settings: Any
) -> Iterator[CeleryWorker]:
    """A worker with two processes on a Redis of its own (no other test's worker takes these
    builds), building with the gated executor on the test's media root."""
    (tmp_path / "redis-data").mkdir()
    redis = RedisServer(tmp_path / "redis-data").start()
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    before = point_celery_at(redis.url)
    env = {
        name: os.environ[name] for name in ("SECRET_KEY", "B2I_SECRET_KEYS") if name in os.environ
    }
    env |= {
        "B2I_BUILD_EXECUTOR": "tests.builders.executors.GatedExecutor",
        "B2I_TEST_GATE_DIR": str(gate),
        "MEDIA_ROOT": str(media_root),
    }
    worker = CeleryWorker(redis.url, tmp_path, env, concurrency=2).start()
    yield worker
    worker.stop()
    point_celery_at(before)
    redis.stop()


def test_a_build_over_the_limit_waits_for_a_slot_and_starts_when_one_frees(
    world: World, gated_worker: CeleryWorker, gate: Path, busybox: Path
) -> None:
    set_quota(max_concurrent_builds=1)
    artifact = make_artifact(world.project, busybox)
    first_builder = make_builder(world, artifact, name="first")
    second_builder = make_builder(world, artifact, name="second")

    first = services.do_start_run(first_builder)
    wait_until(lambda: (gate / f"started-{first.pk}").exists(), 60, "run 1", gated_worker)
    second = services.do_start_run(second_builder)
    # The worker's second process takes the message, finds the workspace's one slot taken and
    # leaves the run queued, saying why.
    wait_until(
        lambda: BuildRun.objects.filter(
            pk=second.pk, waiting_for_slot_since__isnull=False
        ).exists(),
        60,
        "run 2 to wait for a slot",
        gated_worker,
    )
    second.refresh_from_db()
    assert second.state == BuildState.PENDING and second.started_at is None
    assert not (gate / f"started-{second.pk}").exists()
    shown = world.client("olga").get(f"{PROJECT_API}imagebuilders/second/runs/1/").json()
    assert shown["state"] == "pending"
    assert shown["waiting_for_slot"]["used"] == 1 and shown["waiting_for_slot"]["limit"] == 1
    listed = world.client("olga").get(f"{PROJECT_API}imagebuilders/second/runs/").json()
    assert listed["results"][0]["waiting_for_slot"]["limit"] == 1
    lines = BuildLogLine.objects.filter(run=second).values_list("text", flat=True)
    assert any(line.startswith("Waiting for a build slot: 1 of 1 builds") for line in lines)
    usage = world.client("olga").get(QUOTA_API).json()
    assert usage["concurrent_builds"] == {"limit": 1, "used": 1, "waiting": 1}

    (gate / f"open-{first.pk}").touch()
    first = wait_for_run(first, ("successful", "failed"), gated_worker)
    assert first.state == BuildState.SUCCESSFUL, first.error_message
    # The slot it freed goes to the waiting run, without any sweep.
    wait_until(lambda: (gate / f"started-{second.pk}").exists(), 60, "run 2", gated_worker)
    second.refresh_from_db()
    assert second.state == BuildState.RUNNING and second.waiting_for_slot_since is None
    assert first.finished_at is not None and second.started_at is not None
    assert second.started_at >= first.finished_at
    (gate / f"open-{second.pk}").touch()
    second = wait_for_run(second, ("successful", "failed"), gated_worker)
    assert second.state == BuildState.SUCCESSFUL, second.error_message
    shown = world.client("olga").get(f"{PROJECT_API}imagebuilders/second/runs/1/").json()
    assert shown["waiting_for_slot"] is None


def test_claims_racing_in_two_connections_take_one_slot(
    world: World, busybox: Path, media_root: Path, enqueued: list[int]
) -> None:
    """Two workers claim runs of one workspace at the same moment: the quota row's lock lets
    exactly one start, whatever the timing."""
    set_quota(max_concurrent_builds=1)
    artifact = make_artifact(world.project, busybox)
    runs = [
        services.do_start_run(make_builder(world, artifact, name=f"b{index}")) for index in range(4)
    ]
    barrier = threading.Barrier(len(runs))
    claims: dict[int, bool] = {}

    def claim(run: BuildRun) -> None:
        try:
            barrier.wait(timeout=30)
            claims[run.pk] = services.do_claim_run(run.pk, worker_host="race:1").claimed
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claims.values()) == [False, False, False, True]
    assert BuildRun.objects.filter(state=BuildState.RUNNING).count() == 1
    assert BuildRun.objects.filter(waiting_for_slot_since__isnull=False).count() == 3


def test_the_release_sweep_starts_waiting_runs_once_a_limit_is_raised(
    world: World, busybox: Path, media_root: Path, enqueued: list[int], monkeypatch: Any
) -> None:
    sent: list[int] = []
    monkeypatch.setattr(
        "builders.build_queue.send_run", lambda run_id, task_id=None: sent.append(run_id)
    )
    monkeypatch.setattr("builders.build_queue.runs_held_by_broker", lambda: set())
    set_quota(max_concurrent_builds=1)
    artifact = make_artifact(world.project, busybox)
    a, b, c = (services.do_start_run(make_builder(world, artifact, name=name)) for name in "abc")
    assert services.do_claim_run(a.pk, worker_host="w:1").claimed
    assert not services.do_claim_run(b.pk, worker_host="w:1").claimed
    assert not services.do_claim_run(c.pk, worker_host="w:1").claimed
    assert quotas.do_release_waiting_runs() == []  # no slot free: nothing sent
    # The pending sweep leaves runs waiting for a slot alone (not lost messages).
    BuildRun.objects.update(created_at=BuildRun.objects.get(pk=a.pk).created_at.replace(year=2020))
    assert services.do_requeue_lost_pending_runs()["requeued"] == []
    # A platform admin raises the limit: the oldest waiting run is queued at once.
    WorkspaceQuota.objects.filter(workspace__name="acme").update(max_concurrent_builds=2)
    assert quotas.do_release_waiting_runs() == [b.pk]
    assert sent == [b.pk]
    sent.clear()
    set_quota(max_concurrent_builds=None)  # no limit: every waiting run goes (after commit)
    assert sorted(sent) == [b.pk, c.pk]


# --- storage and builder count ---------------------------------------------------------------


def test_a_builder_past_the_quota_answers_409_and_creates_nothing(
    world: World, busybox: Path, media_root: Path, enqueued: list[int]
) -> None:
    make_builder(world, make_artifact(world.project, busybox), name="one")
    set_quota(max_builders=1)
    artifacts_before = Artifact.objects.count()
    with busybox.open("rb") as upload:
        answer = world.client("olga").post(
            f"{PROJECT_API}imagebuilders/",
            {
                "name": "two",
                "artifact_kind": "binary",
                "environment": "binary-debian",
                "image_name": "demo/two",
                "registry_secret": "local",
                "file": upload,
            },
            format="multipart",
        )
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "quota:builders"
    assert (body["limit"], body["used"]) == (1, 1)
    assert "quota allows 1" in body["message"]
    assert ImageBuilder.objects.filter(name="two").count() == 0
    assert Artifact.objects.count() == artifacts_before
    assert BuildRun.objects.count() == 0


def test_the_builder_check_inside_the_transaction_refuses_too(
    world: World, busybox: Path, media_root: Path, enqueued: list[int]
) -> None:
    """Past the early check (a concurrent create got there first): the locked check refuses."""
    artifact = make_artifact(world.project, busybox)
    make_builder(world, artifact, name="one")
    set_quota(max_builders=1)
    from b2i_console.errors import UserError
    from builders.models import BuildEnvironment

    fields = {
        "name": "two",
        "artifact_kind": "binary",
        "environment": BuildEnvironment.objects.get(name="binary-debian"),
        "image_name": "demo/two",
        "registry_secret": {"name": "local"},
    }
    with pytest.raises(UserError) as refused:
        builder_services.check_create_builder(
            world.project, world.users["olga"], artifact=artifact, fields=fields
        )
    assert refused.value.code == "quota:builders" and refused.value.status == 409
    assert not ImageBuilder.objects.filter(name="two").exists()


def test_an_artifact_past_the_storage_quota_answers_409_and_stores_nothing(
    world: World, busybox: Path, media_root: Path, tmp_path: Path
) -> None:
    size = busybox.stat().st_size
    set_quota(max_artifact_bytes=size + 10)
    make_artifact(world.project, busybox)  # fits
    other = tmp_path / "other-busybox"
    other.write_bytes(busybox.read_bytes() + b"\0")  # other bytes: a new artifact
    files_before = sorted(p for p in media_root.rglob("*") if p.is_file())
    with other.open("rb") as upload:
        answer = world.client("olga").post(
            f"{PROJECT_API}artifacts/", {"file": upload}, format="multipart"
        )
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "quota:artifact-storage"
    assert (body["limit"], body["used"]) == (size + 10, size)
    assert Artifact.objects.count() == 1
    assert sorted(p for p in media_root.rglob("*") if p.is_file()) == files_before
    # A resumable upload is refused before a byte is sent.
    answer = world.client("olga").post(
        f"{PROJECT_API}uploads/", {"file_name": "x", "size": size}, format="json"
    )
    assert answer.status_code == 409 and answer.json()["code"] == "quota:artifact-storage"
    # The same bytes again reuse the stored artifact: no new storage, no refusal.
    with busybox.open("rb") as upload:
        again = world.client("olga").post(
            f"{PROJECT_API}artifacts/", {"file": upload}, format="multipart"
        )
    assert again.status_code == 200, again.content


def test_the_storage_check_when_storing_refuses_and_removes_the_file(
    world: World, busybox: Path, media_root: Path, monkeypatch: Any
) -> None:
    """The early check passed (e.g. a concurrent upload took the room meanwhile): the locked
    check in the storing transaction refuses, and the file saved for it is removed."""
    set_quota(max_artifact_bytes=10)
    monkeypatch.setattr(quotas, "check_storage_quota_early", lambda workspace_id, adding: None)
    from b2i_console.errors import UserError

    with pytest.raises(UserError) as refused:
        make_artifact(world.project, busybox)
    assert refused.value.code == "quota:artifact-storage"
    assert Artifact.objects.count() == 0
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


# --- who reads and changes the limits --------------------------------------------------------


def test_members_read_limits_and_usage_only_platform_admins_change_them(world: World) -> None:
    shown = world.client("olga").get(QUOTA_API)
    assert shown.status_code == 200
    assert shown.json()["builders"] == {"limit": None, "used": 0}
    assert shown.json()["may_change"] is False
    refused = world.client("olga").patch(QUOTA_API, {"max_builders": 5}, format="json")
    assert refused.status_code == 403
    assert world.client("anonymous").get(QUOTA_API).status_code in (401, 403)
    outsider = User.objects.create_user("mallory")
    client = APIClient()
    client.force_authenticate(outsider)
    assert client.get(QUOTA_API).status_code == 404
    admin = admin_client()
    changed = admin.patch(QUOTA_API, {"max_builders": 5, "max_concurrent_builds": 2}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["builders"]["limit"] == 5
    assert changed.json()["concurrent_builds"]["limit"] == 2
    assert world.client("olga").get(QUOTA_API).json()["builders"]["limit"] == 5
    bad = admin.patch(QUOTA_API, {"max_concurrent_builds": 0}, format="json")
    assert bad.status_code == 400
    replaced = admin.put(QUOTA_API, {"max_builders": 7}, format="json")
    assert replaced.json()["concurrent_builds"]["limit"] is None  # PUT: absent is no limit
    assert replaced.json()["builders"]["limit"] == 7


def test_platform_admins_set_quotas_in_the_admin(world: World, client: Any) -> None:
    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    acme = Workspace.objects.get(name="acme")
    answer = client.post(
        "/admin/builders/workspacequota/add/",
        {
            "workspace": acme.pk,
            "max_concurrent_builds": "3",
            "max_artifact_bytes": "1000000",
            "max_builders": "",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    quota = WorkspaceQuota.objects.get(workspace=acme)
    assert (quota.max_concurrent_builds, quota.max_artifact_bytes, quota.max_builders) == (
        3,
        1000000,
        None,
    )
    listing = client.get("/admin/builders/workspacequota/")
    assert listing.status_code == 200 and b"acme" in listing.content
