"""Build logs: 10,000 lines complete and in order over the socket and polling; download; archive."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.utils import timezone

from builders import runner, services
from builders.log_archive import archive_old_logs
from builders.models import BuildLogLine, BuildRun, BuildState
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor
from tests.builders.test_consumer import session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True)

RUN = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/runs/1/"
LINES = 10_000


@pytest.fixture
def run(
    world: World, media_root: Path, busybox: Path, channel_layer_on_redis: str, monkeypatch: Any
) -> BuildRun:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    builder = make_builder(world, make_artifact(world.project, busybox))
    return services.do_start_run(builder)


def build_in_thread(run_id: int, lines: int) -> None:
    try:
        runner.run_build(run_id, executor=ScriptedExecutor(lines=lines))
    finally:
        connection.close()


def poll_all(world: World, persona: str = "victor") -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    after = 0
    while True:
        page = world.client(persona).get(RUN + "log/", {"after": after, "limit": 3000}).json()
        lines.extend(page["lines"])
        after = page["last_seq"]
        if page["finished"] and not page["more"]:
            return lines


def assert_complete_and_ordered(seqs: list[int], texts: list[str]) -> None:
    assert seqs == list(range(1, len(seqs) + 1)), "gaps or duplicates"
    numbered = [t for t in texts if t.startswith("line ")]
    assert numbered == [f"line {n}" for n in range(1, LINES + 1)]
    assert texts[-1] == "Build completed successfully"


def test_ten_thousand_lines_arrive_complete_and_in_order_live_and_by_polling(
    world: World, run: BuildRun
) -> None:
    cookie = session_cookie(world.users["victor"])
    build = threading.Thread(target=build_in_thread, args=(run.pk, LINES))
    received: list[dict[str, Any]] = []

    async def watch() -> str:
        communicator = socket(cookie)
        assert (await communicator.connect())[0]
        build.start()  # the build starts only once the socket listens: lines arrive live
        state = ""
        while state not in ("successful", "failed"):
            message = await communicator.receive_json_from(timeout=30)
            if message["type"] == "lines":
                received.extend(message["lines"])
            else:
                state = message["state"]
        await communicator.disconnect()
        return state

    assert async_to_sync(watch)() == BuildState.SUCCESSFUL
    build.join(timeout=30)
    assert_complete_and_ordered([x["seq"] for x in received], [x["text"] for x in received])

    polled = poll_all(world)
    assert polled == received

    download = world.client("victor").get(RUN + "log.txt")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="hello-1.log"'
    text_lines = b"".join(download.streaming_content).decode().splitlines()
    assert len(text_lines) == len(received)
    assert text_lines[-1].endswith(" Build completed successfully")


def test_polling_after_a_seq_returns_only_later_lines(world: World, run: BuildRun) -> None:
    runner.run_build(run.pk, executor=ScriptedExecutor(lines=50))
    total = BuildLogLine.objects.filter(run=run).count()
    page = world.client("olga").get(RUN + "log/", {"after": 40, "limit": 5}).json()
    assert [line["seq"] for line in page["lines"]] == [41, 42, 43, 44, 45]
    assert page["more"] is True and page["last_seq"] == 45
    tail = world.client("olga").get(RUN + "log/", {"after": 45, "limit": 1000}).json()
    assert tail["lines"][-1]["seq"] == total and tail["more"] is False
    assert world.client("charlie").get(RUN + "log/").status_code == 404


def test_old_logs_move_to_storage_and_stay_readable(
    world: World, run: BuildRun, media_root: Path
) -> None:
    runner.run_build(run.pk, executor=ScriptedExecutor(lines=20))
    before = world.client("olga").get(RUN + "log/").json()["lines"]
    BuildRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=31))
    assert archive_old_logs(days=30) == 1
    assert not BuildLogLine.objects.filter(run=run).exists()
    run.refresh_from_db()
    assert (media_root / run.log_archive_key).is_file()
    assert world.client("olga").get(RUN + "log/").json()["lines"] == before
    assert archive_old_logs(days=30) == 0
