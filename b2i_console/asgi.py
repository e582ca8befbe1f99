"""ASGI entry point: HTTP and WebSocket on one port (served by uvicorn: b2i_console.serve)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "b2i_console.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from b2i_console.routing import websocket_urlpatterns  # noqa: E402
from b2i_console.sockets import CsrfOriginValidator  # noqa: E402
from builders.asgi_limits import BodyLimitMiddleware  # noqa: E402
from builders.socket_count import SocketCountMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": SocketCountMiddleware(
            CsrfOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
