"""Models of the builders app: artifacts, build environments, image builders, runs and their logs.

A run's `state` says where it is (Pending → Running → Successful / Failed / Cancelled); its
outcome details live in `error_code` / `error_message` and the result fields. State changes go
through `builders.services`, never through ad-hoc `.save()` calls in views or tasks.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from b2i.oci.errors import OciError
from b2i.oci.references import parse_reference
from b2i.packaging.environments import BuildEnvironment as EngineEnvironment
from projects.crypto import decrypt_text, encrypt_text

DNS1123_LABEL = RegexValidator(
    r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
    _(
        "Use lower-case letters, digits and hyphens; start with a letter, end with a letter or "
        "digit."
    ),
)
IMAGE_TAG = RegexValidator(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
    _("A tag is 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'."),
)
# A trigger token is the only credential of the trigger endpoint: one chosen by a user must be
# long enough not to be guessed; the console generates 160-bit ones (generate_trigger_token).
MIN_TRIGGER_TOKEN_CHARS = 24
TRIGGER_TOKEN = RegexValidator(
    rf"^[A-Za-z0-9]{{{MIN_TRIGGER_TOKEN_CHARS},128}}$",
    format_lazy(
        _("A trigger token is {minimum}-128 letters and digits; or let the console generate one."),
        minimum=MIN_TRIGGER_TOKEN_CHARS,
    ),
)


def generate_trigger_token() -> str:
    """Return a new random trigger token: 40 hex digits, 160 bits."""
    return secrets.token_hex(20)


class ArtifactKind(models.TextChoices):
    JAR = "jar", "JAR"
    WAR = "war", "WAR"
    BINARY = "binary", "Binary"


class BuildState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATES = (BuildState.SUCCESSFUL, BuildState.FAILED, BuildState.CANCELLED)


class Artifact(models.Model):
    """An uploaded file, stored once per project, sha256 and file name, reused by later runs.

    The name is part of the identity: it is what the user sees and, for a WAR, the context path.
    The same bytes under a new name are a new artifact (with their own stored copy)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="artifacts"
    )
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=ArtifactKind.choices)
    summary = models.CharField(max_length=255, blank=True)
    inspection = models.JSONField(default=dict, blank=True)
    storage_key = models.CharField(max_length=512)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "sha256", "file_name"], name="artifact_once_per_project_and_name"
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.sha256[:12]})"


class ArtifactUpload(models.Model):
    """A resumable chunked upload; builders.artifacts.staging keeps its bytes until it completes.

    A completed upload keeps its row (its id names the artifact for a builder); `completed_at`
    starts the grace period after which leftover staged bytes are swept (builders.artifacts.expiry).
    `last_activity_at` (a chunk, a completion attempt) dates an unfinished upload for the
    expiry: a slow upload that keeps sending is never expired under its sender.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="artifact_uploads"
    )
    file_name = models.CharField(max_length=255)
    total_size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    expected_sha256 = models.CharField(max_length=64, blank=True)
    artifact = models.ForeignKey(Artifact, null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.file_name} {self.received}/{self.total_size}"


class BuildEnvironment(models.Model):
    """An engine build environment in the database: built-in ones are seeded, admins add more."""

    name = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=200)
    base_image = models.CharField(max_length=512)
    artifact_kinds = models.JSONField(default=list)
    spec = models.JSONField(
        default=dict,
        help_text="The environment as the engine reads it (placement, entrypoint, cmd, workdir, "
        "user, port, parameters …); base_image, title and artifact_kinds above win.",
    )
    builtin = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a spec the engine cannot read (admin form and API both call this)."""
        if not isinstance(self.spec, dict):
            raise ValidationError({"spec": _("The spec must be a JSON object.")})
        kinds = self.artifact_kinds if isinstance(self.artifact_kinds, list) else []
        if not kinds or any(kind not in ArtifactKind.values for kind in kinds):
            raise ValidationError(
                {"artifact_kinds": _("Choose among %(kinds)s.") % {"kinds": ArtifactKind.values}}
            )
        try:
            EngineEnvironment.from_dict(self.as_engine_dict())
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                {"spec": _("The engine cannot use this spec: %(error)s") % {"error": exc}}
            ) from exc
        try:
            parse_reference(self.base_image)
        except OciError as exc:
            raise ValidationError({"base_image": exc.message}) from exc

    def as_engine_dict(self) -> dict[str, Any]:
        return {
            **self.spec,
            "name": self.name,
            "title": self.title,
            "base_image": self.base_image,
            "artifact_kinds": list(self.artifact_kinds),
        }

    @property
    def port(self) -> int | None:
        port = self.spec.get("port")
        return int(port) if port else None

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters") or [])


class ImageBuilder(models.Model):
    """Builds one image (name:tag) from an artifact in one environment, pushed to one registry."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="image_builders"
    )
    name = models.CharField(max_length=63, validators=[DNS1123_LABEL])
    alias = models.CharField(max_length=63, blank=True)
    description = models.CharField(max_length=256, blank=True)
    artifact_kind = models.CharField(max_length=16, choices=ArtifactKind.choices)
    environment = models.ForeignKey(BuildEnvironment, on_delete=models.PROTECT)
    image_name = models.CharField(max_length=255)
    tag = models.CharField(max_length=128, default="latest", validators=[IMAGE_TAG])
    # RESTRICT, not PROTECT: a secret in use cannot be deleted on its own, but deleting the
    # whole project (which cascades to builders too) may remove it.
    registry_secret = models.ForeignKey(
        "projects.RegistrySecret", on_delete=models.RESTRICT, related_name="image_builders"
    )
    environment_parameters = models.JSONField(default=dict, blank=True)
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.RESTRICT, related_name="builders"
    )
    # The remote-trigger token, encrypted at rest (projects.crypto); operators see it in the
    # trigger URL, and the trigger endpoint compares it in constant time.
    trigger_token_encrypted = models.TextField(blank=True, editable=False)
    update_workloads = models.BooleanField(default=True)
    next_run_number = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="builder_name_per_project")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def trigger_token(self) -> str:
        """Decrypt the trigger token (raises SecretDecryptionError when no key fits)."""
        return decrypt_text(self.trigger_token_encrypted) if self.trigger_token_encrypted else ""

    @trigger_token.setter
    def trigger_token(self, value: str) -> None:
        self.trigger_token_encrypted = encrypt_text(value) if value else ""

    def image_reference(self, tag: str | None = None) -> str:
        """Return `<registry host>/<image name>:<tag>` (the builder's tag unless one is given).

        The host is prefixed unless the image name already starts with it (KubeSphere's rule).
        """
        host = self.registry_secret.registry_host
        name = self.image_name.strip("/")
        if not name.startswith(f"{host}/"):
            name = f"{host}/{name}"
        return f"{name}:{self.tag if tag is None else tag}"


class BuildRun(models.Model):
    """One attempt to build and push a builder's image: run `#number` of its builder."""

    builder = models.ForeignKey(ImageBuilder, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.RESTRICT, related_name="runs"
    )
    artifact_url = models.URLField(max_length=2048, blank=True)
    artifact_url_sha256 = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=128, validators=[IMAGE_TAG])
    state = models.CharField(
        max_length=16, choices=BuildState.choices, default=BuildState.PENDING, db_index=True
    )
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    triggered_by = models.CharField(max_length=150, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    # Times the pending sweep put this run on the queue again because the broker lost its
    # message (not claims: `attempt` counts those), and when it last did.
    requeues = models.PositiveSmallIntegerField(default=0)
    requeued_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The result.
    image_reference = models.CharField(max_length=512, blank=True)
    digest = models.CharField(max_length=80, blank=True)
    compressed_size = models.BigIntegerField(null=True, blank=True)
    layers_pushed = models.PositiveIntegerField(default=0)
    layers_reused = models.PositiveIntegerField(default=0)
    bytes_pushed = models.BigIntegerField(default=0)
    bytes_reused = models.BigIntegerField(default=0)
    pull_command = models.CharField(max_length=600, blank=True)
    step_timings = models.JSONField(default=dict, blank=True)
    log_archive_key = models.CharField(max_length=512, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["builder", "number"], name="run_number_per_builder"),
            # The database itself guarantees at most one Running run per builder.
            models.UniqueConstraint(
                fields=["builder"],
                condition=Q(state="running"),
                name="one_running_run_per_builder",
            ),
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.builder.name} #{self.number}"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def duration(self) -> float | None:
        if not self.started_at:
            return None
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def channel_group(self) -> str:
        return f"build-run-{self.pk}"


class BuildLogLine(models.Model):
    """One line of a run's log; `seq` orders lines and lets clients resume without duplicates."""

    run = models.ForeignKey(BuildRun, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    time = models.DateTimeField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="log_seq_per_run"),
        ]
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.seq} {self.text[:60]}"


class InstallationSettings(models.Model):
    """Settings of the whole installation a platform admin changes in the admin (one row).

    Empty fields fall back to the environment's settings (B2I_REGISTRY_MIRROR ...)."""

    registry_mirror = models.CharField(
        max_length=255,
        blank=True,
        help_text="A registry that mirrors Docker Hub (host[:port][/prefix], e.g. "
        "harbor.example.com/dockerhub): Docker Hub bases are pulled through it. Empty: the "
        "B2I_REGISTRY_MIRROR setting, if any.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "installation settings"

    def __str__(self) -> str:
        return "Installation settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1  # a singleton: whatever the admin form says, there is one row
        self.registry_mirror = self.registry_mirror.strip().rstrip("/")
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse a mirror that cannot prefix an image reference."""
        mirror = self.registry_mirror.strip().rstrip("/")
        if mirror.startswith(("http://", "https://")):
            raise ValidationError({"registry_mirror": _("Give host[:port][/prefix], no scheme.")})
        try:
            if mirror:
                parse_reference(f"{mirror}/library/busybox:1")
        except OciError as exc:
            raise ValidationError({"registry_mirror": exc.message}) from exc
        self.registry_mirror = mirror


class ComponentSource(models.TextChoices):
    """Where a component of an image comes from (the SBOM's `b2i:source` property)."""

    APPLICATION = "application", "Application"
    LIBRARY = "library", "Library"
    OS = "os", "OS package"


class RunSupplyChain(models.Model):
    """A successful run's SBOM (CycloneDX JSON) and provenance (in-toto), as the engine made them.

    Documents are JSON bytes, gzip-compressed when large (`builders.supply_chain.documents`).
    `added`/`removed`/`upgraded` compare the run with `compared_with`, the builder's previous
    run that had an SBOM, at save time: the run list shows them without a query per row."""

    run = models.OneToOneField(
        BuildRun, on_delete=models.CASCADE, primary_key=True, related_name="supply_chain"
    )
    sbom = models.BinaryField()
    sbom_compressed = models.BooleanField(default=False)
    provenance = models.BinaryField()
    provenance_compressed = models.BooleanField(default=False)
    component_count = models.PositiveIntegerField(default=0)
    # Digests of the referrer manifests in the registry and how they were recorded ("api",
    # "tag", or "" when not pushed).
    sbom_referrer_digest = models.CharField(max_length=80, blank=True)
    provenance_referrer_digest = models.CharField(max_length=80, blank=True)
    referrers_via = models.CharField(max_length=8, blank=True)
    compared_with = models.ForeignKey(
        BuildRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    upgraded = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"supply chain of run {self.run_id}"


class RunComponent(models.Model):
    """One component of a run's SBOM, normalised for search and for diffs between runs.

    `identity` is the package without its version (its purl up to `@`, or source/group/name
    when it has no purl): two runs' components with one identity and two versions are an
    upgrade."""

    run = models.ForeignKey(BuildRun, on_delete=models.CASCADE, related_name="components")
    source = models.CharField(max_length=16, choices=ComponentSource.choices)
    name = models.CharField(max_length=255)
    group = models.CharField(max_length=255, blank=True)
    version = models.CharField(max_length=255, blank=True)
    purl = models.CharField(max_length=1024, blank=True)
    identity = models.CharField(max_length=1024)
    licenses = models.JSONField(default=list, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "source", "name"], name="component_run_source")]
        ordering = ["source", "group", "name", "version"]

    def __str__(self) -> str:
        return self.purl or f"{self.group}/{self.name}@{self.version}"
