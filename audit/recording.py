"""Writing audit entries: who (actor), through what (source), to what (target), how it ended.

Every edge calls `record` inside the transaction of the change it reports (the REST API's
`AuditedView`, the admin's `AuditedModelAdmin`, `AuditedCommand`), so a change that rolls back
takes its entry with it. Failures and denials are recorded in a transaction of their own, after
the failed request's own work is over.

Secrets never reach a row: `sanitized` keeps only the fields an edge allow-lists, and drops any
whose name looks like a credential even then (a second line of defence against a careless list).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from audit.models import ActorKind, AuditEntry, Result
from b2i_console.client_ip import client_ip
from projects.models import ApiToken, Project, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

TEXT_LIMIT = 200
USER_AGENT_LIMIT = 256
LIST_LIMIT = 20
# Never recorded, whatever an allow-list says: names that hold credentials in this console.
CREDENTIAL_MARKERS = ("password", "token", "kubeconfig", "credential", "private_key")


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    name: str = ""
    token_id: int | None = None
    token_name: str = ""


SYSTEM = Actor(ActorKind.SYSTEM, name="system")


@dataclass(frozen=True)
class Source:
    channel: str
    ip: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class Scope:
    """The workspace and project an entry belongs to, captured before a deletion clears ids."""

    workspace_id: int | None = None
    workspace_name: str = ""
    project_id: int | None = None
    project_name: str = ""

    @staticmethod
    def of_workspace(workspace: Workspace | None) -> Scope:
        if workspace is None:
            return Scope()
        return Scope(workspace.pk, workspace.name)

    @staticmethod
    def of_project(project: Project | None) -> Scope:
        if project is None:
            return Scope()
        workspace = project.workspace
        return Scope(workspace.pk, workspace.name, project.pk, project.name)

    @staticmethod
    def named(workspace: str = "", project: str = "") -> Scope:
        """Scope of names from a URL (a refused request): the ids of what exists by those names."""
        found = Project.objects.select_related("workspace").filter(
            workspace__name=workspace, name=project
        )
        if project and (hit := found.first()) is not None:
            return Scope.of_project(hit)
        ws = Workspace.objects.filter(name=workspace).first() if workspace else None
        return Scope(ws.pk if ws else None, bounded(workspace, 63), None, bounded(project, 63))


@dataclass(frozen=True)
class Target:
    object_type: str
    object_id: str = ""
    display: str = ""
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True)
class Outcome:
    result: str = Result.SUCCESS
    status_code: int | None = None
    error_code: str = ""


SUCCESS = Outcome()


def bounded(text: object, limit: int = TEXT_LIMIT) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def actor_of(user: User | AnonymousUser | None, auth: object = None) -> Actor:
    """The actor of a request: its API token when it used one, else its signed-in user."""
    if user is None or not user.is_authenticated:
        return Actor(ActorKind.ANONYMOUS, name="")
    if isinstance(auth, ApiToken):
        return Actor(ActorKind.TOKEN, user, user.get_username(), auth.pk, bounded(auth.name, 100))
    return Actor(ActorKind.USER, user, user.get_username())


def source_of(meta: Mapping[str, Any], channel: str) -> Source:
    return Source(
        channel,
        _address(client_ip(meta)),
        bounded(meta.get("HTTP_USER_AGENT", ""), USER_AGENT_LIMIT),
    )


def _address(text: str) -> str | None:
    """An IP address, or None (a test client or a Unix socket peer has none)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _looks_like_credential(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in CREDENTIAL_MARKERS)


def _scalar(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_scalar(item) for item in value[:LIST_LIMIT] if not isinstance(item, dict)]
    return bounded(value)


def sanitized(data: object, allowed: Iterable[str]) -> dict[str, object]:
    """The allow-listed, non-credential fields of a request body, as bounded scalars.

    A field that is a mapping contributes its `name` only (e.g. `registry_secret: {name}`)."""
    if not isinstance(data, Mapping):
        return {}
    kept: dict[str, object] = {}
    for key in allowed:
        if key not in data or _looks_like_credential(key):
            continue
        value = data.get(key)  # a QueryDict's get: the last value, never a list of files
        if isinstance(value, Mapping):
            value = value.get("name")
        if hasattr(value, "read"):  # an uploaded file: its name only
            value = getattr(value, "name", "")
        kept[key] = _scalar(value)
    return kept


def record(
    action: str,
    actor: Actor,
    source: Source,
    target: Target,
    outcome: Outcome = SUCCESS,
    detail: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Write one entry in the caller's transaction."""
    scope = target.scope
    return AuditEntry.objects.create(
        actor_kind=actor.kind,
        actor=actor.user,
        actor_name=bounded(actor.name, 150),
        token_id=actor.token_id,
        token_name=actor.token_name,
        channel=source.channel,
        action=bounded(action, 64),
        object_type=bounded(target.object_type, 40),
        object_id=bounded(target.object_id),
        object_repr=bounded(target.display or target.object_id),
        workspace_id=scope.workspace_id,
        workspace_name=bounded(scope.workspace_name, 63),
        project_id=scope.project_id,
        project_name=bounded(scope.project_name, 63),
        source_ip=source.ip,
        user_agent=source.user_agent,
        result=outcome.result,
        status_code=outcome.status_code,
        error_code=bounded(outcome.error_code, 80),
        detail=dict(detail or {}),
    )


def scope_of_object(obj: object) -> Scope:
    """The scope of any console object: itself, its project, its builder's or run's project."""
    if isinstance(obj, Workspace):
        return Scope.of_workspace(obj)
    if isinstance(obj, Project):
        return Scope.of_project(obj)
    for parent in ("project", "builder", "run"):
        owner = getattr(obj, f"{parent}_id", None) and getattr(obj, parent, None)
        if owner is not None:
            return scope_of_object(owner)
    workspace = getattr(obj, "workspace_id", None) and getattr(obj, "workspace", None)
    return Scope.of_workspace(workspace) if isinstance(workspace, Workspace) else Scope()
