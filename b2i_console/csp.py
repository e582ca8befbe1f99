"""Content-Security-Policy on every response (DEBUG or not): scripts, styles, images, fonts and
connections only from the console's own origin, no inline script or style, no plugins, no
framing. The pages are ES modules and one stylesheet (static/); values computed at run time are
set through the CSSOM (element.style), which a policy without 'unsafe-inline' allows, and page
data travels in a non-executable <script type="application/json"> (json_script).

An injected `<script>alert(1)</script>` or `onerror=` attribute therefore never runs, even if an
escaping bug let it into a page. Django 5.2 has no CSP support of its own (6.0 adds it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # Swagger UI draws its icons as data: SVGs.
    "img-src 'self' data:",
    "font-src 'self'",
    # 'self' covers the same-origin ws:/wss: live-log sockets (CSP level 3).
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
POLICY = "; ".join(DIRECTIVES)


@lru_cache(maxsize=4)
def policy_for(sign_on_issuer: str) -> str:
    """POLICY; with single sign-on, form-action also admits the provider: the Sign out form's
    answer redirects there (RP-initiated logout), and browsers check form redirects too."""
    if not sign_on_issuer:
        return POLICY
    parts = urlsplit(sign_on_issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    return POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


class ContentSecurityPolicyMiddleware:
    """Send POLICY unless a view set its own Content-Security-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = policy_for(settings.B2I_OIDC.issuer)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
