"""Members of workspaces and projects: invite an existing user with a role, change it, remove."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.api.auditing import AuditedView
from b2i_console.errors import UserError
from projects import access, services
from projects.api import serializers as s
from projects.api.views import ProjectScoped, WorkspaceScoped
from projects.models import (
    Project,
    ProjectMembership,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_Membership = TypeVar("_Membership", WorkspaceMembership, ProjectMembership)


class _Members(AuditedView, generics.GenericAPIView[_Membership]):
    """Shared by the workspace and project member views; the scope mixin resolves the owner."""

    place: str  # "workspace" or "project": the attribute WorkspaceScoped/ProjectScoped sets
    audit_object_type = "member"
    audit_actions = {"POST": "member.add", "PATCH": "member.update", "DELETE": "member.remove"}
    audit_id_key = audit_id_kwarg = "username"
    audit_fields = ("role",)
    # services.set_<place>_member; it takes the owner, which is a Workspace or a Project.
    set_member: Callable[[Any, User, str], _Membership]
    remove_member: Callable[[_Membership], object]

    def owner(self) -> Workspace | Project:
        owner: Workspace | Project = getattr(self, self.place)
        return owner

    def memberships(self) -> QuerySet[_Membership]:
        # The owner's memberships are of the subclass's _Membership; mypy sees the union.
        return self.owner().memberships.select_related("user")  # type: ignore[return-value]

    def invitees_from(self) -> Workspace | None:
        """The workspace whose members may be invited, or None when any user may be."""
        return None


class _MemberList(_Members[_Membership], generics.ListCreateAPIView[_Membership]):
    def get_queryset(self) -> QuerySet[_Membership]:
        return self.memberships().order_by("user__username")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.find_user(
            serializer.validated_data["user"]["username"], among_members_of=self.invitees_from()
        )
        if self.owner().memberships.filter(user=user).exists():
            raise UserError(
                "members:already-member",
                f"{user.username} is already a member of this {self.place}; "
                "change their role instead.",
                status=409,
            )
        membership = self.set_member(self.owner(), user, serializer.validated_data["role"])
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


class _MemberDetail(_Members[_Membership]):
    def get_object(self) -> _Membership:
        membership = self.memberships().filter(user__username=self.kwargs["username"]).first()
        if membership is None:
            raise Http404("No such member.")
        return membership

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.RoleSerializer)
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        role = self.get_serializer_class()(data=request.data, partial=True)
        role.is_valid(raise_exception=True)
        if "role" in role.validated_data:
            self.check_change(membership, role.validated_data["role"])
            membership = self.set_member(self.owner(), membership.user, role.validated_data["role"])
        return Response(self.get_serializer(membership).data)

    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        self.check_change(membership, None)
        self.remove_member(membership)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def check_change(self, membership: _Membership, new_role: str | None) -> None:
        """Raise PermissionDenied when this change of role (None: removal) is not allowed."""


class WorkspaceMemberList(WorkspaceScoped[WorkspaceMembership], _MemberList[WorkspaceMembership]):
    serializer_class = s.WorkspaceMemberSerializer
    place = "workspace"
    set_member = staticmethod(services.set_workspace_member)


class WorkspaceMemberDetail(
    WorkspaceScoped[WorkspaceMembership], _MemberDetail[WorkspaceMembership]
):
    serializer_class = s.WorkspaceMemberSerializer
    place = "workspace"
    set_member = staticmethod(services.set_workspace_member)
    # Also drops their memberships of the workspace's projects; refuses the last admin.
    remove_member = staticmethod(services.remove_workspace_member)

    def check_change(self, membership: WorkspaceMembership, new_role: str | None) -> None:
        if new_role != WorkspaceRole.ADMIN:
            access.check_change_of_workspace_member(
                self.request.user, self.workspace, membership.user
            )


class ProjectMemberList(ProjectScoped[ProjectMembership], _MemberList[ProjectMembership]):
    serializer_class = s.ProjectMemberSerializer
    write_need = "manage"
    place = "project"
    set_member = staticmethod(services.set_project_member)

    def invitees_from(self) -> Workspace | None:
        # KubeSphere's rule: a project's members come from its workspace; only workspace
        # admins bring other users in (they may invite them into a project directly).
        workspace = self.project.workspace
        return None if access.may_bring_users_into(self.request.user, workspace) else workspace


class ProjectMemberDetail(ProjectScoped[ProjectMembership], _MemberDetail[ProjectMembership]):
    serializer_class = s.ProjectMemberSerializer
    write_need = "manage"
    place = "project"
    set_member = staticmethod(services.set_project_member)
    remove_member = staticmethod(ProjectMembership.delete)
