"""WebSocket URL routes, collected from the apps that serve sockets."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
