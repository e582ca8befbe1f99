"""Registry secrets of a project: CRUD (password write-only) and the Validate action."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from b2i_console.errors import UserError
from projects import services
from projects.api import serializers as s
from projects.api.views import ProjectScoped, signed_in_user
from projects.models import RegistrySecret
from projects.validation import validate_registry_secret


def _secret_in(project_secrets: QuerySet[RegistrySecret], name: str) -> RegistrySecret:
    secret = project_secrets.filter(name=name).first()
    if secret is None:
        raise Http404("No such registry secret.")
    return secret


# Recorded fields of a secret: where it points, never username, password or CA bundle.
SECRET_FIELDS = ("name", "address", "email", "is_default", "skip_tls_verify")


class RegistrySecretList(ProjectScoped[RegistrySecret], generics.ListCreateAPIView[RegistrySecret]):
    serializer_class = s.RegistrySecretSerializer
    audit_object_type = "secret"
    audit_fields = SECRET_FIELDS

    def get_queryset(self) -> QuerySet[RegistrySecret]:
        return self.project.registry_secrets.select_related("project").all()

    def perform_create(self, serializer: serializers.BaseSerializer[RegistrySecret]) -> None:
        data = dict(serializer.validated_data)
        if self.project.registry_secrets.filter(name=data["name"]).exists():
            raise UserError(
                "secret:name-taken",
                f"This project already has a registry secret named {data['name']!r}.",
                status=409,
            )
        password = data.pop("password", "")
        secret = RegistrySecret(project=self.project, creator=signed_in_user(self.request), **data)
        serializer.instance = services.save_registry_secret(secret, password)


class RegistrySecretDetail(
    ProjectScoped[RegistrySecret], generics.RetrieveUpdateDestroyAPIView[RegistrySecret]
):
    serializer_class = s.RegistrySecretUpdateSerializer
    audit_object_type = "secret"
    audit_fields = SECRET_FIELDS

    def get_object(self) -> RegistrySecret:
        return _secret_in(self.project.registry_secrets.all(), self.kwargs["name"])

    def perform_update(self, serializer: serializers.BaseSerializer[RegistrySecret]) -> None:
        secret = serializer.instance
        assert isinstance(secret, RegistrySecret)
        data = dict(serializer.validated_data)
        # An omitted password keeps the stored one: the form never receives it to send back.
        password = data.pop("password", None)
        for field, value in data.items():
            setattr(secret, field, value)
        services.save_registry_secret(secret, password)


class ValidateThrottle(UserRateThrottle):
    """Validate connects to addresses users choose; a rate limit keeps it from scanning networks."""

    scope = "registry-validate"
    rate = "20/min"


class RegistrySecretValidate(
    ProjectScoped[RegistrySecret], generics.GenericAPIView[RegistrySecret]
):
    serializer_class = s.ValidateRequestSerializer
    throttle_classes = [ValidateThrottle]
    audit_object_type = "secret"
    audit_actions = {"POST": "secret.validate"}
    audit_id_key = "-"  # the answer is a report: the secret is the URL's
    audit_fields = ("repository",)

    @extend_schema(request=s.ValidateRequestSerializer, responses=s.ValidateResultSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        secret = _secret_in(self.project.registry_secrets.all(), self.kwargs["name"])
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = validate_registry_secret(secret, body.validated_data.get("repository"))
        return Response(report.as_dict())


class RegistryProbe(ProjectScoped[RegistrySecret], generics.GenericAPIView[RegistrySecret]):
    """Validate registry settings before they are saved as a secret (same checks as validate/)."""

    serializer_class = s.RegistryProbeSerializer
    throttle_classes = [ValidateThrottle]
    audit_object_type = "secret"
    audit_actions = {"POST": "secret.probe"}
    audit_id_key = "-"
    audit_fields = ("name", "address", "repository", "skip_tls_verify")

    @extend_schema(request=s.RegistryProbeSerializer, responses=s.ValidateResultSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        repository = data.pop("repository", None)
        secret = self.unsaved_secret(data)
        return Response(validate_registry_secret(secret, repository).as_dict())

    def unsaved_secret(self, data: dict[str, Any]) -> RegistrySecret:
        name = data.pop("name", None)
        password = data.pop("password", None)
        secret = RegistrySecret(project=self.project, name=name or "unsaved", **data)
        if password is not None:
            secret.password = password
        elif name:
            stored = self.project.registry_secrets.filter(name=name).first()
            if stored is not None:
                secret.password_encrypted = stored_password_for(stored, secret)
        return secret


def stored_password_for(stored: RegistrySecret, probe: RegistrySecret) -> str:
    """Return the stored (encrypted) password for a probe of the very address it was saved for.

    A probe of another address, username or looser TLS must carry its own password: otherwise
    an operator could send the stored password to a server of their choosing.
    """
    if stored.password_encrypted and services.credential_target_changed(stored, probe):
        raise UserError("secret:password-required", services.REENTER_CREDENTIAL_MESSAGE, status=400)
    return stored.password_encrypted
