"""The build-log WebSocket under a real daphne process on the real Redis channel layer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from builders import services
from builders.logs import RunLog
from builders.models import BuildRun
from tests.builders.conftest import World, make_artifact, make_builder
from tests.fixtures.console_process import ConnectionClosed, DaphneConsole, receive_json

pytestmark = pytest.mark.django_db(transaction=True)

LOG_PATH = "/ws/workspaces/acme/projects/shop/imagebuilders/hello/runs/1/log/?after=0"
SILENCE_SECONDS = 20
ERROR_MARKS = ("Traceback", "Timeout reading", "ERROR", "Exception")


@pytest.fixture
def console(channel_layer_on_redis: str, tmp_path: Path) -> Iterator[DaphneConsole]:
    server = DaphneConsole(channel_layer_on_redis, tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def run(world: World, media_root: Path, busybox: Path, monkeypatch: Any) -> BuildRun:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    return services.do_start_run(builder)


def write_lines(log: RunLog, first: int, last: int) -> None:
    for number in range(first, last + 1):
        log.write(f"line {number}")
    log.flush()


def receive_until_seq(sock: websocket.WebSocket, last_seq: int) -> list[int]:
    seqs: list[int] = []
    while not seqs or seqs[-1] < last_seq:
        message = receive_json(sock, timeout=10)
        if message["type"] == "lines":
            seqs.extend(line["seq"] for line in message["lines"])
    return seqs


def test_a_socket_stays_open_through_20_seconds_of_silence_mid_build(
    world: World, run: BuildRun, console: DaphneConsole
) -> None:
    log = RunLog(run.pk)
    write_lines(log, 1, 5)
    sock = console.open_socket(LOG_PATH, world.users["victor"])
    seqs = receive_until_seq(sock, 5)
    assert receive_json(sock, timeout=10)["type"] == "state"

    # Nothing to say for 20 s: the socket must neither close nor receive anything.
    silence_ends = time.monotonic() + SILENCE_SECONDS
    while (left := silence_ends - time.monotonic()) > 0:
        try:
            message = receive_json(sock, timeout=left)
        except websocket.WebSocketTimeoutException:
            break
        except ConnectionClosed as closed:
            pytest.fail(f"socket closed after silence ({closed}); daphne log:\n{console.log()}")
        pytest.fail(f"unexpected message during silence: {message}")

    write_lines(log, 6, 9)
    seqs += receive_until_seq(sock, 9)
    sock.close()
    assert seqs == list(range(1, 10)), "every line once, in order"
    daphne_log = console.log()
    assert not [mark for mark in ERROR_MARKS if mark in daphne_log], daphne_log
