"""Admin: the read-only audit log for platform admins, and `AuditedModelAdmin`, the base of
every ModelAdmin of the console, which records each admin change once.

Additions and changes are recorded where Django logs them (`log_addition`, `log_change`: inside
the admin's transaction of the save). Deletions are recorded with the deletion itself
(`delete_model`, `delete_queryset`), in one transaction: the "delete selected" action of the
change list runs in none of its own. Custom admin actions call `record_admin_action`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from audit.models import AuditEntry, Channel
from audit.recording import Target, actor_of, record, scope_of_object, source_of
from projects import access

_M = TypeVar("_M", bound=Model)

ADMIN_VERBS = {"add": "create", "change": "update", "delete": "delete"}


def admin_target(obj: Model, object_type: str) -> Target:
    return Target(object_type, str(obj.pk), str(obj), scope_of_object(obj))


def record_admin_action(
    request: HttpRequest, action: str, target: Target, detail: Mapping[str, object] | None = None
) -> None:
    """Record one admin change; call it inside the transaction of the change."""
    record(
        action,
        actor_of(getattr(request, "user", None)),
        source_of(request.META, Channel.ADMIN),
        target,
        detail=detail,
    )


def changed_fields(message: object) -> list[str]:
    """The names of the fields an admin change message lists (never their values)."""
    try:
        parts = json.loads(message) if isinstance(message, str) and message else message
    except ValueError:
        return []
    names: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        for change in part.values() if isinstance(part, dict) else []:
            names.extend(str(name) for name in (change or {}).get("fields", []))
    return names[:50]


class AuditedModelAdmin(admin.ModelAdmin[_M]):
    # The object type of the audit log; the model's name when empty.
    audit_object_type: ClassVar[str] = ""
    audit_verbs: ClassVar[dict[str, str]] = ADMIN_VERBS

    def audit_type(self) -> str:
        return self.audit_object_type or self.model._meta.model_name or "object"

    def audit_action(self, verb: str) -> str:
        return f"{self.audit_type()}.{self.audit_verbs[verb]}"

    def log_addition(self, request: HttpRequest, obj: _M, message: Any) -> Any:
        record_admin_action(request, self.audit_action("add"), admin_target(obj, self.audit_type()))
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: _M, message: Any) -> Any:
        fields = {"fields": changed_fields(message)}
        target = admin_target(obj, self.audit_type())
        record_admin_action(request, self.audit_action("change"), target, fields)
        return super().log_change(request, obj, message)

    def delete_model(self, request: HttpRequest, obj: _M) -> None:
        targets = self._deletion_targets([obj])  # before: a deleted object has no key left
        with transaction.atomic():
            super().delete_model(request, obj)
            self._record_deletions(request, targets)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[_M]) -> None:
        targets = self._deletion_targets(queryset)
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            self._record_deletions(request, targets)

    def _deletion_targets(self, objects: Iterable[_M]) -> list[Target]:
        return [admin_target(obj, self.audit_type()) for obj in objects]

    def _record_deletions(self, request: HttpRequest, targets: list[Target]) -> None:
        for target in targets:
            record_admin_action(request, self.audit_action("delete"), target)


def audited(admin_class: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
    """The class itself when it records audit entries, else a subclass that does."""
    if issubclass(admin_class, AuditedModelAdmin | AuditEntryAdmin):
        return admin_class
    return type(f"Audited{admin_class.__name__}", (AuditedModelAdmin, admin_class), {})


def audit_every_admin(site: admin.AdminSite) -> None:
    """Make every ModelAdmin of the site an AuditedModelAdmin: those registered already (by
    apps before this one: Django's users and groups, django-axes' login records) now, those of
    apps after it when they register."""
    for model, model_admin in list(site._registry.items()):
        site.unregister(model)
        site.register(model, audited(type(model_admin)))
    register = site.register

    def register_audited(model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        register(model_or_iterable, audited(admin_class or admin.ModelAdmin), **options)

    site.register = register_audited  # type: ignore[method-assign]  # the site's one entry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Read only, for platform admins: an audit log nobody may edit or delete by hand."""

    list_display = (
        "created_at",
        "actor_name",
        "actor_kind",
        "action",
        "object_repr",
        "workspace_name",
        "project_name",
        "result",
        "source_ip",
    )
    list_filter = ("result", "channel", "actor_kind", "object_type")
    search_fields = ("actor_name", "action", "object_repr", "object_id", "workspace_name")
    date_hierarchy = "created_at"
    # Ids, not related objects: an entry outlives the user, workspace or project it names.
    readonly_fields = [field.attname for field in AuditEntry._meta.fields]
    fields = tuple(readonly_fields)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return access.may_read_all_audit(request.user)

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


audit_every_admin(admin.site)
