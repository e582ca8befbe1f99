"""The quota of a workspace: its members read limits and usage; platform admins change them.

GET/PUT/PATCH /api/v1/workspaces/<ws>/quota/ — an empty (null) limit is no limit.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from builders import quotas
from builders.models import WorkspaceQuota
from projects import access
from projects.api.views import WorkspaceScoped


class UsageSerializer(serializers.Serializer[object]):
    limit = serializers.IntegerField(allow_null=True, help_text="null: no limit")
    used = serializers.IntegerField()


class BuildUsageSerializer(UsageSerializer):
    waiting = serializers.IntegerField(help_text="Runs queued, waiting for a build slot")


class QuotaUsageSerializer(serializers.Serializer[object]):
    """What GET answers: each limit with its usage."""

    concurrent_builds = BuildUsageSerializer()
    artifact_bytes = UsageSerializer()
    builders = UsageSerializer()
    updated_at = serializers.DateTimeField(allow_null=True)
    may_change = serializers.BooleanField(help_text="Whether you may change the limits")


class QuotaLimitsSerializer(serializers.ModelSerializer[WorkspaceQuota]):
    """What PUT/PATCH take: the limits (null or absent in PUT: no limit)."""

    class Meta:
        model = WorkspaceQuota
        fields = ["max_concurrent_builds", "max_artifact_bytes", "max_builders"]
        extra_kwargs = {name: {"required": False, "allow_null": True} for name in fields}


class WorkspaceQuotaView(WorkspaceScoped[WorkspaceQuota], generics.GenericAPIView[WorkspaceQuota]):
    serializer_class = QuotaLimitsSerializer
    # Changes are checked by access.check_set_quotas (platform admins), not by a workspace role.
    write_need = "view"
    audit_object_type = "quota"
    audit_id_kwarg = "workspace"
    audit_fields = ("max_concurrent_builds", "max_artifact_bytes", "max_builders")

    @extend_schema(responses=QuotaUsageSerializer)
    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(self.answer(request))

    @extend_schema(request=QuotaLimitsSerializer, responses=QuotaUsageSerializer)
    def put(self, request: Request, **kwargs: Any) -> Response:
        return self.change(request, partial=False)

    @extend_schema(request=QuotaLimitsSerializer, responses=QuotaUsageSerializer)
    def patch(self, request: Request, **kwargs: Any) -> Response:
        return self.change(request, partial=True)

    def change(self, request: Request, *, partial: bool) -> Response:
        access.check_set_quotas(request.user, self.workspace)
        body = QuotaLimitsSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        limits = dict(body.validated_data)
        if not partial:
            limits = {name: limits.get(name) for name in QuotaLimitsSerializer.Meta.fields}
        quotas.set_workspace_quota(self.workspace.pk, limits)
        return Response(self.answer(request))

    def answer(self, request: Request) -> dict[str, Any]:
        usage = quotas.workspace_usage(self.workspace.pk)
        return {**usage, "may_change": access.can_set_quotas(request.user)}
