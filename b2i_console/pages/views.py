"""Console page views: check access, render the shell; the page's JS loads data from the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from b2i_console.pages.context import base_context, project_context, workspace_context
from builders.models import ImageBuilder
from projects import access

if TYPE_CHECKING:
    from projects.models import Project

ARTIFACT_KINDS = ("jar", "war", "binary")
WORKLOAD_KINDS = {"deployments", "statefulsets", "jobs"}

PageView = Callable[..., HttpResponse]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("workspaces")


@login_required
def workspaces(request: HttpRequest) -> HttpResponse:
    return render(request, "console/workspaces.html", base_context(request, "workspaces"))


@login_required
def account_tokens(request: HttpRequest) -> HttpResponse:
    return render(request, "console/tokens.html", base_context(request, "tokens"))


def workspace_page(template: str, page: str, need: str = "view") -> PageView:
    """Make a view for a workspace page that needs `need` in the workspace."""

    @login_required
    def view(request: HttpRequest, ws: str) -> HttpResponse:
        workspace = access.access_workspace_for_user(request.user, ws, need)
        return render(request, template, workspace_context(request, workspace, page))

    view.__name__ = f"workspace_{page}"
    return view


def project_page(template: str, page: str, need: str = "view") -> PageView:
    """Make a view for a project page; URL keywords beyond ws/project go into the page config."""

    @login_required
    def view(request: HttpRequest, ws: str, project: str, **extra: str) -> HttpResponse:
        found = access.access_project_for_user(request.user, ws, project, need)
        context = project_context(request, found, page)
        check_extra(found, page, extra)
        context["config"].update(extra)
        context.update(extra)
        return render(request, template, context)

    view.__name__ = f"project_{page}"
    return view


def check_extra(project: Project, page: str, extra: dict[str, str]) -> None:
    """Answer 404 for URL parts naming nothing (an unknown kind or image builder)."""
    if "kind" in extra and extra["kind"] not in ARTIFACT_KINDS:
        raise Http404("No such artifact kind.")
    if "workload_kind" in extra and extra["workload_kind"] not in WORKLOAD_KINDS:
        raise Http404("No such workload kind.")
    if (
        page == "imagebuilders"
        and "name" in extra
        and not ImageBuilder.objects.filter(project=project, name=extra["name"]).exists()
    ):
        raise Http404("No such image builder.")
