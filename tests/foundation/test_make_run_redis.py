"""Two `make run` consoles on one machine each get a Redis of their own (they used to share
database 0 of the Redis on 6379 and take each other's builds): a port per checkout, kept across
runs, never one something else holds now; run.sh starts redis-server on it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import redis

from tests.fixtures.celery_worker import ROOT
from tests.fixtures.redis_server import RedisServer

SCRIPT = ROOT / "scripts" / "checkout_redis.py"


def redis_url_of(checkout: Path) -> str:
    answer = subprocess.run(
        [sys.executable, str(SCRIPT), str(checkout / "var")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    url = answer.stdout.strip()
    assert re.fullmatch(r"redis://127\.0\.0\.1:\d+/0", url), url
    return url


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_two_checkouts_get_two_redis_servers_that_share_nothing(tmp_path: Path) -> None:
    first, second = redis_url_of(tmp_path / "one"), redis_url_of(tmp_path / "two")
    assert first != second
    assert redis_url_of(tmp_path / "one") == first  # kept: the same URL on the next run
    servers = []
    for n, url in enumerate([first, second]):
        (tmp_path / f"redis-{n}").mkdir()
        servers.append(RedisServer(tmp_path / f"redis-{n}", port_of(url)).start())
    try:
        redis.Redis.from_url(first).lpush("celery", "build run 1")
        assert redis.Redis.from_url(second).llen("celery") == 0  # the other worker never sees it
    finally:
        for server in servers:
            server.stop()


def test_a_kept_port_something_else_holds_is_not_reused(tmp_path: Path) -> None:
    kept = port_of(redis_url_of(tmp_path))
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", kept))
        stranger.listen(1)
        moved = port_of(redis_url_of(tmp_path))
    assert moved != kept
    assert (tmp_path / "var/redis/port").read_text().strip() == str(moved)


def test_make_run_uses_the_checkout_redis_unless_one_is_given() -> None:
    run = (ROOT / "scripts" / "run.sh").read_text()
    assert "redis://127.0.0.1:6379" not in run  # no shared default any more
    assert "REDIS_URL=$(.venv/bin/python scripts/checkout_redis.py var)" in run
    # Its own server is started even when something answers (it never reuses a stranger's).
    assert 'if [ -n "${own_redis:-}" ] ||' in run
