"""Tenancy models: workspaces, projects, memberships with roles, registry secrets, API tokens.

Who may see or do what is decided in `projects/access.py` only (`access.visible_projects` …);
access imports these models, never the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from b2i.oci.errors import BlockedAddressError
from b2i.oci.netpolicy import check_address_allowed
from projects.crypto import decrypt_text, encrypt_text

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

DNS1123_LABEL_MAX = 63
dns1123_label_validator = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z",
    message=_(
        "Use lowercase letters, digits and '-', starting and ending with a letter or digit "
        "(a DNS-1123 label, at most 63 characters)."
    ),
    code="invalid-name",
)

# Docker Hub's credentials are conventionally keyed by this address in docker config files.
DOCKER_HUB_ADDRESS = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def dns_label_field(**kwargs: Any) -> models.CharField[str | int | Combinable, str]:
    return models.CharField(
        max_length=DNS1123_LABEL_MAX, validators=[dns1123_label_validator], **kwargs
    )


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    """Workspaces; `projects.access.visible_workspaces(user)` narrows them to a user's."""


class ProjectQuerySet(models.QuerySet["Project"]):
    """Projects; `projects.access.visible_projects(user)` narrows them to a user's."""


class Workspace(models.Model):
    name = dns_label_field(unique=True)
    alias = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True, max_length=1000)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceQuerySet.as_manager()

    # Only on rows from projects.access.with_roles_for (queryset annotations, not columns).
    roles_user_id: int
    ws_member_role: str | None
    in_any_project: bool

    class Meta:
        ordering = ["name"]
        permissions = [
            ("create_workspaces", "May create workspaces (platform-self-provisioner)"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """A project; its name is the Kubernetes namespace, hence unique across the installation."""

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="projects")
    name = dns_label_field(unique=True)
    alias = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True, max_length=1000)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProjectQuerySet.as_manager()

    # Only on rows from projects.access.with_roles_for (queryset annotations, not columns).
    roles_user_id: int
    ws_member_role: str | None
    project_member_role: str | None

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def namespace(self) -> str:
        return self.name


class WorkspaceRole(models.TextChoices):
    ADMIN = "workspace-admin", "workspace-admin"
    SELF_PROVISIONER = "workspace-self-provisioner", "workspace-self-provisioner"
    REGULAR = "workspace-regular", "workspace-regular"
    VIEWER = "workspace-viewer", "workspace-viewer"


class ProjectRole(models.TextChoices):
    ADMIN = "admin", "admin"
    OPERATOR = "operator", "operator"
    VIEWER = "viewer", "viewer"


class WorkspaceMembership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    role = models.CharField(max_length=40, choices=WorkspaceRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_ws")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


class ProjectMembership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships"
    )
    role = models.CharField(max_length=20, choices=ProjectRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


def normalize_registry_address(address: str) -> str:
    """Return the address with a scheme (https:// when none is given) and no trailing spaces."""
    address = address.strip()
    if "://" not in address:
        address = f"https://{address}"
    return address


def validate_registry_address(address: str) -> None:
    try:
        parts = urlsplit(normalize_registry_address(address))
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        raise ValidationError(
            _("The registry address is not a valid URL; give it as https://host[:port][/path]."),
            code="invalid-address",
        ) from exc
    if parts.scheme not in ("http", "https"):
        raise ValidationError(
            _("The registry address must start with https:// or http:// (insecure)."),
            code="invalid-address",
        )
    if not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ValidationError(
            _(
                "Give the registry address as https://host[:port][/path], "
                "e.g. https://harbor.example.com."
            ),
            code="invalid-address",
        )
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValidationError(_("The registry port is not a number 1-65535.")) from exc
    refuse_never_allowed_ip(parts.hostname)


# Every network is "allowed" here so only the never-allowed ones (link-local, metadata) refuse:
# loopback/private depend on B2I_ALLOWED_REGISTRY_NETWORKS, which is checked when connecting.
_ANY_NETWORK = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def refuse_never_allowed_ip(hostname: str) -> None:
    """Refuse an IP-literal host in link-local/metadata space already when it is saved."""
    try:
        address = ipaddress.ip_address(hostname.split("%", 1)[0])
    except ValueError:
        return  # a name: resolved and checked when the registry is contacted
    try:
        check_address_allowed(address, _ANY_NETWORK, hostname)
    except BlockedAddressError as exc:
        raise ValidationError(exc.message, code="blocked-address") from exc


class RegistrySecret(models.Model):
    """Credentials for an image registry; the password is encrypted at rest and write-only."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="registry_secrets")
    name = dns_label_field()
    address = models.CharField(max_length=255, validators=[validate_registry_address])
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    email = models.EmailField(blank=True)
    is_default = models.BooleanField(default=False)
    skip_tls_verify = models.BooleanField(default=False)
    ca_bundle = models.TextField(
        blank=True, help_text="PEM certificates to trust for this registry"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="secret_name_per_project"),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_default=True),
                name="one_default_secret_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.address = normalize_registry_address(self.address)
        super().save(*args, **kwargs)

    @property
    def password(self) -> str:
        """Decrypt the password (raises crypto.SecretDecryptionError when no key fits)."""
        if not self.password_encrypted:
            return ""
        return decrypt_text(self.password_encrypted)

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = encrypt_text(value) if value else ""

    @property
    def scheme(self) -> str:
        return urlsplit(normalize_registry_address(self.address)).scheme

    @property
    def registry_host(self) -> str:
        """Return host[:port] without scheme or path, as used in image references."""
        return urlsplit(normalize_registry_address(self.address)).netloc

    @property
    def insecure(self) -> bool:
        return self.scheme == "http"

    @property
    def dockerconfig_key(self) -> str:
        if self.registry_host in DOCKER_HUB_HOSTS:
            return DOCKER_HUB_ADDRESS
        return self.registry_host


def render_dockerconfigjson(secrets: Iterable[RegistrySecret]) -> dict[str, Any]:
    """Render the body of a `kubernetes.io/dockerconfigjson` Secret for the given secrets."""
    auths: dict[str, Any] = {}
    for secret in secrets:
        password = secret.password
        entry: dict[str, str] = {
            "username": secret.username,
            "password": password,
            "auth": base64.b64encode(f"{secret.username}:{password}".encode()).decode("ascii"),
        }
        if secret.email:
            entry["email"] = secret.email
        auths[secret.dockerconfig_key] = entry
    return {"auths": auths}


def hash_api_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", "read-only"
    FULL = "full", "full"


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the token is shown once.

    A read-only token authenticates safe methods (GET, HEAD, OPTIONS) only; neither scope
    manages tokens (that needs a signed-in session), so a leaked token cannot mint more.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Tokens made before scopes existed keep the power they had (full).
    scope = models.CharField(max_length=8, choices=TokenScope.choices, default=TokenScope.FULL)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()
