"""Apply an identity provider's groups to a user's roles, at each sign-in (grant and revoke).

Only roles that a mapping gave (MappedGrant rows) are ever revoked: a role an admin gave by hand
stays whatever the provider says, and a mapping never downgrades it either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Permission, User
from django.db import transaction

from audit.models import ActorKind, Channel
from audit.recording import Actor, Scope, Source, Target, record
from b2i_console.errors import UserError
from identity.models import GroupRoleMapping, MappedGrant, PlatformRole
from projects.models import (
    Project,
    ProjectMembership,
    ProjectRole,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)
from projects.services import remove_workspace_member

logger = logging.getLogger(__name__)

# Strongest first: when two of a user's groups map one workspace to different roles, the
# stronger wins.
_WORKSPACE_STRENGTH = [
    WorkspaceRole.ADMIN,
    WorkspaceRole.SELF_PROVISIONER,
    WorkspaceRole.REGULAR,
    WorkspaceRole.VIEWER,
]
_PROJECT_STRENGTH = [ProjectRole.ADMIN, ProjectRole.OPERATOR, ProjectRole.VIEWER]


@dataclass(frozen=True)
class Grant:
    platform_role: str = ""
    workspace_id: int | None = None
    project_id: int | None = None
    role: str = ""


@dataclass(frozen=True)
class GrantChanges:
    granted: list[Grant]
    revoked: list[Grant]


def mappings_for(provider: str, groups: Iterable[str]) -> list[GroupRoleMapping]:
    wanted = {group.casefold() for group in groups}
    rows = GroupRoleMapping.objects.filter(provider=provider)
    return [row for row in rows if row.group.casefold() in wanted]


def desired_grants(mappings: Iterable[GroupRoleMapping]) -> set[Grant]:
    """The grants the mappings ask for, one per target (the strongest role per target)."""
    grants: set[Grant] = set()
    workspace_roles: dict[int, str] = {}
    project_roles: dict[int, str] = {}
    for mapping in mappings:
        if mapping.platform_role:
            grants.add(Grant(platform_role=mapping.platform_role))
        elif mapping.workspace_id is not None:
            workspace_roles[mapping.workspace_id] = _stronger(
                _WORKSPACE_STRENGTH, workspace_roles.get(mapping.workspace_id), mapping.role
            )
        elif mapping.project_id is not None:
            project_roles[mapping.project_id] = _stronger(
                _PROJECT_STRENGTH, project_roles.get(mapping.project_id), mapping.role
            )
    grants |= {Grant(workspace_id=key, role=role) for key, role in workspace_roles.items()}
    grants |= {Grant(project_id=key, role=role) for key, role in project_roles.items()}
    return grants


def _stronger(order: list[WorkspaceRole] | list[ProjectRole], current: str | None, new: str) -> str:
    if current is None:
        return new
    ranks = [str(role) for role in order]
    return current if ranks.index(current) <= ranks.index(new) else new


@transaction.atomic
def apply_group_roles(user: User, groups: Iterable[str], provider: str) -> GrantChanges:
    """Make the user's mapped roles match the provider's groups: grant the new, revoke the gone."""
    wanted = desired_grants(mappings_for(provider, groups))
    held = {
        _grant_of(row): row
        for row in MappedGrant.objects.select_for_update().filter(user=user, provider=provider)
    }
    revoked = [grant for grant in held if _target(grant) not in {_target(w) for w in wanted}]
    for grant in revoked:
        _revoke(user, grant)
        held[grant].delete()
        _audit("role.revoke", user, grant, provider)
    granted = []
    for grant in wanted:
        if grant in held:
            continue
        if _give(user, grant, was_mapped=_target(grant) in {_target(h) for h in held}):
            MappedGrant.objects.filter(user=user, provider=provider).filter(
                **_target_filter(grant)
            ).delete()
            MappedGrant.objects.create(user=user, provider=provider, **_fields(grant))
            granted.append(grant)
            _audit("role.grant", user, grant, provider)
    return GrantChanges(granted=granted, revoked=revoked)


def _audit(action: str, user: User, grant: Grant, provider: str) -> None:
    """One audit entry per role a provider's groups granted or revoked, in this transaction."""
    actor = Actor(ActorKind.SYSTEM, name=f"{provider} group mapping")
    scope = Scope()
    if grant.workspace_id is not None:
        scope = Scope.of_workspace(Workspace.objects.filter(pk=grant.workspace_id).first())
    elif grant.project_id is not None:
        project = Project.objects.select_related("workspace").filter(pk=grant.project_id)
        scope = Scope.of_project(project.first())
    target = Target("user", str(user.pk), user.get_username(), scope)
    detail = {"provider": provider, "role": grant.platform_role or grant.role}
    record(action, actor, Source(Channel.WEB), target, detail=detail)


def _grant_of(row: MappedGrant) -> Grant:
    return Grant(row.platform_role, row.workspace_id, row.project_id, row.role)


def _target(grant: Grant) -> tuple[str, int | None, int | None]:
    return (grant.platform_role, grant.workspace_id, grant.project_id)


def _target_filter(grant: Grant) -> dict[str, object]:
    return {
        "platform_role": grant.platform_role,
        "workspace_id": grant.workspace_id,
        "project_id": grant.project_id,
    }


def _fields(grant: Grant) -> dict[str, object]:
    return {**_target_filter(grant), "role": grant.role}


def _give(user: User, grant: Grant, *, was_mapped: bool) -> bool:
    """Give the role unless the user already holds one there that a mapping did not give."""
    if grant.platform_role:
        return _give_platform_role(user, grant.platform_role)
    if grant.workspace_id is not None:
        return _give_workspace_role(user, grant.workspace_id, grant.role, was_mapped)
    assert grant.project_id is not None
    return _give_project_role(user, grant.project_id, grant.role, was_mapped)


def _give_platform_role(user: User, role: str) -> bool:
    if role == PlatformRole.ADMIN:
        if user.is_superuser:
            return False
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
        return True
    permission = _create_workspaces_permission()
    if user.user_permissions.filter(pk=permission.pk).exists():
        return False
    user.user_permissions.add(permission)
    return True


def _give_workspace_role(user: User, workspace_id: int, role: str, was_mapped: bool) -> bool:
    current = WorkspaceMembership.objects.filter(workspace_id=workspace_id, user=user).first()
    if current is None:
        WorkspaceMembership.objects.create(workspace_id=workspace_id, user=user, role=role)
        return True
    if not was_mapped:
        return False
    current.role = role
    current.save(update_fields=["role"])
    return True


def _give_project_role(user: User, project_id: int, role: str, was_mapped: bool) -> bool:
    current = ProjectMembership.objects.filter(project_id=project_id, user=user).first()
    if current is None:
        ProjectMembership.objects.create(project_id=project_id, user=user, role=role)
        return True
    if not was_mapped:
        return False
    current.role = role
    current.save(update_fields=["role"])
    return True


def _revoke(user: User, grant: Grant) -> None:
    if grant.platform_role == PlatformRole.ADMIN:
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
    elif grant.platform_role:
        user.user_permissions.remove(_create_workspaces_permission())
    elif grant.workspace_id is not None:
        _revoke_workspace_role(user, grant.workspace_id)
    elif grant.project_id is not None:
        ProjectMembership.objects.filter(project_id=grant.project_id, user=user).delete()


def _revoke_workspace_role(user: User, workspace_id: int) -> None:
    membership = WorkspaceMembership.objects.filter(workspace_id=workspace_id, user=user).first()
    if membership is None:
        return
    try:
        remove_workspace_member(membership)
    except UserError:
        # The last admin of a workspace is never removed by a provider: the workspace would be
        # left without anyone to run it. A platform admin decides.
        workspace = Workspace.objects.get(pk=workspace_id)
        logger.warning("kept %s as the last admin of workspace %s", user, workspace)


def _create_workspaces_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="projects", codename="create_workspaces")
