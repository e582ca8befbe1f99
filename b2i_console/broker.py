"""Celery's Redis transport, made to survive the worker's own cleanup after a Redis outage.

Celery 5.7 (with kombu 5.7, the latest of both) handles a lost broker connection in
`Consumer.on_connection_error_after_connected`: it first `collect()`s the broken connection,
which detaches it from its transport (`transport.client = None`), then closes it. Closing the
connection closes its default channel, which restores the unacknowledged messages through a
fresh Redis pool - and kombu builds a pool's parameters from `transport.client`. That raised
`AttributeError: 'NoneType' object has no attribute 'hostname'`, which is not a connection
error, so Celery logged "Unrecoverable error" and the worker exited for good.

This transport's channels remember the broker connection they were opened on and build a pool
from it when the transport lost it. The restore then either reaches Redis or fails with a
connection error, which Celery ignores while it reconnects. Selected by CELERY_BROKER_TRANSPORT.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        self._broker_connection = connection.client  # the kombu Connection: URL and options
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport.client is not None:
            return self._kombu_connparams(asynchronous)
        # Detached by Celery's cleanup (see above): borrow back the connection it came from.
        transport.client = self._broker_connection
        try:
            return self._kombu_connparams(asynchronous)
        finally:
            transport.client = None

    def _kombu_connparams(self, asynchronous: bool) -> dict[str, Any]:
        # kombu's stubs leave out its private _connparams, which this class exists to wrap.
        params = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return dict(params)


class Transport(redis.Transport):
    Channel = Channel
