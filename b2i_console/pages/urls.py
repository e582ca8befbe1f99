"""URL routes of the console pages (the API lives under /api/v1/)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from b2i_console.pages import audit, views
from b2i_console.pages.views import project_page, workspace_page

P = "workspaces/<str:ws>/projects/<str:project>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("workspaces/", views.workspaces, name="workspaces"),
    path("account/tokens/", views.account_tokens, name="account-tokens"),
    path("audit/", audit.platform_audit, name="platform-audit"),
    path("workspaces/<str:ws>/audit/", audit.workspace_audit, name="workspace-audit"),
    path(
        "workspaces/<str:ws>/",
        workspace_page("console/workspace_projects.html", "projects"),
        name="workspace-projects",
    ),
    path(
        "workspaces/<str:ws>/members/",
        workspace_page("console/members.html", "workspace-members"),
        name="workspace-members",
    ),
    path(P, project_page("console/project_overview.html", "overview"), name="project-overview"),
    path(
        P + "services/",
        project_page("console/services.html", "services"),
        name="project-services",
    ),
    path(
        P + "services/create/",
        project_page("console/service_create.html", "services", need="operate"),
        name="project-service-create",
    ),
    path(
        P + "services/create/<str:kind>/",
        project_page("console/service_wizard.html", "services", need="operate"),
        name="project-service-wizard",
    ),
    path(
        P + "services/<str:name>/",
        project_page("console/service_detail.html", "services"),
        name="project-service-detail",
    ),
    path(
        P + "deployments/",
        project_page("console/workloads.html", "deployments"),
        {"workload_kind": "deployments"},
        name="project-deployments",
    ),
    path(
        P + "statefulsets/",
        project_page("console/workloads.html", "statefulsets"),
        {"workload_kind": "statefulsets"},
        name="project-statefulsets",
    ),
    path(
        P + "jobs/",
        project_page("console/workloads.html", "jobs"),
        {"workload_kind": "jobs"},
        name="project-jobs",
    ),
    path(
        P + "imagebuilders/",
        project_page("console/imagebuilders.html", "imagebuilders"),
        name="project-imagebuilders",
    ),
    path(
        P + "imagebuilders/create/",
        project_page("console/imagebuilder_create.html", "imagebuilders", need="operate"),
        name="project-imagebuilder-create",
    ),
    path(
        P + "imagebuilders/<str:name>/",
        project_page("console/imagebuilder_detail.html", "imagebuilders"),
        name="project-imagebuilder-detail",
    ),
    path(P + "secrets/", project_page("console/secrets.html", "secrets"), name="project-secrets"),
    path(
        P + "notifications/",
        project_page("console/notifications.html", "notifications"),
        name="project-notifications",
    ),
    path(
        P + "members/",
        project_page("console/members.html", "members"),
        name="project-members",
    ),
]
