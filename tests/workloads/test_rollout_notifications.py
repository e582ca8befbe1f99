"""Rollouts tell notifications (workloads.signals.rollout_finished): a service rolled after a
successful build, or failing to, records a delivery for each channel and member who asked for
rollouts — against the test API server through the real client."""

from __future__ import annotations

from typing import Any

import pytest

from notifications import services as notify
from notifications.models import Delivery, EmailSubscription, WebhookChannel
from tests.workloads.test_services import SPEC
from workloads.client import KubeClient
from workloads.services import check_create_service, on_build_succeeded

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    queued: list[int] = []
    monkeypatch.setattr(notify, "send_to_worker", lambda pk, countdown=0: queued.append(pk))
    return queued


@pytest.fixture
def listeners(world: Any) -> None:
    channel = WebhookChannel(project=world.project, name="ops", kind="slack", build_events="none")
    channel.rollout_events = True
    notify.save_channel(channel, "http://127.0.0.1:9/hook")
    quiet = WebhookChannel(project=world.project, name="builds-only", kind="slack")
    notify.save_channel(quiet, "http://127.0.0.1:9/hook")
    for name, rollouts in (("olga", True), ("victor", False)):
        EmailSubscription.objects.create(
            project=world.project, user=world.users[name], rollout_events=rollouts
        )


def targets(event: str) -> list[str]:
    rows = Delivery.objects.filter(event=event).select_related("channel", "subscription__user")
    return sorted(
        d.channel.name if d.channel else d.subscription.user.username  # type: ignore[union-attr]
        for d in rows
    )


def test_a_rollout_after_a_build_tells_those_who_asked(
    world: Any, kube_apiserver: Any, listeners: None, sent: list[int]
) -> None:
    service = check_create_service(world.project, SPEC, world.builder, None)
    run = world.run(1)
    assert on_build_succeeded(run) == [service]
    assert targets("rollout.succeeded") == ["olga", "ops"]
    facts = Delivery.objects.filter(event="rollout.succeeded").first().facts  # type: ignore[union-attr]
    assert (facts["service"], facts["builder"], facts["run"]) == ("shop", "shop", 1)
    assert facts["image"].endswith(f"@{run.digest}")


def test_a_failed_rollout_and_a_rollback_are_told_too(
    world: Any, kube_apiserver: Any, listeners: None, sent: list[int]
) -> None:
    service = check_create_service(world.project, SPEC, world.builder, None)
    first = world.run(1)
    on_build_succeeded(first)
    kube = KubeClient.connect(kube_apiserver.kubeconfig())
    try:  # a Secret of another type under the pull secret's name: the next apply is refused
        kube.delete("Secret", "shop", "local")
        opaque = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {}}
        kube.apply({**opaque, "metadata": {"name": "local", "namespace": "shop"}})
    finally:
        kube.close()
    world.builder.update_workloads = True
    world.builder.save()
    assert on_build_succeeded(world.run(2)) == []
    [failed] = Delivery.objects.filter(event="rollout.failed", channel__name="ops")
    assert failed.facts["run"] == 2 and "immutable" in failed.facts["error"]
    assert targets("rollout.failed") == ["olga", "ops"]
    service.refresh_from_db()
    assert service.deployed_run == first
