"""Group-to-role mappings of external identity providers, and the grants they made.

A mapping says: members of provider group G get role R (on the platform, a workspace or a
project). MappedGrant remembers which memberships a mapping created, so a later sign-in can
revoke exactly those when the user left the group, and never touches a role an admin gave by
hand.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import Project, ProjectRole, Workspace, WorkspaceRole


class Provider(models.TextChoices):
    LDAP = "ldap", "LDAP"
    OIDC = "oidc", "OpenID Connect"


class PlatformRole(models.TextChoices):
    ADMIN = "platform-admin", "platform-admin"
    SELF_PROVISIONER = "platform-self-provisioner", "platform-self-provisioner"


class GroupRoleMapping(models.Model):
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # LDAP: the group's name (its cn); OIDC: a value of the groups claim. Compared ignoring case.
    group = models.CharField(max_length=255)
    platform_role = models.CharField(
        max_length=40, choices=PlatformRole.choices, blank=True, default=""
    )
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "group", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(platform_role="", workspace__isnull=False, project__isnull=True)
                    | models.Q(platform_role="", workspace__isnull=True, project__isnull=False)
                    | ~models.Q(platform_role="")
                    & models.Q(workspace__isnull=True, project__isnull=True)
                ),
                name="mapping_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} group {self.group} → {self.target_label()}"

    def target_label(self) -> str:
        if self.platform_role:
            return self.platform_role
        if self.workspace_id:
            return f"{self.role} of workspace {self.workspace}"
        return f"{self.role} of project {self.project}"

    def clean(self) -> None:
        targets = [bool(self.platform_role), self.workspace_id is not None]
        targets.append(self.project_id is not None)
        if sum(targets) != 1:
            raise ValidationError(
                _("Map the group to exactly one of: a platform role, a workspace, a project.")
            )
        if self.workspace_id is not None and self.role not in WorkspaceRole.values:
            raise ValidationError(
                {
                    "role": _("A workspace role is one of %(roles)s.")
                    % {"roles": ", ".join(WorkspaceRole.values)}
                }
            )
        if self.project_id is not None and self.role not in ProjectRole.values:
            raise ValidationError(
                {
                    "role": _("A project role is one of %(roles)s.")
                    % {"roles": ", ".join(ProjectRole.values)}
                }
            )
        if self.platform_role and self.role:
            raise ValidationError(
                {"role": _("A platform role mapping takes no workspace or project role.")}
            )


class MappedGrant(models.Model):
    """A role a group mapping gave a user; removed with the role once the mapping stops holding."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mapped_grants"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    platform_role = models.CharField(max_length=40, blank=True, default="")
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=40, blank=True, default="")
    granted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} {self.platform_role or self.role} via {self.provider}"


class ExternalIdentity(models.Model):
    """Who a local user is at a provider: the stable key a later sign-in is matched by."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # OIDC: the issuer URL; LDAP: the server URI. With subject, the identity's stable key.
    issuer = models.CharField(max_length=500)
    # OIDC: the sub claim; LDAP: the user's DN.
    subject = models.CharField(max_length=500)
    last_sign_in = models.DateTimeField(default=timezone.now)
    last_checked = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "issuer", "subject"], name="one_local_user_per_identity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.subject} at {self.issuer}"
