"""The build-log WebSocket through the real ASGI app (auth, origin check) on the Redis layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from b2i_console.asgi import application
from builders import services
from builders.logs import RunLog, run_group
from builders.models import BuildRun
from projects.models import ProjectMembership
from tests.builders.conftest import World, make_artifact, make_builder

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/workspaces/acme/projects/shop/imagebuilders/hello/runs/{n}/log/?after={after}"


def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def socket(
    cookie: bytes | None, after: int = 0, origin: bytes = b"http://127.0.0.1", number: int = 1
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, PATH.format(n=number, after=after), headers=headers)


def run_async(test: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(test)()


@pytest.fixture
def run(
    world: World, media_root: Path, busybox: Path, channel_layer_on_redis: str, monkeypatch: Any
) -> BuildRun:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    run = services.do_start_run(builder)
    write_lines(run.pk, 1, 5)
    return run


def write_lines(run_id: int, first: int, last: int) -> None:
    log = RunLog(run_id)
    for number in range(first, last + 1):
        log.write(f"line {number}")
    log.flush()


async def receive_lines(communicator: WebsocketCommunicator, count: int) -> list[int]:
    seqs: list[int] = []
    while len(seqs) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "lines":
            seqs.extend(line["seq"] for line in message["lines"])
    return seqs


def test_backlog_after_seq_then_live_lines_then_reconnect(world: World, run: BuildRun) -> None:
    victor = session_cookie(world.users["victor"])  # a viewer may watch

    async def scenario() -> None:
        first = socket(victor, after=2)
        connected, _ = await first.connect()
        assert connected
        assert await receive_lines(first, 3) == [3, 4, 5]
        state = await first.receive_json_from(timeout=5)
        assert (state["type"], state["state"]) == ("state", "pending")
        await database_sync_to_async(write_lines)(run.pk, 6, 8)
        assert await receive_lines(first, 3) == [6, 7, 8]
        await first.disconnect()

        await database_sync_to_async(write_lines)(run.pk, 9, 12)  # while nobody listens
        again = socket(victor, after=8)
        assert (await again.connect())[0]
        assert await receive_lines(again, 4) == [9, 10, 11, 12]
        await again.receive_json_from(timeout=5)  # state
        assert await again.receive_nothing(timeout=0.5)
        await again.disconnect()

    run_async(scenario)


def test_state_change_arrives_after_the_final_line(world: World, run: BuildRun) -> None:
    olga = session_cookie(world.users["olga"])

    async def scenario() -> None:
        communicator = socket(olga, after=5)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
        await database_sync_to_async(services.do_request_cancel)(run)
        lines = await communicator.receive_json_from(timeout=5)
        assert [line["text"] for line in lines["lines"]] == ["Build cancelled"]
        state = await communicator.receive_json_from(timeout=5)
        assert (state["type"], state["state"]) == ("state", "cancelled")
        await communicator.disconnect()

    run_async(scenario)


@pytest.mark.parametrize(("persona", "close_code"), [("anonymous", 4401), ("charlie", 4403)])
def test_refusals_reach_the_client_as_close_codes(
    world: World, run: BuildRun, persona: str, close_code: int
) -> None:
    # Accepted, then closed with the code: a browser refused at the handshake only sees 1006.
    user = None if persona == "anonymous" else session_cookie(world.users[persona])

    async def scenario() -> None:
        communicator = socket(user)
        connected, _ = await communicator.connect()
        assert connected
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": close_code}

    run_async(scenario)


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://127.0.0.1:9999",  # another port of the same host
        b"https://127.0.0.1",  # another scheme
        b"https://localhost:4444",  # an allowed host, but not this site
        b"null",
    ],
)
def test_sockets_from_another_origin_are_refused(
    world: World, run: BuildRun, origin: bytes
) -> None:
    olga = session_cookie(world.users["olga"])

    async def scenario() -> None:
        communicator = socket(olga, origin=origin)
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run_async(scenario)


def test_a_trusted_origin_is_accepted(world: World, run: BuildRun, settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.com"]
    olga = session_cookie(world.users["olga"])

    async def scenario() -> None:
        communicator = socket(olga, origin=b"https://console.example.com")
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "lines"
        await communicator.disconnect()

    run_async(scenario)


@pytest.mark.parametrize("change", ["removed", "deactivated", "logged out"])
def test_a_socket_is_closed_when_its_user_loses_access(
    world: World, run: BuildRun, settings: Any, change: str
) -> None:
    settings.B2I_SOCKET_ACCESS_RECHECK_SECONDS = 0.2
    victor = world.users["victor"]
    cookie = session_cookie(victor)

    def lose_access() -> None:
        if change == "removed":
            ProjectMembership.objects.filter(user=victor).delete()
        elif change == "deactivated":
            User.objects.filter(pk=victor.pk).update(is_active=False)
        else:
            Session.objects.all().delete()

    async def scenario() -> None:
        communicator = socket(cookie, after=5)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
        await database_sync_to_async(lose_access)()
        closed = await communicator.receive_output(timeout=5)
        expected = 4403 if change == "removed" else 4401
        assert closed == {"type": "websocket.close", "code": expected}

    run_async(scenario)


def test_unknown_run_is_refused(world: World, run: BuildRun) -> None:
    alice = session_cookie(world.users["alice"])

    async def scenario() -> None:
        communicator = socket(alice, number=99)
        assert (await communicator.connect())[0]
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    run_async(scenario)


def test_lines_riding_a_doorbell_are_used_only_when_they_follow_on(
    world: World, run: BuildRun, monkeypatch: Any
) -> None:
    victor = session_cookie(world.users["victor"])

    async def scenario() -> None:
        communicator = socket(victor, after=5)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "state"
        with monkeypatch.context() as quiet:
            quiet.setattr("builders.logs.notify_lines", lambda *args, **kwargs: None)
            await database_sync_to_async(write_lines)(run.pk, 6, 8)
        # A doorbell carrying only line 8 (6 and 7 rang a bell that was lost): the socket must
        # not skip them - it reads 6..8 from the database.
        last = {"seq": 8, "time": "2026-01-01T00:00:00+00:00", "text": "line 8"}
        layer = get_channel_layer()
        await layer.group_send(
            run_group(run.pk), {"type": "run.lines", "last_seq": 8, "lines": [last]}
        )
        message = await communicator.receive_json_from(timeout=5)
        assert [line["seq"] for line in message["lines"]] == [6, 7, 8]
        # A doorbell with the next line: sent as it came, once.
        nine = {"seq": 9, "time": "2026-01-01T00:00:00+00:00", "text": "line 9"}
        await layer.group_send(
            run_group(run.pk), {"type": "run.lines", "last_seq": 9, "lines": [nine]}
        )
        await layer.group_send(
            run_group(run.pk), {"type": "run.lines", "last_seq": 9, "lines": [nine]}
        )
        assert (await communicator.receive_json_from(timeout=5))["lines"] == [nine]
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run_async(scenario)
