"""Admin of the builders app: platform admins add and edit build environments here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin, admin_target, record_admin_action
from builders import quotas, services
from builders.models import (
    FINISHED_STATES,
    Artifact,
    ArtifactUpload,
    BuildEnvironment,
    BuildRun,
    ImageBuilder,
    InstallationSettings,
    MetricCounter,
    WorkspaceQuota,
)


@admin.register(BuildEnvironment)
class BuildEnvironmentAdmin(AuditedModelAdmin[BuildEnvironment]):
    audit_object_type = "environment"
    list_display = ("name", "title", "base_image", "artifact_kinds", "builtin", "enabled")
    list_filter = ("builtin", "enabled")
    search_fields = ("name", "title", "base_image")
    readonly_fields = ("builtin", "created_at", "updated_at")


@admin.register(Artifact)
class ArtifactAdmin(AuditedModelAdmin[Artifact]):
    list_display = ("file_name", "project", "kind", "size", "sha256", "created_at")
    list_filter = ("kind",)
    search_fields = ("file_name", "sha256", "project__name")
    readonly_fields = [field.name for field in Artifact._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # artifacts come from uploads (streamed, hashed, inspected)


@admin.register(ArtifactUpload)
class ArtifactUploadAdmin(AuditedModelAdmin[ArtifactUpload]):
    audit_object_type = "upload"
    """Resumable uploads; deleting one cancels it and removes its staged bytes (a signal)."""

    list_display = ("file_name", "project", "received", "total_size", "created_at", "completed_at")
    search_fields = ("file_name", "public_id", "project__name")
    readonly_fields = [field.name for field in ArtifactUpload._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads start through the API


@admin.register(ImageBuilder)
class ImageBuilderAdmin(AuditedModelAdmin[ImageBuilder]):
    audit_object_type = "builder"
    list_display = ("name", "project", "artifact_kind", "environment", "image_name", "tag")
    list_filter = ("artifact_kind", "environment")
    search_fields = ("name", "alias", "image_name", "project__name")
    readonly_fields = ("public_id", "next_run_number", "created_at", "updated_at")
    raw_id_fields = ("artifact", "registry_secret", "project", "created_by")


@admin.action(description="Cancel the selected runs")
def cancel_runs(
    modeladmin: admin.ModelAdmin[BuildRun], request: HttpRequest, queryset: QuerySet[BuildRun]
) -> None:
    active = [run for run in queryset if run.state not in FINISHED_STATES]
    for run in active:
        with transaction.atomic():  # each cancel with its audit entry
            services.do_request_cancel(run)
            record_admin_action(request, "run.cancel", admin_target(run, "run"))
    modeladmin.message_user(request, f"Asked {len(active)} run(s) to stop.", messages.INFO)


@admin.register(BuildRun)
class BuildRunAdmin(AuditedModelAdmin[BuildRun]):
    audit_object_type = "run"
    list_display = ("__str__", "state", "error_code", "attempt", "worker_host", "created_at")
    list_filter = ("state",)
    search_fields = ("builder__name", "digest", "error_code")
    actions = [cancel_runs]
    readonly_fields = [field.name for field in BuildRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are started through the API or the console, never by hand


@admin.register(InstallationSettings)
class InstallationSettingsAdmin(AuditedModelAdmin[InstallationSettings]):
    """One row: the registry mirror here wins over B2I_REGISTRY_MIRROR."""

    list_display = ("__str__", "registry_mirror", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not InstallationSettings.objects.exists()

    def has_delete_permission(
        self, request: HttpRequest, obj: InstallationSettings | None = None
    ) -> bool:
        return False


@admin.register(WorkspaceQuota)
class WorkspaceQuotaAdmin(AuditedModelAdmin[WorkspaceQuota]):
    """Limits of a workspace (platform admins: only they reach the admin); empty: no limit."""

    list_display = (
        "workspace",
        "max_concurrent_builds",
        "builds_running",
        "max_artifact_bytes",
        "artifact_bytes_used",
        "max_builders",
        "builders_used",
        "updated_at",
    )
    search_fields = ("workspace__name",)
    autocomplete_fields = ("workspace",)

    @admin.display(description="running")
    def builds_running(self, quota: WorkspaceQuota) -> int:
        return quotas.running_builds(quota.workspace_id)

    @admin.display(description="artifact bytes used")
    def artifact_bytes_used(self, quota: WorkspaceQuota) -> int:
        return quotas.artifact_bytes(quota.workspace_id)

    @admin.display(description="builders used")
    def builders_used(self, quota: WorkspaceQuota) -> int:
        return quotas.builder_count(quota.workspace_id)

    def save_model(
        self, request: HttpRequest, obj: WorkspaceQuota, form: object, change: bool
    ) -> None:
        limits = {
            "max_concurrent_builds": obj.max_concurrent_builds,
            "max_artifact_bytes": obj.max_artifact_bytes,
            "max_builders": obj.max_builders,
        }
        # Through the service: a raised limit queues the runs waiting for it at once.
        saved = quotas.set_workspace_quota(obj.workspace_id, limits)
        obj.pk = saved.pk


@admin.register(MetricCounter)
class MetricCounterAdmin(AuditedModelAdmin[MetricCounter]):
    """What /metrics counts (read only): uploads, pushes, registry errors, sweeps."""

    list_display = ("name", "label", "value")
    list_filter = ("name",)
    readonly_fields = ("name", "label", "value")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
