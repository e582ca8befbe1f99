"""The /api/v1/ URL space: each app adds one include here (small edits, one line per app)."""

from django.urls import include, path

urlpatterns = [
    path("", include("projects.api.urls")),
    path("", include("builders.api.urls")),
    path("", include("workloads.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("identity.api.urls")),
    path("", include("audit.api.urls")),
]
