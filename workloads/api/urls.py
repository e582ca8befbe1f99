"""URLs of the services API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from workloads.api import artifacts, views

PROJECT = "workspaces/<str:workspace>/projects/<str:project>/"
SERVICE = PROJECT + "services/<str:name>/"

urlpatterns = [
    path(
        "build-artifacts/<str:token>/",
        artifacts.BuildArtifactDownload.as_view(),
        name="api-build-artifact",
    ),
    path(PROJECT + "jobs/", views.BuildJobList.as_view(), name="api-build-jobs"),
    path(PROJECT + "services/", views.ServiceList.as_view(), name="api-services"),
    # Before SERVICE, so "preview" is reserved (check_create_service refuses it as a name).
    path(PROJECT + "services/preview/", views.ServicePreview.as_view(), name="api-service-preview"),
    path(SERVICE, views.ServiceDetail.as_view(), name="api-service"),
    path(SERVICE + "status/", views.ServiceStatus.as_view(), name="api-service-status"),
    path(SERVICE + "export/", views.ServiceExport.as_view(), name="api-service-export"),
    path(SERVICE + "rollback/", views.ServiceRollback.as_view(), name="api-service-rollback"),
]
