"""THE access module: every permission decision of pages, API and WebSocket consumers is made here.

Roles (KubeSphere's platform, workspace and project roles, as the console keeps them):

- platform: superuser = platform-admin (everything); a user with the permission
  `projects.create_workspaces` = platform-self-provisioner (may create workspaces); anyone else
  is platform-regular (sees nothing until invited).
- workspace (WorkspaceMembership.role): workspace-admin (everything in all its projects, members),
  workspace-self-provisioner (creates projects and becomes their admin), workspace-regular (sees
  the workspace), workspace-viewer (reads everything in all its projects). A member of a project
  in a workspace also sees that workspace (as if workspace-regular).
- project (ProjectMembership.role): admin (everything incl. members), operator (creates, runs and
  deletes image builders, services and secrets; not members), viewer (read only).

Needs:

- workspace needs: "view" (see it and its member list), "create_project" (workspace-admin,
  workspace-self-provisioner), "manage" (edit/delete the workspace, invite/change/remove members:
  workspace-admin).
- project needs: "view" (read everything in the project), "operate" (create/run/cancel/delete
  image builders, builds, services and registry secrets; validate secrets), "manage" (edit/delete
  the project, members and roles).

The 404/403 rule: what a user may not see answers Http404 (its existence is not revealed); what
they may see but not change answers PermissionDenied (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias, TypeGuard, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.expressions import BaseExpression
from django.http import Http404

from projects.models import (
    Project,
    ProjectMembership,
    ProjectRole,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from projects.models import ProjectQuerySet, WorkspaceQuerySet

# Whoever asks: request.user or a socket's scope["user"], signed in or anonymous.
RequestUser: TypeAlias = "User | AnonymousUser"
_Rows = TypeVar("_Rows", "WorkspaceQuerySet", "ProjectQuerySet")

WorkspaceNeed = Literal["view", "create_project", "manage", "audit"]
ProjectNeed = Literal["view", "operate", "manage"]

WORKSPACE_NEEDS: dict[str, frozenset[str]] = {
    "view": frozenset(WorkspaceRole.values),
    "create_project": frozenset({WorkspaceRole.ADMIN, WorkspaceRole.SELF_PROVISIONER}),
    "manage": frozenset({WorkspaceRole.ADMIN}),
    # Read the workspace's audit log (its admins; platform admins read every entry).
    "audit": frozenset({WorkspaceRole.ADMIN}),
}
PROJECT_NEEDS: dict[str, frozenset[str]] = {
    "view": frozenset(ProjectRole.values),
    "operate": frozenset({ProjectRole.ADMIN, ProjectRole.OPERATOR}),
    "manage": frozenset({ProjectRole.ADMIN}),
}

CREATE_WORKSPACES_PERMISSION = "projects.create_workspaces"


def _is_active(user: RequestUser | None) -> TypeGuard[User]:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _is_platform_admin(user: RequestUser | None) -> TypeGuard[User]:
    return _is_active(user) and bool(user.is_superuser)


def can_create_workspace(user: RequestUser) -> bool:
    """Platform-admin and platform-self-provisioner may create workspaces."""
    return _is_platform_admin(user) or (
        _is_active(user) and user.has_perm(CREATE_WORKSPACES_PERMISSION)
    )


def may_manage_identity_providers(user: RequestUser | None) -> bool:
    """Group-to-role mappings decide who becomes admin: platform admins only."""
    return _is_platform_admin(user)


def can_set_quotas(user: RequestUser) -> bool:
    """Only platform admins set workspace quotas (limits a workspace admin must not lift)."""
    return _is_platform_admin(user)


def check_set_quotas(user: RequestUser, workspace: Workspace) -> None:
    if not can_set_quotas(user):
        raise PermissionDenied(
            f"Only platform admins may change the quota of workspace {workspace.name}."
        )


def visible_workspaces(user: RequestUser) -> WorkspaceQuerySet:
    """Return the workspaces the user may see."""
    queryset = Workspace.objects.all()
    if _is_platform_admin(user):
        return queryset.all()
    if not _is_active(user):
        return queryset.none()
    member = WorkspaceMembership.objects.filter(workspace=OuterRef("pk"), user=user)
    project_member = ProjectMembership.objects.filter(project__workspace=OuterRef("pk"), user=user)
    return queryset.filter(Exists(member) | Exists(project_member))


def visible_projects(user: RequestUser) -> ProjectQuerySet:
    """Return the projects the user may see."""
    queryset = Project.objects.all()
    if _is_platform_admin(user):
        return queryset.all()
    if not _is_active(user):
        return queryset.none()
    reads_whole_workspace = WorkspaceMembership.objects.filter(
        workspace=OuterRef("workspace"),
        user=user,
        role__in=[WorkspaceRole.ADMIN, WorkspaceRole.VIEWER],
    )
    member = ProjectMembership.objects.filter(project=OuterRef("pk"), user=user)
    return queryset.filter(Exists(reads_whole_workspace) | Exists(member))


def with_roles_for(queryset: _Rows, user: RequestUser) -> _Rows:
    """Annotate workspaces or projects with the user's memberships, saving queries per row.

    workspace_role()/project_role() use the annotations when they were made for the same user.
    """
    if not _is_active(user) or _is_platform_admin(user):
        return queryset
    is_projects = queryset.model is Project
    ws_ref = OuterRef("workspace") if is_projects else OuterRef("pk")
    ws_role = WorkspaceMembership.objects.filter(workspace=ws_ref, user=user).values("role")[:1]
    annotations: dict[str, BaseExpression] = {
        "roles_user_id": Value(user.pk),
        "ws_member_role": Subquery(ws_role),
    }
    if is_projects:
        own = ProjectMembership.objects.filter(project=OuterRef("pk"), user=user)
        annotations["project_member_role"] = Subquery(own.values("role")[:1])
    else:
        in_any = ProjectMembership.objects.filter(project__workspace=OuterRef("pk"), user=user)
        annotations["in_any_project"] = Exists(in_any)
    return queryset.annotate(**annotations)


def _annotated_for(obj: Workspace | Project, user: RequestUser) -> bool:
    return bool(getattr(obj, "roles_user_id", None) == user.pk)


def workspace_role(user: RequestUser | None, workspace: Workspace) -> str | None:
    """Return the user's effective role in the workspace, or None when it is invisible to them."""
    if _is_platform_admin(user):
        return WorkspaceRole.ADMIN
    if not _is_active(user):
        return None
    if _annotated_for(workspace, user):
        ws_role, in_any_project = workspace.ws_member_role, workspace.in_any_project
    else:
        membership = WorkspaceMembership.objects.filter(workspace=workspace, user=user).first()
        ws_role = membership.role if membership else None
        in_any_project = ws_role is None and (
            ProjectMembership.objects.filter(project__workspace=workspace, user=user).exists()
        )
    if ws_role is not None:
        return ws_role
    return WorkspaceRole.REGULAR if in_any_project else None


def project_role(user: RequestUser | None, project: Project) -> str | None:
    """Return the user's effective role in the project, or None when it is invisible to them."""
    if _is_platform_admin(user):
        return ProjectRole.ADMIN
    if not _is_active(user):
        return None
    if _annotated_for(project, user):
        ws_role, own_role = project.ws_member_role, project.project_member_role
    else:
        ws_membership = WorkspaceMembership.objects.filter(
            workspace_id=project.workspace_id, user=user
        ).first()
        ws_role = ws_membership.role if ws_membership else None
        membership = ProjectMembership.objects.filter(project=project, user=user).first()
        own_role = membership.role if membership else None
    return _effective_project_role(ws_role, own_role)


def _effective_project_role(ws_role: str | None, own_role: str | None) -> str | None:
    # A workspace-admin administers every project; an explicit project role beats
    # workspace-viewer (an operator stays operator); workspace-viewer reads every project.
    if ws_role == WorkspaceRole.ADMIN:
        return ProjectRole.ADMIN
    if own_role is not None:
        return own_role
    if ws_role == WorkspaceRole.VIEWER:
        return ProjectRole.VIEWER
    return None


def _check_need(need: str, table: dict[str, frozenset[str]]) -> frozenset[str]:
    try:
        return table[need]
    except KeyError:
        raise ValueError(f"unknown need {need!r}; expected one of {sorted(table)}") from None


def needs_granted(role: str | None, table: dict[str, frozenset[str]]) -> dict[str, bool]:
    """Map every need of WORKSPACE_NEEDS or PROJECT_NEEDS to whether `role` grants it."""
    return {need: role is not None and role in roles for need, roles in table.items()}


def can_workspace(user: RequestUser, workspace: Workspace, need: WorkspaceNeed | str) -> bool:
    """Tell whether the user may do `need` in the workspace."""
    allowed = _check_need(need, WORKSPACE_NEEDS)
    role = workspace_role(user, workspace)
    return role is not None and role in allowed


def can(user: RequestUser, project: Project, need: ProjectNeed | str) -> bool:
    """Tell whether the user may do `need` in the project (for showing/hiding buttons)."""
    allowed = _check_need(need, PROJECT_NEEDS)
    role = project_role(user, project)
    return role is not None and role in allowed


def may_bring_users_into(user: RequestUser, workspace: Workspace) -> bool:
    """Tell whether the user may make platform users members of the workspace (its admins)."""
    return can_workspace(user, workspace, "manage")


def check_change_of_workspace_member(user: RequestUser, workspace: Workspace, member: User) -> None:
    """Refuse demoting or removing the workspace's creator, except by them or a platform admin.

    Any workspace admin may manage members, but the creator must not lose the workspace
    they made to an admin they invited.
    """
    if member.pk != workspace.creator_id or member.pk == user.pk or _is_platform_admin(user):
        return
    raise PermissionDenied(
        f"{member.get_username()} created workspace {workspace.name} and stays its admin; "
        "only they or a platform admin can change that."
    )


def check_workspace(
    user: RequestUser, workspace: Workspace, need: WorkspaceNeed | str
) -> Workspace:
    """Return the workspace if allowed, else raise Http404 (invisible) or PermissionDenied."""
    allowed = _check_need(need, WORKSPACE_NEEDS)
    role = workspace_role(user, workspace)
    if role is None:
        raise Http404("No such workspace.")
    if role not in allowed:
        raise PermissionDenied(
            f"Your role {role} in workspace {workspace.name} does not allow this."
        )
    return workspace


def check_project(user: RequestUser, project: Project, need: ProjectNeed | str) -> Project:
    """Return the project if allowed, else raise Http404 (invisible) or PermissionDenied."""
    allowed = _check_need(need, PROJECT_NEEDS)
    role = project_role(user, project)
    if role is None:
        raise Http404("No such project.")
    if role not in allowed:
        raise PermissionDenied(f"Your role {role} in project {project.name} does not allow this.")
    return project


def access_workspace_for_user(
    user: RequestUser, name: str, need: WorkspaceNeed | str = "view"
) -> Workspace:
    """Load a workspace by name for the user, or raise Http404 / PermissionDenied."""
    workspace = Workspace.objects.filter(name=name).first()
    if workspace is None:
        raise Http404("No such workspace.")
    return check_workspace(user, workspace, need)


def access_project_for_user(
    user: RequestUser,
    workspace: str | Workspace | None,
    name: str,
    need: ProjectNeed | str = "view",
) -> Project:
    """Load a project by name (inside `workspace` when given) or raise Http404 / PermissionDenied.

    `workspace` may be a name, a Workspace, or None (project names are unique installation-wide).
    A project in another workspace than the one named answers 404, so URLs cannot mix tenants.
    """
    # With the user's memberships annotated: the check below and every later can() of the
    # request read them instead of two queries each.
    projects = with_roles_for(Project.objects.select_related("workspace").filter(name=name), user)
    if isinstance(workspace, Workspace):
        projects = projects.filter(workspace=workspace)
    elif workspace is not None:
        projects = projects.filter(workspace__name=workspace)
    project = projects.first()
    if project is None:
        raise Http404("No such project.")
    return check_project(user, project, need)


def project_filter_for_user(user: RequestUser, prefix: str = "project") -> Q:
    """Return a Q limiting rows with a `project` relation to projects the user can see.

    Use it on other apps' querysets: `ImageBuilder.objects.filter(project_filter_for_user(user))`.
    """
    visible = visible_projects(user).values("pk")
    return Q(**{f"{prefix}__in": visible})


# --- notifications ------------------------------------------------------------------------
# A project's webhook channels (their URLs and secrets are the project's) are managed by its
# admins and seen by every member; each member manages only their own e-mail subscription, and
# a subscription delivers only while its owner may still see the project.

CHANNELS_WRITE_NEED: ProjectNeed = "manage"
OWN_SUBSCRIPTION_NEED: ProjectNeed = "view"


def check_notification_channels(user: RequestUser, project: Project, *, write: bool) -> Project:
    """Allow reading channels to members, changing or testing them to the project's admins."""
    return check_project(user, project, CHANNELS_WRITE_NEED if write else "view")


def check_own_subscription(user: RequestUser, project: Project) -> Project:
    """Allow every member to read and change their own e-mail subscription (nobody else's)."""
    return check_project(user, project, OWN_SUBSCRIPTION_NEED)


def may_receive_notifications(user: RequestUser, project: Project) -> bool:
    """Whether a subscriber still may hear about the project (removed members do not)."""
    return can(user, project, "view")


def audit_workspaces_for(user: RequestUser) -> WorkspaceQuerySet | None:
    """The workspaces whose audit log the user may read; None means all entries (platform admin).

    Workspace admins read their workspaces' entries; nobody else reads any."""
    if _is_platform_admin(user):
        return None
    if not _is_active(user):
        return Workspace.objects.none()
    admin_of = WorkspaceMembership.objects.filter(user=user, role=WorkspaceRole.ADMIN)
    return Workspace.objects.filter(pk__in=admin_of.values("workspace_id"))


def may_read_all_audit(user: RequestUser) -> bool:
    """Platform admins read every audit entry, including those of no workspace."""
    return _is_platform_admin(user)


def may_read_any_audit(user: RequestUser) -> bool:
    scope = audit_workspaces_for(user)
    return scope is None or scope.exists()
