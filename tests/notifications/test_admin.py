"""The admin lists channels, subscriptions and deliveries; never renders a URL or secret."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from notifications.models import Delivery, WebhookChannel
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.notifications.conftest import SECRET, World, make_channel


@pytest.fixture
def operator(world: World) -> Client:
    root = User.objects.create_superuser("root", "root@example.test")
    client = Client()
    client.force_login(root)
    return client


@pytest.mark.parametrize("model", ["webhookchannel", "emailsubscription", "delivery"])
def test_admin_lists_every_notification_model(operator: Client, model: str) -> None:
    assert operator.get(f"/admin/notifications/{model}/").status_code == 200


def test_channel_page_never_renders_url_or_secret(
    world: World, operator: Client, receiver: WebhookReceiver
) -> None:
    channel = make_channel(world, receiver.url("/hook?key=url-key-42"))
    Delivery.objects.create(project=world.project, channel=channel, event="test", facts={})
    for page in (
        f"/admin/notifications/webhookchannel/{channel.pk}/change/",
        "/admin/notifications/webhookchannel/",
        "/admin/notifications/delivery/",
    ):
        html = operator.get(page).content.decode()
        assert "url-key-42" not in html and SECRET not in html
        assert channel.url_encrypted not in html


def test_admin_refuses_a_metadata_url_and_keeps_the_stored_one_when_empty(
    world: World, operator: Client, receiver: WebhookReceiver
) -> None:
    channel = make_channel(world, receiver.url())
    data = {
        "project": world.project.pk,
        "name": channel.name,
        "kind": "webhook",
        "new_url": "http://169.254.169.254/",
        "new_secret": "",
        "build_events": "all",
        "enabled": "on",
    }
    page = f"/admin/notifications/webhookchannel/{channel.pk}/change/"
    refused = operator.post(page, data)
    assert refused.status_code == 200 and "link-local" in refused.content.decode()
    saved = operator.post(page, {**data, "new_url": ""})
    assert saved.status_code == 302
    channel = WebhookChannel.objects.get()
    assert (channel.url, channel.secret, channel.build_events) == (receiver.url(), SECRET, "all")
