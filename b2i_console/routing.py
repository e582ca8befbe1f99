"""WebSocket URL routes, collected from the apps that serve sockets."""

from django.urls import URLPattern

from builders.routing import websocket_urlpatterns as builders_websockets
from workloads.routing import websocket_urlpatterns as workloads_websockets

websocket_urlpatterns: list[URLPattern] = [*builders_websockets, *workloads_websockets]
