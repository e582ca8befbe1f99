"""Group-to-role mappings over the API: platform admins only (they decide who becomes admin)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import generics, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.api.auditing import AuditedView
from identity.api.serializers import GroupRoleMappingSerializer
from identity.models import GroupRoleMapping
from projects.access import may_manage_identity_providers


class PlatformAdminsOnly(permissions.BasePermission):
    message = "Only platform admins manage identity provider group mappings."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return may_manage_identity_providers(request.user)


MAPPING_FIELDS = ("provider", "group", "platform_role", "workspace", "project", "role")


class GroupRoleMappingList(AuditedView, generics.ListCreateAPIView[GroupRoleMapping]):
    serializer_class = GroupRoleMappingSerializer
    permission_classes = [PlatformAdminsOnly]
    audit_object_type = "group_mapping"
    audit_id_key = "id"
    audit_fields = MAPPING_FIELDS

    def get_queryset(self) -> QuerySet[GroupRoleMapping]:
        return GroupRoleMapping.objects.select_related("workspace", "project")


class GroupRoleMappingDetail(AuditedView, generics.RetrieveUpdateDestroyAPIView[GroupRoleMapping]):
    serializer_class = GroupRoleMappingSerializer
    permission_classes = [PlatformAdminsOnly]
    audit_object_type = "group_mapping"
    audit_id_key = "id"
    audit_id_kwarg = "pk"
    audit_fields = MAPPING_FIELDS

    def get_queryset(self) -> QuerySet[GroupRoleMapping]:
        return GroupRoleMapping.objects.select_related("workspace", "project")
