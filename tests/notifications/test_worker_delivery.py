"""Notifications through the real path: a real Celery worker builds, fails, tells the members
by e-mail (a real aiosmtpd SMTP server) and by a signed webhook (a loopback receiver), retries
a busy receiver with backoff, and says "recovered" after the next success."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from builders import services as build_services
from builders.models import BuildEnvironment, BuildRun, BuildState
from notifications import services
from notifications.models import Delivery, EmailSubscription, EventKind
from tests.builders.conftest import make_artifact, make_builder, make_world
from tests.fixtures.base_images import BaseImage
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.smtp_server import SmtpServer
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.notifications.conftest import SECRET, World, give_addresses, make_channel


def wait_for_delivery(
    delivery: Delivery, states: tuple[str, ...], worker: CeleryWorker, timeout: float = 90
) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state in states:
            return delivery
        time.sleep(0.2)
    raise AssertionError(f"delivery is {delivery.state}; worker log:\n{worker.log_tail()}")


def wait_for_run(run: BuildRun, worker: CeleryWorker, timeout: float = 120) -> BuildRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run #{run.number} is {run.state}; worker log:\n{worker.log_tail()}")


def wait_for_deliveries(event: str, count: int, timeout: float = 60) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(Delivery.objects.filter(event=event))
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{count} {event} deliveries expected")


@pytest.mark.django_db(transaction=True)
def test_a_busy_receiver_is_retried_with_backoff_until_delivered(
    celery_worker: CeleryWorker, receiver: WebhookReceiver
) -> None:
    world = give_addresses(make_world("http://127.0.0.1:9"))
    receiver.answer(503, b"busy")
    receiver.answer(503, b"busy")
    make_channel(world, receiver.url())
    facts = {"event": "build.failed", "title": "Build failed", "workspace": "acme",
             "project": "shop", "subject": "hello #1", "error": "boom"}  # fmt: skip
    [delivery] = services.queue_event(world.project, EventKind.BUILD_FAILED, facts)
    delivery = wait_for_delivery(delivery, ("delivered", "failed"), celery_worker)
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 3, 200)
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    # B2I_NOTIFY_RETRY_DELAY=1 in tests: waits of about 1 s, then 2 s (exponential).
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps
    for request in requests:  # each attempt is signed afresh (its own timestamp), one delivery id
        digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-B2I-Signature"] == f"sha256={digest}"
        assert request.headers["X-B2I-Delivery"] == str(delivery.pk)


@pytest.mark.django_db(transaction=True)
def test_a_failed_build_mails_subscribers_and_signs_the_webhook_then_says_recovered(
    pipeline: World,
    celery_worker: CeleryWorker,
    smtp_server: SmtpServer,
    receiver: WebhookReceiver,
    busybox_base: BaseImage,
    busybox: Path,
    settings: Any,
) -> None:
    world = give_addresses(pipeline)
    repository = busybox_base.tagged.rsplit(":", 1)[0]
    environment = BuildEnvironment.objects.get(name="busybox-test")
    environment.base_image = f"{repository}:no-such-tag"
    environment.save()
    builder = make_builder(world, make_artifact(world.project, busybox), environment="busybox-test")
    EmailSubscription.objects.create(project=world.project, user=world.users["victor"])
    EmailSubscription.objects.create(
        project=world.project, user=world.users["olga"], build_events="none"
    )
    make_channel(world, receiver.url(), build_events="failed_recovered")

    failed = wait_for_run(build_services.do_start_run(builder), celery_worker)
    assert failed.state == BuildState.FAILED, failed.error_message
    seen_failed = time.monotonic()
    mail = smtp_server.wait_for(
        lambda m: m["To"] == "victor@example.test" and "#1" in str(m["Subject"])
    )
    assert mail["Subject"] == f"Build failed: shop · {builder.name} #1"
    text = mail.get_content()
    assert f"Error: {failed.error_message[:60]}" in text, text
    assert f"Image builder: {builder.name} #1" in text
    [webhook] = receiver.wait_for(1)
    print(f"failed run seen -> mail and webhook received: {time.monotonic() - seen_failed:.2f} s")
    digest = hmac.new(SECRET.encode(), webhook.body, hashlib.sha256).hexdigest()
    assert webhook.headers["X-B2I-Signature"] == f"sha256={digest}"
    assert webhook.json()["event"] == "build.failed" and webhook.json()["run"] == 1
    assert not any(m["To"] == "olga@example.test" for m in smtp_server.messages())

    environment.base_image = busybox_base.tagged
    environment.save()
    recovered = wait_for_run(build_services.do_start_run(builder), celery_worker)
    assert recovered.state == BuildState.SUCCESSFUL, recovered.error_message
    second = receiver.wait_for(2)[1]
    assert second.json()["event"] == "build.recovered" and second.json()["run"] == 2
    [delivery] = wait_for_deliveries(EventKind.BUILD_RECOVERED, 1)
    assert wait_for_delivery(delivery, ("delivered",), celery_worker).attempts == 1
    # victor chose failed builds only: no mail about the recovery
    assert not any("recovered" in str(m["Subject"]) for m in smtp_server.messages())
