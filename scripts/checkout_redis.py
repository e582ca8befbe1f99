"""The Redis of this checkout's `make run`: `checkout_redis.py VAR_DIR` prints its URL.

Two `make run` consoles on one machine used to share the Redis on 6379, database 0: each one's
worker took the other's builds from the shared queue and their live-log doorbells mixed. Each
checkout now runs its own redis-server on a loopback port of its own, chosen free once and kept
in VAR_DIR/redis/port so the URL stays the same across runs. A kept port something else holds
now (another program, another checkout that took it meanwhile) is never reused: a new free
port is chosen and kept instead. run.sh starts the server (under honcho) on the printed URL.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def checkout_port(var_dir: Path) -> int:
    """This checkout's kept port when it is free now, else a new free one (then kept)."""
    kept = var_dir / "redis" / "port"
    if kept.exists() and kept.read_text().strip().isdigit():
        port = int(kept.read_text())
        if port_is_free(port):
            return port
    port = free_port()
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(f"{port}\n")
    return port


if __name__ == "__main__":
    print(f"redis://127.0.0.1:{checkout_port(Path(sys.argv[1]))}/0")
