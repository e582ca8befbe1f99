"""Webhook deliveries to a real loopback HTTP receiver: the HMAC verifies, each format arrives
in its shape, redirects and forbidden addresses are refused, answers are read bounded."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from b2i_console.errors import UserError
from notifications import services
from notifications.models import (
    ChannelKind,
    Delivery,
    DeliveryState,
    EmailSubscription,
    EventKind,
)
from notifications.sending import MAX_RESPONSE_BYTES
from projects.models import ProjectMembership
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.notifications.conftest import SECRET, World, make_channel


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Deliveries sent to the worker, recorded instead (these tests attempt them themselves)."""
    sent: list[int] = []
    monkeypatch.setattr(services, "send_to_worker", lambda pk, countdown=0: sent.append(pk))
    return sent


def send_event(world: World, kind: str = EventKind.BUILD_FAILED) -> list[Delivery]:
    facts = {
        "event": kind,
        "title": "Build failed",
        "workspace": "acme",
        "project": "shop",
        "subject": "hello #1",
        "builder": "hello",
        "run": 1,
        "error": "boom",
    }
    return services.queue_event(world.project, kind, facts)


def test_generic_webhook_arrives_with_a_verifiable_hmac(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    channel = make_channel(world, receiver.url())
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    [request] = receiver.wait_for(1)
    signature = request.headers["X-B2I-Signature"]
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, f"sha256={expected}")
    body = request.json()
    assert body["event"] == "build.failed" and body["delivery"] == delivery.pk
    assert request.headers["X-B2I-Timestamp"] == str(body["timestamp"])
    assert request.headers["Content-Type"].startswith("application/json")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 1, 200)
    assert delivery.channel == channel


def test_deliveries_go_to_the_worker_only_after_commit(
    world: World,
    receiver: WebhookReceiver,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_channel(world, receiver.url(), name="one")
    make_channel(world, receiver.url(), name="two")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deliveries = send_event(world)
        assert queued == []
    assert len(callbacks) == 2 and queued == [d.pk for d in deliveries]


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        (ChannelKind.SLACK, lambda b: b["text"].startswith("Build failed") and b["blocks"]),
        (ChannelKind.DINGTALK, lambda b: b["msgtype"] == "markdown" and b["markdown"]["text"]),
        (ChannelKind.WECOM, lambda b: b["msgtype"] == "markdown" and b["markdown"]["content"]),
    ],
)
def test_chat_formats_arrive_in_their_shape(
    world: World, receiver: WebhookReceiver, queued: list[int], kind: str, check: Any
) -> None:
    if kind != ChannelKind.SLACK:
        receiver.answer(200, b'{"errcode":0,"errmsg":"ok"}')
    make_channel(world, receiver.url("/robot/send?access_token=t"), kind, secret="SECx")
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    [request] = receiver.wait_for(1)
    assert check(request.json())
    assert request.query["access_token"] == ["t"]
    assert ("sign" in request.query) == (kind == ChannelKind.DINGTALK)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED


def test_a_robot_refusing_with_an_errcode_is_a_failed_delivery(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    receiver.answer(200, json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode())
    make_channel(world, receiver.url(), ChannelKind.DINGTALK, secret="wrong")
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "310000" in delivery.error and "sign not match" in delivery.error


def test_a_redirect_is_not_followed_and_not_retried(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    receiver.answer(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
    make_channel(world, receiver.url())
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.status_code) == (DeliveryState.FAILED, 302)
    assert "redirects are not followed" in delivery.error
    assert len(receiver.received) == 1


def test_a_503_stays_pending_for_a_retry_and_the_attempts_are_bounded(
    world: World, receiver: WebhookReceiver, queued: list[int], settings: Any
) -> None:
    settings.B2I_NOTIFY_MAX_ATTEMPTS = 2
    receiver.answer(503, b"busy")
    receiver.answer(503, b"busy")
    make_channel(world, receiver.url())
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == ("pending", 1, "HTTP 503: busy")
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    assert services.attempt_delivery(delivery.pk) is None  # nothing more is sent
    assert len(receiver.received) == 2


def test_backoff_doubles_and_is_capped(settings: Any) -> None:
    settings.B2I_NOTIFY_RETRY_DELAY = 30
    assert [services.retry_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.retry_delay(20) == 3600


def test_a_huge_answer_is_read_only_up_to_the_bound(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    receiver.answer(500, b"x" * (20 * MAX_RESPONSE_BYTES))
    make_channel(world, receiver.url())
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status_code == 500 and len(delivery.error) < 300


def test_metadata_address_is_refused_at_save(world: World) -> None:
    with pytest.raises(UserError) as caught:
        make_channel(world, "http://169.254.169.254/latest/meta-data/")
    assert caught.value.code == "notify:blocked-address"
    with pytest.raises(UserError):
        make_channel(world, "http://[::ffff:169.254.169.254]/")


def test_loopback_is_refused_at_save_unless_the_operator_allows_its_network(
    world: World, receiver: WebhookReceiver, settings: Any
) -> None:
    settings.B2I_ALLOWED_REGISTRY_NETWORKS = []
    with pytest.raises(UserError) as caught:
        make_channel(world, receiver.url())
    assert caught.value.code == "notify:blocked-address"
    assert "B2I_ALLOWED_REGISTRY_NETWORKS" in caught.value.message


def test_a_forbidden_address_is_refused_at_send_too(
    world: World, receiver: WebhookReceiver, queued: list[int], settings: Any
) -> None:
    by_ip = make_channel(world, receiver.url(), name="by-ip")
    by_name = make_channel(world, f"http://localhost:{receiver.port}/hook", name="by-name")
    settings.B2I_ALLOWED_REGISTRY_NETWORKS = []  # the operator narrowed the policy since
    for delivery in send_event(world):
        services.attempt_delivery(delivery.pk)
    for channel in (by_ip, by_name):
        delivery = channel.deliveries.get()
        assert delivery.state == DeliveryState.FAILED, delivery.error
        assert "not sent to this address" in delivery.error or "not allowed" in delivery.error
    assert receiver.received == []


def test_url_and_secret_are_encrypted_at_rest(world: World, receiver: WebhookReceiver) -> None:
    channel = make_channel(world, receiver.url("/hook?key=very-secret-key"))
    row = type(channel).objects.values("url_encrypted", "secret_encrypted", "url_host").get()
    assert "very-secret-key" not in row["url_encrypted"]
    assert SECRET not in row["secret_encrypted"]
    assert row["url_host"] == "127.0.0.1"
    channel.refresh_from_db()
    assert channel.url.endswith("key=very-secret-key") and channel.secret == SECRET


def test_events_go_only_to_those_who_want_them(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    make_channel(world, receiver.url(), name="failures", build_events="failed")
    make_channel(world, receiver.url(), name="recoveries", build_events="failed_recovered")
    make_channel(world, receiver.url(), name="rollouts", build_events="none", rollout_events=True)
    make_channel(world, receiver.url(), name="off", build_events="all", enabled=False)
    names = {
        kind: sorted(d.channel.name for d in send_event(world, kind) if d.channel)
        for kind in (EventKind.BUILD_FAILED, EventKind.BUILD_RECOVERED, EventKind.ROLLOUT_FAILED)
    }
    assert names == {
        EventKind.BUILD_FAILED: ["failures", "recoveries"],
        EventKind.BUILD_RECOVERED: ["recoveries"],
        EventKind.ROLLOUT_FAILED: ["rollouts"],
    }


def test_key_rotation_re_encrypts_channel_urls_and_secrets(
    world: World, receiver: WebhookReceiver, settings: Any
) -> None:
    channel = make_channel(world, receiver.url("/hook?key=k1"))
    before = (channel.url_encrypted, channel.secret_encrypted)
    old_keys = list(settings.B2I_SECRET_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.B2I_SECRET_KEYS = [new_key, *old_keys]
    call_command("rotate_secret_keys", stdout=StringIO())
    settings.B2I_SECRET_KEYS = [new_key]  # the old key is gone: the channel still reads
    channel.refresh_from_db()
    assert (channel.url_encrypted, channel.secret_encrypted) != before
    assert channel.url == receiver.url("/hook?key=k1") and channel.secret == SECRET


def test_a_delivery_whose_message_was_lost_is_sent_again_once(
    world: World, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(services.celery_app, "send_task", lambda name, **kw: sent.append(name))
    make_channel(world, receiver.url())
    [lost] = send_event(world)
    [waiting] = send_event(world)
    Delivery.objects.filter(pk=lost.pk).update(due_at=timezone.now() - timedelta(minutes=11))
    Delivery.objects.filter(pk=waiting.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    assert services.requeue_lost_deliveries() == [lost.pk]
    assert sent == [services.DELIVER_TASK]
    assert services.requeue_lost_deliveries() == []  # due again now: not sent twice


def test_old_finished_deliveries_leave_the_log(
    world: World, receiver: WebhookReceiver, queued: list[int], settings: Any
) -> None:
    settings.B2I_NOTIFY_LOG_DAYS = 30
    make_channel(world, receiver.url())
    old, recent, old_pending = (send_event(world)[0] for _ in range(3))
    long_ago = timezone.now() - timedelta(days=31)
    Delivery.objects.filter(pk__in=[old.pk, old_pending.pk]).update(created_at=long_ago)
    Delivery.objects.exclude(pk=old_pending.pk).update(state=DeliveryState.DELIVERED)
    assert services.prune_delivery_log() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, old_pending.pk}


def test_a_member_removed_from_the_project_gets_no_more_mail(
    world: World, queued: list[int]
) -> None:
    for name in ("olga", "victor"):
        EmailSubscription.objects.create(project=world.project, user=world.users[name])
    ProjectMembership.objects.filter(user=world.users["victor"]).delete()
    deliveries = send_event(world)
    assert [d.subscription.user.username for d in deliveries if d.subscription] == ["olga"]


def test_an_undecryptable_url_is_a_failed_delivery_saying_so(
    world: World, receiver: WebhookReceiver, queued: list[int], settings: Any
) -> None:
    make_channel(world, receiver.url())
    [delivery] = send_event(world)
    settings.B2I_SECRET_KEYS = [Fernet.generate_key().decode()]  # the key was lost
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and "B2I_SECRET_KEYS" in delivery.error
    assert receiver.received == []


def test_a_copy_of_a_task_before_its_backoff_ended_sends_nothing(
    world: World, receiver: WebhookReceiver, queued: list[int]
) -> None:
    receiver.answer(503, b"busy")
    make_channel(world, receiver.url())
    [delivery] = send_event(world)
    services.attempt_delivery(delivery.pk)
    services.mark_due(delivery.pk, 600)  # as the task does before its retry in ten minutes
    assert services.attempt_delivery(delivery.pk) is None  # a duplicate message, early
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert len(receiver.received) == 1
    services.mark_due(delivery.pk, 0)
    assert services.attempt_delivery(delivery.pk) is not None
    assert len(receiver.wait_for(2)) == 2
