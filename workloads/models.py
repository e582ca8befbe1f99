"""Models of the workloads app: the cluster connection and the services deployed to it."""

from __future__ import annotations

import uuid
from typing import Any

import yaml
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.crypto import decrypt_text, encrypt_text

DNS1123_LABEL = RegexValidator(
    r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
    _("Use lower-case letters, digits and '-', starting with a letter and not ending with '-'."),
)


class Cluster(models.Model):
    """A Kubernetes cluster: in-cluster configuration, or a kubeconfig encrypted at rest.

    One cluster per installation for now (`Cluster.objects.current()`); the table allows more.
    """

    name = models.SlugField(max_length=63, unique=True, default="default")
    in_cluster = models.BooleanField(
        default=False, help_text="Use the console pod's service account instead of a kubeconfig."
    )
    kubeconfig_encrypted = models.TextField(blank=True, editable=False)
    console_image = models.CharField(
        max_length=512, blank=True, help_text="Image of this console, run by build Jobs."
    )
    console_url = models.URLField(
        blank=True, help_text="How build pods reach the console (artifact downloads)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def kubeconfig(self) -> dict[str, Any] | None:
        if not self.kubeconfig_encrypted:
            return None
        loaded = yaml.safe_load(decrypt_text(self.kubeconfig_encrypted))
        return loaded if isinstance(loaded, dict) else None

    @kubeconfig.setter
    def kubeconfig(self, text: str) -> None:
        self.kubeconfig_encrypted = encrypt_text(text) if text else ""


class ServiceState(models.TextChoices):
    WAITING = "Waiting", "Waiting for the first successful build"
    DEPLOYED = "Deployed", "Deployed"
    FAILED = "Failed", "Deploy failed"


class Service(models.Model):
    """A service created from an artifact: its spec, builder and the digest it runs."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="services"
    )
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=63, validators=[DNS1123_LABEL])
    builder = models.ForeignKey(
        "builders.ImageBuilder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
    )
    spec = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=ServiceState.choices, default="Waiting")
    deployed_run = models.ForeignKey(
        "builders.BuildRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployed_image = models.CharField(max_length=600, blank=True)
    # The latest successful run whose digest was the one already deployed: nothing was rolled
    # ("no change"). Cleared by the next real rollout.
    unchanged_run = models.ForeignKey(
        "builders.BuildRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="service_name_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project.name}/{self.name}"
