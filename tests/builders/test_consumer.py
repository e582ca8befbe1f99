"""The build-log WebSocket through the real ASGI app (auth, origin check) on the Redis layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from b2i_console.asgi import application
from builders import services
from builders.logs import RunLog
from builders.models import BuildRun
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


@pytest.mark.parametrize(
    ("persona", "origin", "close_code"),
    [
        ("anonymous", b"http://127.0.0.1", 4401),
        ("charlie", b"http://127.0.0.1", 4403),
        ("olga", b"http://evil.example", None),
    ],
)
def test_refused_sockets(
    world: World, run: BuildRun, persona: str, origin: bytes, close_code: int | None
) -> None:
    user = None if persona == "anonymous" else session_cookie(world.users[persona])

    async def scenario() -> None:
        communicator = socket(user, origin=origin)
        connected, code = await communicator.connect()
        assert not connected
        if close_code is not None:
            assert code == close_code
        await communicator.disconnect()

    run_async(scenario)


def test_unknown_run_is_refused(world: World, run: BuildRun) -> None:
    alice = session_cookie(world.users["alice"])

    async def scenario() -> None:
        communicator = socket(alice, number=99)
        connected, code = await communicator.connect()
        assert (connected, code) == (False, 4403)

    run_async(scenario)
