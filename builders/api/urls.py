"""URLs of the builders API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from builders.api import (
    artifacts,
    environment_availability,
    environments,
    logs,
    supply_chain,
    trigger,
    views,
)

PROJECT = "workspaces/<str:workspace>/projects/<str:project>/"
BUILDER = PROJECT + "imagebuilders/<str:name>/"
RUN = BUILDER + "runs/<int:number>/"

urlpatterns = [
    path("buildenvironments/", environments.EnvironmentList.as_view(), name="api-environments"),
    path(
        "buildenvironments/<str:name>/",
        environments.EnvironmentDetail.as_view(),
        name="api-environment",
    ),
    path(
        PROJECT + "buildenvironments/",
        environment_availability.ProjectEnvironmentList.as_view(),
        name="api-project-environments",
    ),
    path(PROJECT + "artifacts/", artifacts.ArtifactList.as_view(), name="api-artifacts"),
    path(
        PROJECT + "artifacts/<str:sha256>/download/",
        artifacts.ArtifactDownload.as_view(),
        name="api-artifact-download",
    ),
    path(PROJECT + "uploads/", artifacts.UploadList.as_view(), name="api-uploads"),
    path(PROJECT + "uploads/<uuid:upload>/", artifacts.UploadDetail.as_view(), name="api-upload"),
    path(
        PROJECT + "uploads/<uuid:upload>/complete/",
        artifacts.UploadComplete.as_view(),
        name="api-upload-complete",
    ),
    path(PROJECT + "imagebuilders/", views.BuilderList.as_view(), name="api-imagebuilders"),
    path(BUILDER, views.BuilderDetail.as_view(), name="api-imagebuilder"),
    path(BUILDER + "run/", views.BuilderRun.as_view(), name="api-imagebuilder-run"),
    path(BUILDER + "trigger/", trigger.BuilderTrigger.as_view(), name="api-imagebuilder-trigger"),
    path(BUILDER + "runs/", views.RunList.as_view(), name="api-runs"),
    path(RUN, views.RunDetail.as_view(), name="api-run"),
    path(RUN + "cancel/", views.RunCancel.as_view(), name="api-run-cancel"),
    path(RUN + "log/", logs.RunLog.as_view(), name="api-run-log"),
    path(RUN + "log.txt", logs.RunLogDownload.as_view(), name="api-run-log-text"),
    path(RUN + "components/", supply_chain.RunComponents.as_view(), name="api-run-components"),
    path(RUN + "sbom/", supply_chain.RunSbom.as_view(), name="api-run-sbom"),
    path(RUN + "provenance/", supply_chain.RunProvenance.as_view(), name="api-run-provenance"),
    path(RUN + "changes/", supply_chain.RunChanges.as_view(), name="api-run-changes"),
]
