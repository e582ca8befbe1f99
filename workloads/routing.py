"""WebSocket routes of the workloads app (collected by b2i_console/routing.py)."""

from django.urls import path

from workloads.consumers import ServiceStatusConsumer

websocket_urlpatterns = [
    path(
        "ws/workspaces/<str:workspace>/projects/<str:project>/services/<str:name>/status/",
        ServiceStatusConsumer.as_asgi(),
        name="ws-service-status",
    ),
]
