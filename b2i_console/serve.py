"""The web server: uvicorn serving b2i_console.asgi (HTTP and WebSocket on one port).

    python -m b2i_console.serve --host 0.0.0.0 --port 8000

uvicorn, not daphne: daphne buffers a whole request body (to /tmp) before the application sees
the request, so no limit could be enforced before a 3 GiB body had been written; uvicorn streams
the body to the application, where builders/asgi_limits.py bounds it by route. Every command
that starts the console (Procfile, Dockerfile, Kubernetes and Helm manifests, tests) runs this
module, so the server's options live here only.
"""

from __future__ import annotations

import argparse

import uvicorn

from b2i_console.env import env_int

APP = "b2i_console.asgi:application"


def uvicorn_options(host: str, port: int) -> dict[str, object]:
    return {
        "host": host,
        "port": port,
        "http": "h11",
        # websockets' Sans-I/O implementation (the legacy one is deprecated by websockets).
        "ws": "websockets-sansio",
        "lifespan": "off",  # Django's ASGI handler has no lifespan events
        # Client addresses from X-Forwarded-For are Django's business (B2I_BEHIND_PROXY), not
        # the server's: uvicorn would otherwise trust it from any loopback client.
        "proxy_headers": False,
        "server_header": False,
        # Django's LOGGING (JSON lines on stdout) formats uvicorn's records too.
        "log_config": None,
        "timeout_graceful_shutdown": env_int("B2I_WEB_SHUTDOWN_SECONDS", 20),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve B2I Console (HTTP + WebSocket).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # uvicorn.run's keyword types are narrower than the option dict's values (Any).
    uvicorn.run(APP, **uvicorn_options(args.host, args.port))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
