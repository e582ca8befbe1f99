"""How the console talks to Redis: the channel layer's connection options (one place, so the
settings, the worker and the tests build the same layer)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

# channels-redis waits for a message with a blocking BZPOPMIN of 5 s (its brpop_timeout).
# redis-py (since 6.0) gives every connection a 5 s socket timeout by default: the two raced,
# so a socket with nothing to say for 5 s died with "Timeout reading from …" and close code
# 1011. A read must always outlast the blocking pop; 30 s still notices a hung server.
CHANNEL_LAYER_SOCKET_TIMEOUT = 30.0
CHANNEL_LAYER_CONNECT_TIMEOUT = 5.0


def channel_layer_host(redis_url: str) -> dict[str, Any]:
    """Connection options of the channel layer's Redis pool for `redis_url`."""
    return {
        "address": redis_url,
        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
        "socket_connect_timeout": CHANNEL_LAYER_CONNECT_TIMEOUT,
        "socket_keepalive": True,
        # After a Redis restart every pooled connection is dead: without this the first
        # command on each one failed (HTTP 500 for the first WebSocket handshake). Retrying a
        # connection error on a fresh connection is safe here: the layer only carries
        # doorbells, and a repeated doorbell is harmless (consumers read lines by seq).
        "retry_on_error": [RedisConnectionError],
    }


def channel_layers(redis_url: str) -> dict[str, Any]:
    """The CHANNEL_LAYERS setting for a Redis at `redis_url`."""
    return {
        "default": {
            "BACKEND": "b2i_console.channel_layer.ReconnectingRedisChannelLayer",
            "CONFIG": {"hosts": [channel_layer_host(redis_url)], "prefix": "b2i"},
        }
    }


def broker_connection_options() -> dict[str, Any]:
    """Socket options of Celery's Redis connections (broker and result backend).

    Keepalive and a health check find a connection Redis dropped (a restart) before a command
    is lost on it; the read timeout stays above kombu's 1 s blocking pop."""
    return {
        "socket_timeout": 30.0,
        "socket_connect_timeout": 5.0,
        "socket_keepalive": True,
        "health_check_interval": 25,
    }
