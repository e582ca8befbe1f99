"""Build environments: everyone logged in lists them; platform admins add and edit them."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.api.auditing import AuditedView
from builders.api import serializers as s
from builders.models import ArtifactKind, BuildEnvironment


class AdminWrites(permissions.BasePermission):
    message = "Only platform admins may change build environments."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return bool(request.user and request.user.is_superuser)


ENVIRONMENT_FIELDS = ("name", "title", "base_image", "artifact_kinds", "enabled")


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=list(ArtifactKind.values), description="builds it")
        ]
    )
)
class EnvironmentList(AuditedView, generics.ListCreateAPIView[BuildEnvironment]):
    serializer_class = s.BuildEnvironmentSerializer
    audit_object_type = "environment"
    audit_fields = ENVIRONMENT_FIELDS
    permission_classes = [AdminWrites]
    pagination_class = None

    # A list when filtered by kind (artifact_kinds is JSON, which SQLite cannot search by
    # containment); DRF's list() takes any sequence, the stubs declare a QuerySet.
    def get_queryset(  # type: ignore[override]
        self,
    ) -> QuerySet[BuildEnvironment] | list[BuildEnvironment]:
        environments = BuildEnvironment.objects.all()
        if self.request.query_params.get("kind"):
            kind = self.request.query_params["kind"]
            return [env for env in environments if kind in env.artifact_kinds]
        return environments


class EnvironmentDetail(AuditedView, generics.RetrieveUpdateDestroyAPIView[BuildEnvironment]):
    serializer_class = s.BuildEnvironmentSerializer
    audit_object_type = "environment"
    audit_fields = ENVIRONMENT_FIELDS
    permission_classes = [AdminWrites]
    lookup_field = "name"
    queryset = BuildEnvironment.objects.all()
