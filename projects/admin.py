"""Django admin for operators: tenancy, memberships, registry secrets (no plaintext), API tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin
from projects import services
from projects.models import (
    ApiToken,
    Project,
    ProjectMembership,
    RegistrySecret,
    Workspace,
    WorkspaceMembership,
)


class WorkspaceMembershipInline(admin.TabularInline[WorkspaceMembership, Workspace]):
    model = WorkspaceMembership
    extra = 0
    autocomplete_fields = ["user"]


class ProjectMembershipInline(admin.TabularInline[ProjectMembership, Project]):
    model = ProjectMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(AuditedModelAdmin[Workspace]):
    list_display = ["name", "alias", "creator", "created_at"]
    search_fields = ["name", "alias"]
    inlines = [WorkspaceMembershipInline]


@admin.register(Project)
class ProjectAdmin(AuditedModelAdmin[Project]):
    list_display = ["name", "workspace", "alias", "creator", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "alias", "workspace__name"]
    inlines = [ProjectMembershipInline]


@admin.register(WorkspaceMembership)
class WorkspaceMembershipAdmin(AuditedModelAdmin[WorkspaceMembership]):
    audit_object_type = "member"
    audit_verbs = {"add": "add", "change": "update", "delete": "remove"}
    list_display = ["workspace", "user", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["workspace__name", "user__username"]
    autocomplete_fields = ["user"]


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(AuditedModelAdmin[ProjectMembership]):
    audit_object_type = "member"
    audit_verbs = {"add": "add", "change": "update", "delete": "remove"}
    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role", "project__workspace"]
    search_fields = ["project__name", "user__username"]
    autocomplete_fields = ["user"]


class RegistrySecretForm(forms.ModelForm[RegistrySecret]):
    """The password is write-only: never rendered back; left empty, the stored one is kept."""

    new_password = forms.CharField(
        label="Password or token",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the stored password.",
    )

    class Meta:
        model = RegistrySecret
        fields = [
            "project",
            "name",
            "address",
            "username",
            "new_password",
            "email",
            "is_default",
            "skip_tls_verify",
            "ca_bundle",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # clean() runs before the form's values are copied to self.instance: compare them.
        stored = RegistrySecret.objects.filter(pk=self.instance.pk).first()
        edited = RegistrySecret(
            address=cleaned.get("address") or "",
            username=cleaned.get("username") or "",
            skip_tls_verify=bool(cleaned.get("skip_tls_verify")),
            ca_bundle=cleaned.get("ca_bundle") or "",
        )
        moved = stored is not None and services.credential_target_changed(stored, edited)
        if (
            moved
            and stored is not None
            and stored.password_encrypted
            and not cleaned.get("new_password")
        ):
            self.add_error("new_password", services.REENTER_CREDENTIAL_MESSAGE)
        return cleaned

    # A private ModelForm hook (Django 5.2) that django-stubs does not declare.
    def _get_validation_exclusions(self) -> set[str]:
        # A new default replaces the old one (services.save_registry_secret), so the
        # one-default-per-project constraint must not reject the form.
        return {*super()._get_validation_exclusions(), "is_default"}  # type: ignore[misc]


@admin.register(RegistrySecret)
class RegistrySecretAdmin(AuditedModelAdmin[RegistrySecret]):
    audit_object_type = "secret"
    form = RegistrySecretForm
    list_display = ["name", "project", "address", "username", "is_default", "has_password"]
    list_filter = ["is_default", "skip_tls_verify", "project__workspace"]
    search_fields = ["name", "address", "username", "project__name"]

    @admin.display(boolean=True, description="password set")
    def has_password(self, secret: RegistrySecret) -> bool:
        return bool(secret.password_encrypted)

    def save_model(
        self, request: HttpRequest, obj: RegistrySecret, form: RegistrySecretForm, change: bool
    ) -> None:
        if not change:
            # The admin site only serves signed-in staff: request.user is a User here.
            obj.creator = request.user  # type: ignore[assignment]
        password = form.cleaned_data.get("new_password") or None
        services.save_registry_secret(obj, password)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin[ApiToken]):
    """Operators may list and revoke tokens; creating one is done by its owner through the API."""

    audit_object_type = "token"

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
