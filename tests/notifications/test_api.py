"""The notifications API: admins manage channels, members their own e-mail subscription;
URLs and secrets are never returned; "send test" sends for real and logs the result."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from notifications import services
from notifications.models import Delivery, EmailSubscription, WebhookChannel
from tests.fixtures.smtp_server import SmtpServer
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.notifications.conftest import SECRET, World

BASE = "/api/v1/workspaces/acme/projects/shop/notifications/"


def channel_body(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "ci", "kind": "webhook", "url": url, "secret": SECRET, **extra}


@pytest.fixture
def smtp(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    return smtp_server


@pytest.mark.parametrize(("persona", "status"), [("alice", 201), ("olga", 403), ("victor", 403)])
def test_only_project_admins_create_channels(
    world: World, receiver: WebhookReceiver, persona: str, status: int
) -> None:
    response = world.client(persona).post(f"{BASE}channels/", channel_body(receiver.url()))
    assert response.status_code == status, response.content
    assert WebhookChannel.objects.exists() == (status == 201)


def test_members_see_channels_outsiders_do_not(world: World, receiver: WebhookReceiver) -> None:
    world.client("alice").post(f"{BASE}channels/", channel_body(receiver.url()))
    assert world.client("victor").get(f"{BASE}channels/").json()["count"] == 1
    assert world.client("charlie").get(f"{BASE}channels/").status_code == 404
    for persona in ("olga", "victor"):
        api = world.client(persona)
        assert api.patch(f"{BASE}channels/ci/", {"enabled": False}).status_code == 403
        assert api.delete(f"{BASE}channels/ci/").status_code == 403
        assert api.post(f"{BASE}channels/ci/test/").status_code == 403
    assert world.client("alice").delete(f"{BASE}channels/ci/").status_code == 204


def test_url_and_secret_are_write_only(world: World, receiver: WebhookReceiver) -> None:
    api = world.client("alice")
    url = receiver.url("/hook?token=url-secret-123")
    created = api.post(f"{BASE}channels/", channel_body(url))
    shown = api.get(f"{BASE}channels/ci/")
    listed = api.get(f"{BASE}channels/")
    for response in (created, shown, listed):
        text = response.content.decode()
        assert "url-secret-123" not in text and SECRET not in text
    body = shown.json()
    assert body["url_host"] == "127.0.0.1" and body["has_secret"] is True
    assert "url" not in body and "secret" not in body


def test_an_update_without_url_or_secret_keeps_them(
    world: World, receiver: WebhookReceiver
) -> None:
    api = world.client("alice")
    api.post(f"{BASE}channels/", channel_body(receiver.url()))
    response = api.patch(f"{BASE}channels/ci/", {"build_events": "all"}, format="json")
    assert response.status_code == 200, response.content
    channel = WebhookChannel.objects.get()
    assert (channel.url, channel.secret, channel.build_events) == (receiver.url(), SECRET, "all")


def test_ssrf_addresses_are_refused_by_the_api(world: World, settings: Any) -> None:
    api = world.client("alice")
    response = api.post(f"{BASE}channels/", channel_body("http://169.254.169.254/hook"))
    assert (response.status_code, response.json()["code"]) == (400, "notify:blocked-address")
    settings.B2I_ALLOWED_REGISTRY_NETWORKS = []
    response = api.post(f"{BASE}channels/", channel_body("http://10.1.2.3/hook"))
    assert response.json()["code"] == "notify:blocked-address"
    assert not WebhookChannel.objects.exists()


def test_a_generic_webhook_needs_a_secret(world: World, receiver: WebhookReceiver) -> None:
    response = world.client("alice").post(
        f"{BASE}channels/", channel_body(receiver.url(), secret="")
    )
    assert (response.status_code, response.json()["code"]) == (400, "notify:secret-required")


def test_send_test_delivers_and_shows_the_result_in_the_log(
    world: World, receiver: WebhookReceiver
) -> None:
    api = world.client("alice")
    api.post(f"{BASE}channels/", channel_body(receiver.url()))
    result = api.post(f"{BASE}channels/ci/test/").json()
    assert (result["state"], result["status_code"], result["event"]) == ("delivered", 200, "test")
    [request] = receiver.wait_for(1)
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-B2I-Signature"] == f"sha256={expected}"
    assert "alice" in json.loads(request.body)["text"]
    receiver.answer(500, b"down")
    failed = api.post(f"{BASE}channels/ci/test/").json()
    assert (failed["state"], failed["status_code"], failed["error"]) == (
        "failed",
        500,
        "HTTP 500: down",
    )
    log = world.client("victor").get(f"{BASE}channels/ci/deliveries/").json()
    assert [row["state"] for row in log["results"]] == ["failed", "delivered"]
    assert all(row["attempts"] == 1 for row in log["results"])


def test_every_member_manages_only_their_own_subscription(world: World) -> None:
    for persona in ("olga", "victor"):
        api = world.client(persona)
        assert api.get(f"{BASE}subscription/").json()["subscribed"] is False
        body = {"build_events": "failed_recovered", "rollout_events": True}
        saved = api.put(f"{BASE}subscription/", body, format="json").json()
        assert saved["subscribed"] is True and saved["email"] == f"{persona}@example.test"
    assert EmailSubscription.objects.count() == 2
    assert world.client("victor").delete(f"{BASE}subscription/").status_code == 204
    owners = list(EmailSubscription.objects.values_list("user__username", flat=True))
    assert owners == ["olga"]
    assert world.client("charlie").get(f"{BASE}subscription/").status_code == 404


def test_subscription_test_mail_arrives_at_a_real_smtp_server(
    world: World, smtp: SmtpServer
) -> None:
    api = world.client("victor")
    api.put(f"{BASE}subscription/", {"build_events": "failed"}, format="json")
    result = api.post(f"{BASE}subscription/test/").json()
    assert result["state"] == "delivered", result
    message = smtp.wait_for(lambda m: m["To"] == "victor@example.test")
    assert message["Subject"] == "Test notification: shop"
    assert "A test sent by victor" in message.get_content()
    log = api.get(f"{BASE}subscription/deliveries/").json()
    assert [row["state"] for row in log["results"]] == ["delivered"]
    assert world.client("olga").get(f"{BASE}subscription/deliveries/").json()["count"] == 0


def test_mail_is_not_sent_when_smtp_is_not_configured(world: World, settings: Any) -> None:
    settings.EMAIL_HOST = ""
    api = world.client("olga")
    api.put(f"{BASE}subscription/", {"build_events": "failed"}, format="json")
    result = api.post(f"{BASE}subscription/test/").json()
    assert result["state"] == "failed" and "B2I_SMTP_HOST" in result["error"]
    assert Delivery.objects.get().error == result["error"]


def test_the_endpoints_are_in_the_openapi_schema(world: World) -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    prefix = "/api/v1/workspaces/{workspace}/projects/{project}/notifications/"
    expected = {
        "channels/",
        "channels/{name}/",
        "channels/{name}/test/",
        "channels/{name}/deliveries/",
        "subscription/",
        "subscription/test/",
        "subscription/deliveries/",
    }
    assert {prefix + path for path in expected} <= set(paths)
    channel = paths[prefix + "channels/{name}/"]["get"]["responses"]["200"]
    assert channel  # the schema documents the answer (with no url or secret field)


def test_a_busy_smtp_relay_is_retried_until_the_mail_is_accepted(
    world: World, settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = SmtpServer(tmp_path, refusals=2).start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", relay.port
        monkeypatch.setattr(services, "send_to_worker", lambda pk, countdown=0: None)
        EmailSubscription.objects.create(project=world.project, user=world.users["olga"])
        facts = {"event": "build.failed", "title": "Build failed", "workspace": "acme",
                 "project": "shop", "subject": "hello #7", "error": "boom"}  # fmt: skip
        [delivery] = services.queue_event(world.project, "build.failed", facts)
        for _attempt in range(3):
            services.attempt_delivery(delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("delivered", 3)
        message = relay.wait_for(lambda m: m["To"] == "olga@example.test")
        assert message["Subject"] == "Build failed: shop · hello #7"
    finally:
        relay.stop()
