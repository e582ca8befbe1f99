"""Admin: group-to-role mappings (platform admins), and read-only views of what they granted."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from identity.models import ExternalIdentity, GroupRoleMapping, MappedGrant
from projects.access import may_manage_identity_providers


@admin.register(GroupRoleMapping)
class GroupRoleMappingAdmin(admin.ModelAdmin[GroupRoleMapping]):
    list_display = ["provider", "group", "platform_role", "workspace", "project", "role"]
    list_filter = ["provider", "platform_role"]
    search_fields = ["group"]
    autocomplete_fields = ["workspace", "project"]
    readonly_fields = ["created_at"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_manage_identity_providers(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_manage_identity_providers(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_manage_identity_providers(request.user)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_manage_identity_providers(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_manage_identity_providers(request.user)


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MappedGrant)
class MappedGrantAdmin(_ReadOnly, admin.ModelAdmin[MappedGrant]):
    list_display = [
        "user",
        "provider",
        "platform_role",
        "workspace",
        "project",
        "role",
        "granted_at",
    ]
    list_filter = ["provider"]
    search_fields = ["user__username"]


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(_ReadOnly, admin.ModelAdmin[ExternalIdentity]):
    list_display = ["user", "provider", "issuer", "subject", "last_sign_in", "last_checked"]
    list_filter = ["provider"]
    search_fields = ["user__username", "subject"]
