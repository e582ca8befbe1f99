"""Top-level URL routes."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from b2i_console import health
from builders.metrics import metrics_view
from identity.sign_in import SignInView, SignOutView

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages without an icon link (the admin, the API browser).
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("oidc/", include("identity.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("b2i_console.api_urls")),
    # The schema and its docs page describe every endpoint an attacker could try: signed-in
    # users only (the page sends a browser to the sign-in, the schema answers 401).
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        # The split view serves Swagger UI's start-up script as a file (?script), not inline: CSP.
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="api_docs.html"
            )
        ),
        name="api-docs",
    ),
    path("", include("b2i_console.pages.urls")),
]
