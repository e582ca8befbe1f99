"""/metrics: bearer token protection and build metrics computed from the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from builders.models import BuildRun, BuildState
from tests.builders.conftest import World, make_artifact, make_builder

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.B2I_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return Client().get("/metrics", headers=headers)


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def add_run(
    builder: Any, state: str, queued_for: float | None, built_for: float | None
) -> BuildRun:
    """A run queued an hour ago, started `queued_for` s later, finished `built_for` s after."""
    number = builder.next_run_number
    builder.next_run_number += 1
    builder.save()
    run = BuildRun.objects.create(builder=builder, number=number, tag="latest", state=state)
    created = timezone.now() - timedelta(hours=1)
    started = None if queued_for is None else created + timedelta(seconds=queued_for)
    finished = (
        None if started is None or built_for is None else started + timedelta(seconds=built_for)
    )
    # created_at is auto_now_add: set the times afterwards, as a real run's would be.
    BuildRun.objects.filter(pk=run.pk).update(
        created_at=created, started_at=started, finished_at=finished
    )
    return run


def test_without_a_configured_token_metrics_do_not_exist(db: None, settings: Any) -> None:
    settings.B2I_METRICS_TOKEN = ""
    assert scrape(None).status_code == 404
    assert scrape("").status_code == 404


def test_a_missing_or_wrong_token_is_refused(db: None, metrics_token: str) -> None:
    for token in (None, "wrong", TOKEN + "x"):
        response = scrape(token)
        assert response.status_code == 401, token
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"b2i_build" not in response.content
    response = Client().get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


def test_runs_by_state_gauges_and_histograms_come_from_the_database(
    world: World, media_root: Path, busybox: Path, metrics_token: str
) -> None:
    builder = make_builder(world, make_artifact(world.project, busybox))
    add_run(builder, BuildState.SUCCESSFUL, queued_for=2, built_for=10)
    add_run(builder, BuildState.SUCCESSFUL, queued_for=20, built_for=100)
    add_run(builder, BuildState.FAILED, queued_for=1, built_for=3)
    add_run(builder, BuildState.RUNNING, queued_for=4, built_for=None)
    add_run(builder, BuildState.PENDING, queued_for=None, built_for=None)
    add_run(builder, BuildState.PENDING, queued_for=None, built_for=None)

    response = scrape(TOKEN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())

    def runs(state: str) -> float:
        labels = (("environment", "binary-debian"), ("kind", "binary"), ("state", state))
        return found[("b2i_build_runs", labels)]

    assert (runs("successful"), runs("failed"), runs("pending")) == (2, 1, 2)
    assert found[("b2i_builds_pending", ())] == 2
    assert found[("b2i_builds_running", ())] == 1
    env = (("environment", "binary-debian"),)
    assert found[("b2i_build_duration_seconds_count", env)] == 3
    assert found[("b2i_build_duration_seconds_sum", env)] == pytest.approx(113)
    assert found[("b2i_build_duration_seconds_bucket", (*env, ("le", "5.0")))] == 1
    assert found[("b2i_build_duration_seconds_bucket", (*env, ("le", "15.0")))] == 2
    assert found[("b2i_build_duration_seconds_bucket", (*env, ("le", "+Inf")))] == 3
    # Queue wait counts every started run, the running one too.
    assert found[("b2i_build_queue_wait_seconds_count", env)] == 4
    assert found[("b2i_build_queue_wait_seconds_sum", env)] == pytest.approx(27)
    assert found[("b2i_build_queue_wait_seconds_bucket", (*env, ("le", "2.5")))] == 2
