"""URLs of the tenancy API, included under /api/v1/ by b2i_console/api_urls.py."""

from django.urls import path

from projects.api import members, secrets, tokens, views

WS = "workspaces/<str:workspace>/"
PROJECT = WS + "projects/<str:project>/"

urlpatterns = [
    path("me/", tokens.Me.as_view(), name="api-me"),
    path("tokens/", tokens.ApiTokenList.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>/", tokens.ApiTokenDetail.as_view(), name="api-token"),
    path("workspaces/", views.WorkspaceList.as_view(), name="api-workspaces"),
    path(WS, views.WorkspaceDetail.as_view(), name="api-workspace"),
    path(WS + "members/", members.WorkspaceMemberList.as_view(), name="api-workspace-members"),
    path(
        WS + "members/<str:username>/",
        members.WorkspaceMemberDetail.as_view(),
        name="api-workspace-member",
    ),
    path(WS + "projects/", views.ProjectList.as_view(), name="api-projects"),
    path(PROJECT, views.ProjectDetail.as_view(), name="api-project"),
    path(PROJECT + "members/", members.ProjectMemberList.as_view(), name="api-project-members"),
    path(
        PROJECT + "members/<str:username>/",
        members.ProjectMemberDetail.as_view(),
        name="api-project-member",
    ),
    path(
        PROJECT + "registrysecrets/",
        secrets.RegistrySecretList.as_view(),
        name="api-registrysecrets",
    ),
    # Not under registrysecrets/: "validate" is a valid secret name.
    path(PROJECT + "registryprobe/", secrets.RegistryProbe.as_view(), name="api-registryprobe"),
    path(
        PROJECT + "registrysecrets/<str:name>/",
        secrets.RegistrySecretDetail.as_view(),
        name="api-registrysecret",
    ),
    path(
        PROJECT + "registrysecrets/<str:name>/validate/",
        secrets.RegistrySecretValidate.as_view(),
        name="api-registrysecret-validate",
    ),
]
