"""WebSocket of one service's rollout: its status pushed whenever the cluster reports a change.

URL: ws/workspaces/<ws>/projects/<p>/services/<name>/status/

Messages sent (JSON): {"type": "status", "desired", "updated", "ready", "available",
"complete", "conditions", "pods", "events", "access_urls", "state", …} — the same body as
GET …/services/<name>/status/. A thread watches the workload through the kubernetes client
(watch with a timeout, re-opened until the socket closes) and hands each status to the socket.
Refusals accept, then close with 4401 (not logged in) or 4403 (no access), also when a
periodic re-check finds the user lost access; cluster trouble is sent as
{"type": "error", "code", "message"}.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import connection
from django.http import Http404

from b2i_console.errors import UserError
from b2i_console.sockets import object_for_socket_user, watch_access
from projects import access
from workloads.client import KubeError
from workloads.manifests import shorten_name
from workloads.models import Service
from workloads.services import connect, service_status, workload_kind
from workloads.spec import parse_service_spec

if TYPE_CHECKING:
    from django.contrib.auth.models import User

WATCH_SECONDS = 10  # also how long a closed socket's watcher may linger


def get_service_for_user(user: User, workspace: str, project: str, name: str) -> Service:
    """Return the service if the user may view its project, else raise Http404/PermissionDenied."""
    found = access.access_project_for_user(user, workspace, project, "view")
    service = (
        Service.objects.select_related("project__workspace", "cluster", "builder")
        .filter(project=found, name=name)
        .first()
    )
    if service is None:
        raise Http404("No such service.")
    return service


# channels ships no type hints: its consumer base class is Any to mypy.
class ServiceStatusConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    # Statuses come from this socket's own watcher thread, not from a group, so the consumer
    # needs no channel layer: an alias that is not configured makes Channels skip it.
    channel_layer_alias = "workloads-direct"
    service: Service

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        where = (kwargs["workspace"], kwargs["project"], kwargs["name"])
        service = await object_for_socket_user(self, get_service_for_user, *where)
        if service is None:
            return
        self.access = watch_access(self, get_service_for_user, *where)
        self.service = service
        self.stopped = threading.Event()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await self.accept()
        loop = asyncio.get_running_loop()
        self.watcher = threading.Thread(target=self._watch, args=(loop,), daemon=True)
        self.watcher.start()
        self.sender = asyncio.ensure_future(self._send_updates())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "access"):
            self.access.cancel()
        if hasattr(self, "stopped"):
            self.stopped.set()
            self.sender.cancel()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _send_updates(self) -> None:
        last: dict[str, Any] | None = None
        while True:
            message = await self.queue.get()
            if message != last:  # the watch also fires for changes people cannot see
                await self.send_json(message)
                last = message

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Push the status now and after every change of the workload, until disconnected."""
        try:
            self._push(loop, self._status_message())
            spec = parse_service_spec(self.service.spec)
            name = shorten_name(spec.workload_name)
            while not self.stopped.is_set():
                kube = connect(self.service.cluster)
                try:
                    namespace = self.service.project.namespace
                    kind = workload_kind(spec)
                    for _ in kube.watch_workload(kind, namespace, name, timeout=WATCH_SECONDS):
                        if self.stopped.is_set():
                            break
                        self._push(loop, self._status_message())
                finally:
                    kube.close()
        except (KubeError, UserError) as error:
            self._push(loop, {"type": "error", "code": error.code, "message": error.message})
        finally:
            connection.close()  # this thread's own connection

    def _status_message(self) -> dict[str, Any]:
        try:
            self.service.refresh_from_db()
        finally:
            connection.close()  # hold no database session while blocked in the watch
        return {"type": "status", **service_status(self.service), "state": self.service.state}

    def _push(self, loop: asyncio.AbstractEventLoop, message: dict[str, Any]) -> None:
        if self.stopped.is_set():
            return
        try:
            loop.call_soon_threadsafe(self.queue.put_nowait, message)
        except RuntimeError:  # the socket's event loop is gone (server shutting down)
            self.stopped.set()
