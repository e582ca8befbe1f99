"""Serializers of the tenancy API. Registry passwords are write-only and never serialized."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from b2i_console.safe_text import reject_unsafe_characters, reject_unsafe_in_text
from projects import access
from projects.models import (
    ApiToken,
    Project,
    ProjectMembership,
    ProjectRole,
    RegistrySecret,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
    dns1123_label_validator,
    normalize_registry_address,
    validate_registry_address,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from projects.access import RequestUser

_Place = TypeVar("_Place", Workspace, Project)

MAX_CA_BUNDLE_CHARS = 64 * 1024
MAX_PASSWORD_CHARS = 16 * 1024  # registry tokens (JWTs) can be long; anything larger is a mistake


def _user_from_context(serializer: serializers.BaseSerializer[_Place]) -> RequestUser | None:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def _cached_role(
    serializer: serializers.BaseSerializer[_Place],
    obj: _Place,
    role_of: Callable[[RequestUser | None, _Place], str | None],
) -> str | None:
    """Look the user's role up once per object and response (my_role and permissions share it)."""
    # The stubs type context as a Mapping; DRF keeps it as the dict the view passed in.
    roles = serializer.context.setdefault("_roles", {})  # type: ignore[attr-defined]
    key = (type(obj).__name__, obj.pk)
    if key not in roles:
        roles[key] = role_of(_user_from_context(serializer), obj)
    role: str | None = roles[key]
    return role


# The requesting user's role in the object and the needs it grants. (A comment, not a docstring:
# drf-spectacular would print a docstring as the description of every schema using it.)
class _RoleFields(serializers.Serializer[_Place], Generic[_Place]):
    role_of: Callable[
        [RequestUser | None, _Place], str | None
    ]  # access.workspace_role / access.project_role
    needs: dict[str, frozenset[str]]  # access.WORKSPACE_NEEDS / access.PROJECT_NEEDS

    my_role = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    def get_my_role(self, obj: _Place) -> str | None:
        return _cached_role(self, obj, self.role_of)

    def get_permissions(self, obj: _Place) -> dict[str, bool]:
        return access.needs_granted(_cached_role(self, obj, self.role_of), self.needs)


# Names are checked free by projects.services, whose answer names no other tenant's object;
# DRF's UniqueValidator would answer "already exists" for names the user cannot see.
NAME_WITHOUT_UNIQUE_CHECK: dict[str, dict[str, list[Callable[[str], None]]]] = {
    "name": {"validators": [dns1123_label_validator]},
    # Aliases and descriptions are shown on pages: no control or bidi characters.
    "alias": {"validators": [reject_unsafe_characters]},
    "description": {"validators": [reject_unsafe_in_text]},
}


class WorkspaceSerializer(_RoleFields[Workspace], serializers.ModelSerializer[Workspace]):
    creator: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Workspace
        fields = ["name", "alias", "description", "creator", "created_at", "my_role", "permissions"]
        read_only_fields = ["created_at"]
        extra_kwargs = NAME_WITHOUT_UNIQUE_CHECK

    role_of = staticmethod(access.workspace_role)
    needs = access.WORKSPACE_NEEDS


class WorkspaceUpdateSerializer(WorkspaceSerializer):
    class Meta(WorkspaceSerializer.Meta):
        read_only_fields = ["name", "created_at"]


class ProjectSerializer(_RoleFields[Project], serializers.ModelSerializer[Project]):
    workspace: serializers.SlugRelatedField[Workspace] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    creator: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    namespace = serializers.CharField(read_only=True)

    class Meta:
        model = Project
        fields = [
            "name",
            "workspace",
            "namespace",
            "alias",
            "description",
            "creator",
            "created_at",
            "my_role",
            "permissions",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = NAME_WITHOUT_UNIQUE_CHECK

    role_of = staticmethod(access.project_role)
    needs = access.PROJECT_NEEDS


class ProjectUpdateSerializer(ProjectSerializer):
    class Meta(ProjectSerializer.Meta):
        read_only_fields = ["name", "created_at"]


class WorkspaceMemberSerializer(serializers.ModelSerializer[WorkspaceMembership]):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=WorkspaceRole.choices)

    class Meta:
        model = WorkspaceMembership
        fields = ["username", "role", "created_at"]
        read_only_fields = ["created_at"]


class ProjectMemberSerializer(serializers.ModelSerializer[ProjectMembership]):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=ProjectRole.choices)

    class Meta:
        model = ProjectMembership
        fields = ["username", "role", "created_at"]
        read_only_fields = ["created_at"]


class RoleSerializer(serializers.Serializer[object]):
    role = serializers.CharField()


class RegistrySecretSerializer(serializers.ModelSerializer[RegistrySecret]):
    """The password is accepted on write and never returned; `has_password` tells if one is set."""

    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_PASSWORD_CHARS,
    )
    has_password = serializers.SerializerMethodField()
    registry_host = serializers.CharField(read_only=True)

    class Meta:
        model = RegistrySecret
        fields = [
            "name",
            "address",
            "registry_host",
            "username",
            "password",
            "has_password",
            "email",
            "is_default",
            "skip_tls_verify",
            "ca_bundle",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness is checked in the view (the project comes from the URL).
        validators: list[Callable[..., object]] = []
        extra_kwargs = {"username": {"validators": [reject_unsafe_characters]}}

    def get_has_password(self, secret: RegistrySecret) -> bool:
        return bool(secret.password_encrypted)

    def validate_address(self, value: str) -> str:
        return normalize_registry_address(value)

    def validate_ca_bundle(self, value: str) -> str:
        if len(value) > MAX_CA_BUNDLE_CHARS:
            raise serializers.ValidationError(_("The CA bundle is larger than 64 KiB."))
        if value.strip() and "-----BEGIN CERTIFICATE-----" not in value:
            raise serializers.ValidationError(
                _("The CA bundle must be PEM text with -----BEGIN CERTIFICATE----- blocks.")
            )
        return value


class RegistrySecretUpdateSerializer(RegistrySecretSerializer):
    class Meta(RegistrySecretSerializer.Meta):
        read_only_fields = ["name", "created_at", "updated_at"]


class ValidateRequestSerializer(serializers.Serializer[RegistrySecret]):
    repository = serializers.RegexField(
        r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z",
        max_length=255,
        required=False,
        error_messages={"invalid": _("Give a repository path such as team/app (lowercase).")},
    )


class RegistryProbeSerializer(ValidateRequestSerializer):
    """Fields of a secret not saved yet (the form's Validate button before Save).

    With `name` of a saved secret and no `password`, the stored password is used only for the
    address, username and TLS settings it was saved for (else 400 secret:password-required).
    """

    name = serializers.CharField(required=False, max_length=63)
    address = serializers.CharField(max_length=255)
    username = serializers.CharField(required=False, allow_blank=True, max_length=255)
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_PASSWORD_CHARS,
    )
    skip_tls_verify = serializers.BooleanField(required=False, default=False)
    ca_bundle = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def validate_address(self, value: str) -> str:
        try:
            validate_registry_address(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return normalize_registry_address(value)

    validate_ca_bundle = RegistrySecretSerializer.validate_ca_bundle


class ValidateResultSerializer(serializers.Serializer[object]):
    login_ok = serializers.BooleanField()
    login_message = serializers.CharField()
    push_ok = serializers.BooleanField(allow_null=True)
    push_message = serializers.CharField(allow_blank=True)
    repository = serializers.CharField()
    login_code = serializers.CharField(allow_null=True)
    push_code = serializers.CharField(allow_null=True)


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError(_("The expiry must be in the future."))
        return value


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class MeSerializer(serializers.Serializer[object]):
    username = serializers.CharField()
    is_platform_admin = serializers.BooleanField()
    can_create_workspace = serializers.BooleanField()
