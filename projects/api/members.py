"""Members of workspaces and projects: invite an existing user with a role, change it, remove."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.api_errors import ApiError
from projects import services
from projects.api import serializers as s
from projects.api.views import ProjectScoped, WorkspaceScoped
from projects.models import ProjectMembership, WorkspaceMembership


def _already_member(username: str, where: str) -> ApiError:
    return ApiError(
        "members:already-member",
        f"{username} is already a member of this {where}; change their role instead.",
        status=409,
    )


def _not_member() -> Http404:
    return Http404("No such member.")


class WorkspaceMemberList(WorkspaceScoped, generics.ListCreateAPIView):
    serializer_class = s.WorkspaceMemberSerializer

    def get_queryset(self) -> QuerySet[WorkspaceMembership]:
        return self.workspace.memberships.select_related("user").order_by("user__username")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.find_user(serializer.validated_data["user"]["username"])
        if self.workspace.memberships.filter(user=user).exists():
            raise _already_member(user.username, "workspace")
        membership = services.set_workspace_member(
            self.workspace, user, serializer.validated_data["role"]
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


class WorkspaceMemberDetail(WorkspaceScoped, generics.GenericAPIView):
    serializer_class = s.WorkspaceMemberSerializer

    def get_object(self) -> WorkspaceMembership:
        membership = (
            self.workspace.memberships.select_related("user")
            .filter(user__username=self.kwargs["username"])
            .first()
        )
        if membership is None:
            raise _not_member()
        return membership

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.RoleSerializer)
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        role = s.WorkspaceMemberSerializer(data=request.data, partial=True)
        role.is_valid(raise_exception=True)
        if "role" in role.validated_data:
            membership = services.set_workspace_member(
                self.workspace, membership.user, role.validated_data["role"]
            )
        return Response(self.get_serializer(membership).data)

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.remove_workspace_member(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectMemberList(ProjectScoped, generics.ListCreateAPIView):
    serializer_class = s.ProjectMemberSerializer
    write_need = "manage"

    def get_queryset(self) -> QuerySet[ProjectMembership]:
        return self.project.memberships.select_related("user").order_by("user__username")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.find_user(serializer.validated_data["user"]["username"])
        if self.project.memberships.filter(user=user).exists():
            raise _already_member(user.username, "project")
        membership = services.set_project_member(
            self.project, user, serializer.validated_data["role"]
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


class ProjectMemberDetail(ProjectScoped, generics.GenericAPIView):
    serializer_class = s.ProjectMemberSerializer
    write_need = "manage"

    def get_object(self) -> ProjectMembership:
        membership = (
            self.project.memberships.select_related("user")
            .filter(user__username=self.kwargs["username"])
            .first()
        )
        if membership is None:
            raise _not_member()
        return membership

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.RoleSerializer)
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        role = s.ProjectMemberSerializer(data=request.data, partial=True)
        role.is_valid(raise_exception=True)
        if "role" in role.validated_data:
            membership = services.set_project_member(
                self.project, membership.user, role.validated_data["role"]
            )
        return Response(self.get_serializer(membership).data)

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
