"""Admin for clusters (kubeconfig write-only, stored encrypted) and services."""

from __future__ import annotations

import yaml
from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedModelAdmin
from workloads.models import Cluster, Service


class ClusterForm(forms.ModelForm[Cluster]):
    console_url = forms.URLField(required=False, assume_scheme="https")
    kubeconfig = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "autocomplete": "off"}),
        help_text="Paste a kubeconfig to replace the stored one (never shown again). "
        "Leave empty to keep it.",
    )

    class Meta:
        model = Cluster
        fields = ["name", "in_cluster", "console_image", "console_url"]

    def clean_kubeconfig(self) -> str:
        text = self.cleaned_data.get("kubeconfig") or ""
        if text:
            try:
                loaded = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise forms.ValidationError(
                    _("This is not YAML: %(error)s") % {"error": error}
                ) from error
            if not isinstance(loaded, dict) or not loaded.get("clusters"):
                raise forms.ValidationError(_("This is not a kubeconfig (no clusters)."))
        return text

    def save(self, commit: bool = True) -> Cluster:
        cluster: Cluster = super().save(commit=False)
        if self.cleaned_data.get("kubeconfig"):
            cluster.kubeconfig = self.cleaned_data["kubeconfig"]
        if commit:
            cluster.save()
        return cluster


@admin.register(Cluster)
class ClusterAdmin(AuditedModelAdmin[Cluster]):
    form = ClusterForm
    list_display = ["name", "in_cluster", "has_kubeconfig", "updated_at"]

    @admin.display(boolean=True, description="kubeconfig stored")
    def has_kubeconfig(self, cluster: Cluster) -> bool:
        return bool(cluster.kubeconfig_encrypted)


@admin.register(Service)
class ServiceAdmin(AuditedModelAdmin[Service]):
    list_display = ["name", "project", "builder", "state", "deployed_image", "updated_at"]
    list_filter = ["state"]
    search_fields = ["name", "project__name"]
    readonly_fields = ["deployed_run", "deployed_image", "error_code", "error_message"]

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return False  # services are created through the wizard/API, which also deploys them
