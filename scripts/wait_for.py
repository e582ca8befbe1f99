"""Wait until a service answers: `wait_for.py redis URL` or `wait_for.py http URL`.

Exits 0 as soon as it answers, 1 when --timeout seconds pass first. Used by the run and test
scripts to decide whether to reuse a running service or start one.
"""

import argparse
import sys
import time

import httpx
import redis


def redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        return bool(client.ping())
    except redis.RedisError:
        return False


def http_answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=0.5)
    except httpx.HTTPError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["redis", "http"])
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    check = redis_answers if args.kind == "redis" else http_answers
    deadline = time.monotonic() + args.timeout
    while True:
        if check(args.url):
            return 0
        if time.monotonic() >= deadline:
            return 1
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
