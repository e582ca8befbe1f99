"""Build environments: everyone logged in lists them; platform admins add and edit them."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, permissions
from rest_framework.request import Request

from builders.api import serializers as s
from builders.models import BuildEnvironment


class AdminWrites(permissions.BasePermission):
    message = "Only platform admins may change build environments."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return bool(request.user and request.user.is_superuser)


class EnvironmentList(generics.ListCreateAPIView):  # type: ignore[type-arg]
    serializer_class = s.BuildEnvironmentSerializer
    permission_classes = [AdminWrites]
    pagination_class = None

    def get_queryset(self) -> Any:
        environments = BuildEnvironment.objects.all()
        if self.request.query_params.get("kind"):
            kind = self.request.query_params["kind"]
            environments = [env for env in environments if kind in env.artifact_kinds]
        return environments


class EnvironmentDetail(generics.RetrieveUpdateDestroyAPIView):  # type: ignore[type-arg]
    serializer_class = s.BuildEnvironmentSerializer
    permission_classes = [AdminWrites]
    lookup_field = "name"
    queryset = BuildEnvironment.objects.all()
