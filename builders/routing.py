"""WebSocket routes of the builders app (collected by b2i_console/routing.py)."""

from django.urls import path

from builders.consumers import BuildRunLogConsumer

websocket_urlpatterns = [
    path(
        "ws/workspaces/<str:workspace>/projects/<str:project>/imagebuilders/<str:builder>/"
        "runs/<int:number>/log/",
        BuildRunLogConsumer.as_asgi(),
        name="ws-build-run-log",
    ),
]
