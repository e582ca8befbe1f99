from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor_kind",
            "actor_name",
            "token_id",
            "token_name",
            "channel",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "workspace_name",
            "project_name",
            "source_ip",
            "user_agent",
            "result",
            "status_code",
            "error_code",
            "detail",
        ]
        read_only_fields = fields
