"""Build the template context of the console shell: switchers, navigation and permissions.

Every permission shown here (which buttons appear) comes from `projects.access`; the API checks
the same rules again, so hiding a button is a courtesy and never the protection.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from projects import access
from projects.models import Project, Workspace
from workloads.models import Cluster

API_ROOT = "/api/v1"


def workspace_api(workspace: Workspace) -> str:
    return f"{API_ROOT}/workspaces/{workspace.name}"


def project_api(project: Project) -> str:
    return f"{workspace_api(project.workspace)}/projects/{project.name}"


def base_context(request: HttpRequest, page: str) -> dict[str, Any]:
    """Return what every signed-in page needs: the workspace switcher and the page name."""
    return {
        "page": page,
        "switch_workspaces": list(access.visible_workspaces(request.user).only("name", "alias")),
        "can_create_workspace": access.can_create_workspace(request.user),
        "config": {
            "page": page,
            "user": request.user.get_username(),
            "api": {"root": API_ROOT, "tokens": f"{API_ROOT}/tokens/"},
            "can": {"createWorkspace": access.can_create_workspace(request.user)},
        },
    }


def workspace_context(request: HttpRequest, workspace: Workspace, page: str) -> dict[str, Any]:
    """Return the shell context of a workspace page (its projects and the user's rights)."""
    context = base_context(request, page)
    can = {
        "createProject": access.can_workspace(request.user, workspace, "create_project"),
        "manage": access.can_workspace(request.user, workspace, "manage"),
        "audit": access.can_workspace(request.user, workspace, "audit"),
    }
    context.update(
        workspace=workspace,
        switch_projects=list(
            access.visible_projects(request.user).filter(workspace=workspace).only("name")
        ),
        can=can,
    )
    context["config"]["workspace"] = workspace.name
    context["config"]["api"]["workspace"] = workspace_api(workspace)
    context["config"]["can"].update(can)
    return context


def project_context(request: HttpRequest, project: Project, page: str) -> dict[str, Any]:
    """Return the shell context of a project page, with the left navigation and permissions."""
    context = workspace_context(request, project.workspace, page)
    can = {
        "view": True,
        "operate": access.can(request.user, project, "operate"),
        "manage": access.can(request.user, project, "manage"),
    }
    context.update(project=project, can=can, project_nav=project_navigation(project, page))
    config = context["config"]
    config["project"] = project.name
    config["api"]["project"] = project_api(project)
    config["can"] = {**config["can"], **can}
    config["maxArtifactBytes"] = settings.B2I_MAX_ARTIFACT_BYTES
    config["urls"] = {"project": project_url(project, "project-overview")}
    if page in CLUSTER_PAGES:
        # Said before the five wizard steps, not only when the last one fails with 409; and on
        # the workload lists, which are otherwise just empty.
        context["cluster_configured"] = cluster_configured()
    return context


# Pages that need a Kubernetes cluster and say so when none is configured.
CLUSTER_PAGES = frozenset({"services", "deployments", "statefulsets", "jobs"})


def cluster_configured() -> bool:
    return Cluster.objects.exists()


def project_url(project: Project, name: str, **kwargs: str) -> str:
    return reverse(name, kwargs={"ws": project.workspace.name, "project": project.name, **kwargs})


def project_navigation(project: Project, page: str) -> list[dict[str, Any]]:
    """Return the left navigation of a project: groups of items (label, url, current)."""

    def item(label: str, name: str) -> dict[str, Any]:
        key = name.removeprefix("project-")
        return {"label": label, "url": project_url(project, name), "current": page == key}

    return [
        {"group": "", "items": [item(_("Overview"), "project-overview")]},
        {
            "group": _("Application Workloads"),
            "items": [
                item(_("Services"), "project-services"),
                item(_("Deployments"), "project-deployments"),
                item(_("StatefulSets"), "project-statefulsets"),
                item(_("Jobs"), "project-jobs"),
            ],
        },
        {"group": _("Build"), "items": [item(_("Image Builders"), "project-imagebuilders")]},
        {"group": _("Configuration"), "items": [item(_("Secrets"), "project-secrets")]},
        {
            "group": _("Project Settings"),
            "items": [
                item(_("Members"), "project-members"),
                item(_("Notifications"), "project-notifications"),
            ],
        },
    ]
