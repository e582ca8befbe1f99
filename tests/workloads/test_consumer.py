"""The rollout-status WebSocket: pushes the status as the cluster changes; refuses strangers."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from b2i_console.asgi import application
from workloads.services import check_create_service, on_build_succeeded

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/ws/workspaces/acme/projects/shop/services/{name}/status/"
SPEC = {"name": "web", "replicas": 2, "ports": [{"container_port": 8080}]}


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def socket(cookie, name="web"):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, PATH.format(name=name), headers=headers)


def test_status_is_pushed_until_the_rollout_completes(world, kube_apiserver):
    kube_apiserver.controller.pod_start_seconds = 0.5  # a rollout slow enough to watch
    check_create_service(world.project, SPEC, world.builder, None)
    run = world.run(1)
    victor = session_cookie(world.users["victor"])

    async def scenario():
        communicator = socket(victor)  # a viewer may watch
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        first = await communicator.receive_json_from(timeout=5)
        assert first["type"] == "status" and first["state"] == "Waiting"
        assert first["desired"] == 0
        await database_sync(on_build_succeeded)(run)
        seen = [first]
        while not (seen[-1]["complete"] and seen[-1]["ready"] == 2):
            seen.append(await communicator.receive_json_from(timeout=5))
        assert seen[-1]["state"] == "Deployed"
        assert any(not s["complete"] for s in seen[1:-1])  # progress, not just the end
        await communicator.disconnect()

    async_to_sync(scenario)()


def database_sync(function):
    from channels.db import database_sync_to_async

    return database_sync_to_async(function)


@pytest.mark.parametrize(("persona", "code"), [("anonymous", 4401), ("charlie", 4403)])
def test_strangers_are_refused(world, persona, code):
    check_create_service(world.project, SPEC, world.builder, None)

    cookie = None if persona == "anonymous" else session_cookie(world.users[persona])

    async def scenario():
        communicator = socket(cookie)
        connected, _ = await communicator.connect(timeout=5)
        assert connected  # accepted, then closed with the code the page reads
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": code}

    async_to_sync(scenario)()


def test_unknown_service_is_refused(world):
    alice = session_cookie(world.users["alice"])

    async def scenario():
        communicator = socket(alice, name="ghost")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    async_to_sync(scenario)()
