"""State changes of tenancy objects. Callers check permissions (projects.access) first.

Other apps tell us whether a project still has running work through
`register_active_work_check(fn)`: `fn(project) -> int` returns how many active things (e.g.
pending/running builds) it has; a project with any is not deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet

from b2i_console.errors import UserError
from projects import access
from projects.models import (
    Project,
    ProjectMembership,
    ProjectRole,
    RegistrySecret,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
    normalize_registry_address,
)

ActiveWorkCheck = Callable[[Project], int]
_active_work_checks: list[ActiveWorkCheck] = []

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def register_active_work_check(check: ActiveWorkCheck) -> None:
    """Register fn(project) -> number of active builds/jobs; call it from AppConfig.ready()."""
    if check not in _active_work_checks:
        _active_work_checks.append(check)


def count_active_work(project: Project) -> int:
    return sum(check(project) for check in _active_work_checks)


def find_user(username: str, *, among_members_of: Workspace | None = None) -> User:
    """Find an active user to invite; with `among_members_of`, only that workspace's members.

    A user who exists but is outside the workspace gets the very answer an unknown name gets,
    so inviting cannot be used to learn which user names exist on the platform.
    """
    users = get_user_model().objects.filter(username=username, is_active=True)
    if among_members_of is not None:
        users = users.filter(workspace_memberships__workspace=among_members_of)
    user = users.first()
    if user is None and among_members_of is not None:
        raise UserError(
            "members:unknown-user",
            f"No member of workspace {among_members_of.name} is called {username!r}; a "
            "workspace admin invites users into the workspace first.",
            status=400,
        )
    if user is None:
        raise UserError(
            "members:unknown-user",
            f"There is no active user {username!r}; only existing users can be invited.",
            status=400,
        )
    return user


# Kubernetes' own namespaces (a project's name is its namespace) and KubeSphere's system
# workspace: refused with the same answer as a name taken by a tenant the user cannot see.
RESERVED_NAMES = {
    "project": frozenset({"default", "kube-system", "kube-public", "kube-node-lease"}),
    "workspace": frozenset({"system-workspace"}),
}


def name_unavailable(kind: str, name: str, visible: bool) -> UserError:
    """The answer for a taken or reserved name.

    Names are unique installation-wide (a project's name is its Kubernetes namespace), so a
    name may be taken in another tenant. Only a clash the user can see is named as such; any
    other answer is the same as for a reserved name and confirms no other tenant's name.
    """
    if visible:
        message = f"A {kind} named {name!r} already exists; choose another name."
    else:
        message = (
            f"The name {name!r} is not available: {kind} names are shared by the whole "
            "installation and some are reserved. Choose another name."
        )
    return UserError(f"{kind}:name-taken", message, status=409)


def check_name_available(kind: str, name: str, creator: User) -> None:
    if name in RESERVED_NAMES[kind] or name.startswith("kube-"):
        raise name_unavailable(kind, name, visible=False)
    if kind == "project":
        taken = Project.objects.filter(name=name).exists()
        visible = access.visible_projects(creator).filter(name=name).exists()
    else:
        taken = Workspace.objects.filter(name=name).exists()
        visible = access.visible_workspaces(creator).filter(name=name).exists()
    if taken:
        raise name_unavailable(kind, name, visible)


def _save_new_named(obj: Workspace | Project, kind: str, creator: User) -> None:
    """Save a new workspace/project whose other fields full_clean() checked."""
    check_name_available(kind, obj.name, creator)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # taken by a concurrent request since the check
        raise name_unavailable(kind, obj.name, visible=False) from exc


@transaction.atomic
def create_workspace(creator: User, name: str, alias: str = "", description: str = "") -> Workspace:
    """Create a workspace; its creator becomes workspace-admin."""
    workspace = Workspace(name=name, alias=alias, description=description, creator=creator)
    workspace.full_clean(validate_unique=False)
    _save_new_named(workspace, "workspace", creator)
    WorkspaceMembership.objects.create(workspace=workspace, user=creator, role=WorkspaceRole.ADMIN)
    return workspace


@transaction.atomic
def create_project(
    creator: User, workspace: Workspace, name: str, alias: str = "", description: str = ""
) -> Project:
    """Create a project; its creator becomes the project's admin."""
    project = Project(
        workspace=workspace, name=name, alias=alias, description=description, creator=creator
    )
    project.full_clean(validate_unique=False)
    _save_new_named(project, "project", creator)
    ProjectMembership.objects.create(project=project, user=creator, role=ProjectRole.ADMIN)
    return project


def _check_confirmation(kind: str, name: str, confirm: str | None) -> None:
    if confirm != name:
        raise UserError(
            "delete:confirmation-required",
            f"To delete {kind} {name!r}, confirm by sending its name (confirm={name}).",
            status=400,
        )


def delete_project(project: Project, confirm: str | None) -> None:
    """Delete a project after confirmation, refusing while it still has active builds."""
    _check_confirmation("project", project.name, confirm)
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        active = count_active_work(locked)
        if active:
            raise UserError(
                "project:has-active-builds",
                f"Project {project.name!r} still has {active} active build(s); "
                "wait for them or cancel them, then delete it.",
                status=409,
            )
        _delete_with_own_protected_rows(locked)


def _delete_with_own_protected_rows(project: Project, rounds: int = 5) -> None:
    """Delete the project even where another app protects a row the cascade deletes anyway.

    E.g. an ImageBuilder PROTECTs its RegistrySecret: deleting the project would delete both,
    yet Django refuses (PROTECT, unlike RESTRICT, ignores that). Rows of this very project that
    block are deleted first; anything else still blocks (answered as 409 conflict:in-use).
    """
    for _ in range(rounds):
        try:
            project.delete()
            return
        except ProtectedError as exc:
            blockers = list(exc.protected_objects)
            if not all(getattr(row, "project_id", None) == project.pk for row in blockers):
                raise
            for row in blockers:
                row.delete()
    project.delete()


def delete_workspace(workspace: Workspace, confirm: str | None) -> None:
    """Delete a workspace after confirmation, refusing while it still has projects."""
    _check_confirmation("workspace", workspace.name, confirm)
    with transaction.atomic():
        if workspace.projects.exists():
            raise UserError(
                "workspace:not-empty",
                f"Workspace {workspace.name!r} still has projects; delete them first.",
                status=409,
            )
        workspace.delete()


def _refuse_removing_last_admin(
    memberships: QuerySet[WorkspaceMembership] | QuerySet[ProjectMembership],
    role_field_admin: str,
    what: str,
) -> None:
    if memberships.filter(role=role_field_admin).count() <= 1:
        raise UserError(
            "members:last-admin",
            f"This is the last admin of the {what}; make someone else admin first.",
            status=409,
        )


@transaction.atomic
def set_workspace_member(workspace: Workspace, user: User, role: str) -> WorkspaceMembership:
    """Invite the user to the workspace with the role, or change their role."""
    membership = WorkspaceMembership.objects.select_for_update().filter(
        workspace=workspace, user=user
    )
    current = membership.first()
    if current is None:
        return WorkspaceMembership.objects.create(workspace=workspace, user=user, role=role)
    if current.role == WorkspaceRole.ADMIN and role != WorkspaceRole.ADMIN:
        _refuse_removing_last_admin(workspace.memberships.all(), WorkspaceRole.ADMIN, "workspace")
    current.role = role
    current.save(update_fields=["role"])
    return current


@transaction.atomic
def remove_workspace_member(membership: WorkspaceMembership) -> None:
    """Remove a workspace member and their memberships of the workspace's projects."""
    workspace = membership.workspace
    if membership.role == WorkspaceRole.ADMIN:
        _refuse_removing_last_admin(workspace.memberships.all(), WorkspaceRole.ADMIN, "workspace")
    ProjectMembership.objects.filter(project__workspace=workspace, user=membership.user).delete()
    membership.delete()


@transaction.atomic
def set_project_member(project: Project, user: User, role: str) -> ProjectMembership:
    """Invite the user to the project with the role, or change their role."""
    current = (
        ProjectMembership.objects.select_for_update().filter(project=project, user=user).first()
    )
    if current is None:
        return ProjectMembership.objects.create(project=project, user=user, role=role)
    current.role = role
    current.save(update_fields=["role"])
    return current


REENTER_CREDENTIAL_MESSAGE = (
    "Enter the password again: a stored password is only ever sent to the address and username "
    "it was saved for, so changing them (or loosening TLS checks) needs the password too."
)


def credential_target_changed(stored: RegistrySecret, secret: RegistrySecret) -> bool:
    """Tell whether `secret` would send the stored password elsewhere or less safely than before.

    A different address or username is another recipient; turning off TLS verification or
    trusting another CA lets a third party read the password on its way to the same address.
    """
    return (
        normalize_registry_address(secret.address) != normalize_registry_address(stored.address)
        or secret.username != stored.username
        or (secret.skip_tls_verify and not stored.skip_tls_verify)
        or (bool(secret.ca_bundle.strip()) and secret.ca_bundle != stored.ca_bundle)
    )


def check_stored_password_stays_bound(secret: RegistrySecret, password: str | None) -> None:
    """Refuse keeping the stored password of a saved secret whose recipient changes."""
    if secret.pk is None or password is not None:
        return
    stored = RegistrySecret.objects.filter(pk=secret.pk).first()
    if stored is None or not stored.password_encrypted:
        return
    if credential_target_changed(stored, secret):
        raise UserError("secret:password-required", REENTER_CREDENTIAL_MESSAGE, status=400)


@transaction.atomic
def save_registry_secret(secret: RegistrySecret, password: str | None = None) -> RegistrySecret:
    """Validate and save a secret; a new default secret takes over from the old default.

    `password=None` keeps the stored password, allowed only while the secret still points at
    the address and username it was saved for (check_stored_password_stays_bound).
    """
    check_stored_password_stays_bound(secret, password)
    if password is not None:
        secret.password = password
    # The one-default constraint is kept below by unsetting the old default, not by refusing.
    secret.full_clean(exclude=["is_default"])
    if secret.is_default:
        # Lock the project's secrets so two concurrent "make default" saves do not both win.
        others = RegistrySecret.objects.select_for_update().filter(project=secret.project)
        others.exclude(pk=secret.pk).filter(is_default=True).update(is_default=False)
    secret.save()
    return secret
