"""Every role x every notifications action through the API: allowed, 403 or 404 — the same
table form as the tenancy matrix (tests/projects/test_permission_matrix.py)."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.api.urls import urlpatterns
from notifications.models import WebhookChannel
from notifications.services import save_channel
from tests.projects.conftest import PERSONAS, World, build_world
from tests.projects.test_permission_matrix import P_MANAGE, P_VIEW, Action, expected_status

N = "/api/v1/workspaces/acme/projects/shop/notifications/"
CLOSED = "http://127.0.0.1:9/hook"

# fmt: off
ACTIONS = [
    Action("channel.list", "get", N + "channels/", P_VIEW, P_VIEW),
    Action("channel.create", "post", N + "channels/", P_VIEW, P_MANAGE, 201,
           {"name": "chat", "kind": "slack", "url": CLOSED}),
    Action("channel.get", "get", N + "channels/ci/", P_VIEW, P_VIEW),
    Action("channel.update", "patch", N + "channels/ci/", P_VIEW, P_MANAGE,
           body={"rollout_events": True}),
    Action("channel.delete", "delete", N + "channels/ci/", P_VIEW, P_MANAGE, 204),
    Action("channel.test", "post", N + "channels/ci/test/", P_VIEW, P_MANAGE),
    Action("channel.deliveries", "get", N + "channels/ci/deliveries/", P_VIEW, P_VIEW),
    Action("subscription.get", "get", N + "subscription/", P_VIEW, P_VIEW),
    Action("subscription.set", "put", N + "subscription/", P_VIEW, P_VIEW,
           body={"build_events": "failed"}),
    Action("subscription.delete", "delete", N + "subscription/", P_VIEW, P_VIEW, 204),
    # Nobody subscribed yet: permission passes, then "subscribe first" answers 409.
    Action("subscription.test", "post", N + "subscription/test/", P_VIEW, P_VIEW, 409),
    Action("subscription.deliveries", "get", N + "subscription/deliveries/", P_VIEW, P_VIEW),
]
# fmt: on

CASES = [
    pytest.param(action, persona, id=f"{action.name}-{persona}")
    for action in ACTIONS
    for persona in [*PERSONAS, "anonymous"]
]


@pytest.fixture
def world(db: Any) -> World:
    world = build_world()
    assert world.shop is not None
    channel = WebhookChannel(project=world.shop, name="ci", kind="webhook")
    save_channel(channel, CLOSED, "secret")
    return world


@pytest.mark.parametrize(("action", "persona"), CASES)
def test_permission_matrix(world: World, action: Action, persona: str) -> None:
    response = getattr(world.client(persona), action.method)(
        action.path, action.body, format="json"
    )
    assert response.status_code == expected_status(action, persona), response.content
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] and body["message"]


def test_matrix_covers_every_notifications_route() -> None:
    routes = {str(pattern.pattern).split("notifications/", 1)[1] for pattern in urlpatterns}
    covered = {action.path.split("notifications/", 1)[1].replace("/ci/", "/<str:name>/")
               for action in ACTIONS}  # fmt: skip
    assert routes == covered
