from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from identity.models import GroupRoleMapping
from projects.models import Project, Workspace


class GroupRoleMappingSerializer(serializers.ModelSerializer[GroupRoleMapping]):
    workspace = serializers.SlugRelatedField(
        slug_field="name", queryset=Workspace.objects.all(), required=False, allow_null=True
    )
    project = serializers.SlugRelatedField(
        slug_field="name", queryset=Project.objects.all(), required=False, allow_null=True
    )
    group = serializers.CharField(max_length=255)

    class Meta:
        model = GroupRoleMapping
        fields = ["id", "provider", "group", "platform_role", "workspace", "project", "role"]
        read_only_fields = ["id"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        values = {
            field: attrs.get(field, getattr(current, field, None) if current else None)
            for field in ("provider", "group", "platform_role", "workspace", "project", "role")
        }
        candidate = GroupRoleMapping(
            provider=values["provider"] or "",
            group=values["group"] or "",
            platform_role=values["platform_role"] or "",
            workspace=values["workspace"],
            project=values["project"],
            role=values["role"] or "",
        )
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from exc
        return attrs
