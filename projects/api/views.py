"""REST API for workspaces, projects, members and registry secrets.

Every view resolves its workspace/project through projects.access in `initial()`, before the
body is validated, so an invisible object answers 404 and a visible but forbidden one 403
whatever the request carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from audit.api.auditing import AuditedView
from audit.recording import Scope
from projects import access, services
from projects.api import serializers as s
from projects.models import Project, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The model a scoped view lists or shows (a workspace's projects, a project's builders, ...).
_Row = TypeVar("_Row", bound=Model)

CONFIRM_PARAMETER = OpenApiParameter(
    "confirm", str, description="The object's name, confirming the deletion", required=True
)


def signed_in_user(request: Request) -> User:
    """request.user for a view behind IsAuthenticated (the API's default permission)."""
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated()
    return user


def confirmation(request: Request) -> str | None:
    confirm = request.query_params.get("confirm")
    if confirm is None and isinstance(request.data, dict):
        confirm = request.data.get("confirm")
    return confirm


class WorkspaceScoped(AuditedView, generics.GenericAPIView[_Row]):
    """Resolves `self.workspace` from the URL with the need of the request's method."""

    write_need = "manage"
    workspace: Workspace

    def workspace_need(self) -> str:
        return "view" if self.request.method in SAFE_METHODS else self.write_need

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.workspace = access.access_workspace_for_user(
            request.user, self.kwargs["workspace"], self.workspace_need()
        )
        self.audit_scope = Scope.of_workspace(self.workspace)


class ProjectScoped(AuditedView, generics.GenericAPIView[_Row]):
    """Resolves `self.project` from the URL with the need of the request's method."""

    write_need = "operate"
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        need = "view" if request.method in SAFE_METHODS else self.write_need
        self.project = access.access_project_for_user(
            request.user, self.kwargs["workspace"], self.kwargs["project"], need
        )
        self.audit_scope = Scope.of_project(self.project)


class WorkspaceList(AuditedView, generics.ListCreateAPIView[Workspace]):
    serializer_class = s.WorkspaceSerializer
    audit_object_type = "workspace"
    audit_fields = ("name", "alias", "description")

    def get_queryset(self) -> QuerySet[Workspace]:
        user = self.request.user
        workspaces = access.visible_workspaces(user).select_related("creator")
        return access.with_roles_for(workspaces, user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not access.can_create_workspace(request.user):
            raise PermissionDenied(
                "Only platform admins and platform self-provisioners may create workspaces."
            )
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Workspace]) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_workspace(
            signed_in_user(self.request),
            data["name"],
            data.get("alias", ""),
            data.get("description", ""),
        )
        self.audit_scope = Scope.of_workspace(serializer.instance)


class WorkspaceDetail(WorkspaceScoped[Workspace], generics.RetrieveUpdateDestroyAPIView[Workspace]):
    serializer_class = s.WorkspaceUpdateSerializer
    audit_object_type = "workspace"
    audit_id_kwarg = "workspace"
    audit_fields = ("alias", "description")

    def get_object(self) -> Workspace:
        return self.workspace

    @extend_schema(parameters=[CONFIRM_PARAMETER])
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_workspace(self.workspace, confirmation(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectList(WorkspaceScoped[Project], generics.ListCreateAPIView[Project]):
    serializer_class = s.ProjectSerializer
    write_need = "create_project"
    audit_object_type = "project"
    audit_fields = ("name", "alias", "description")

    def get_queryset(self) -> QuerySet[Project]:
        user = self.request.user
        projects = access.visible_projects(user).filter(workspace=self.workspace)
        projects = projects.select_related("workspace", "creator")
        return access.with_roles_for(projects, user)

    def perform_create(self, serializer: serializers.BaseSerializer[Project]) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_project(
            signed_in_user(self.request),
            self.workspace,
            data["name"],
            data.get("alias", ""),
            data.get("description", ""),
        )
        self.audit_scope = Scope.of_project(serializer.instance)


class ProjectDetail(ProjectScoped[Project], generics.RetrieveUpdateDestroyAPIView[Project]):
    serializer_class = s.ProjectUpdateSerializer
    write_need = "manage"
    audit_object_type = "project"
    audit_id_kwarg = "project"
    audit_fields = ("alias", "description")

    def get_object(self) -> Project:
        return self.project

    @extend_schema(parameters=[CONFIRM_PARAMETER])
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_project(self.project, confirmation(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
