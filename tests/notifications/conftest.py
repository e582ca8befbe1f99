"""The notification tests' world (the pipeline tests' personas, each with an e-mail address)
and a loopback webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notifications.models import ChannelKind, WebhookChannel
from notifications.services import save_channel
from tests.builders.conftest import (  # noqa: F401 (fixtures used by these tests)
    World,
    busybox,
    channel_layer_on_redis,
    make_world,
    media_root,
    pipeline,
)
from tests.fixtures.webhook_receiver import WebhookReceiver

SECRET = "s3cret-signing-key"


def give_addresses(world: World) -> World:
    for name, user in world.users.items():
        user.email = f"{name}@example.test"
        user.save(update_fields=["email"])
    return world


@pytest.fixture
def world(db: None) -> World:
    """alice admin, olga operator, victor viewer of project shop; charlie admin of lab."""
    return give_addresses(make_world("http://127.0.0.1:9"))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def make_channel(
    world: World, url: str, kind: str = ChannelKind.WEBHOOK, **fields: Any
) -> WebhookChannel:
    secret = fields.pop("secret", SECRET if kind == ChannelKind.WEBHOOK else "")
    channel = WebhookChannel(project=world.project, name=fields.pop("name", kind), kind=kind)
    for key, value in fields.items():
        setattr(channel, key, value)
    return save_channel(channel, url, secret)
