"""Personal API tokens (each user sees only their own) and the current user's capabilities."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.auditing import AuditedView
from projects import access
from projects.api import serializers as s
from projects.api.views import signed_in_user
from projects.authentication import SessionOnly, create_api_token
from projects.models import ApiToken, TokenScope


class ApiTokenList(AuditedView, generics.ListCreateAPIView[ApiToken]):
    serializer_class = s.ApiTokenSerializer
    permission_classes = [SessionOnly]
    audit_object_type = "token"
    audit_id_key = "id"
    audit_display_key = "name"
    audit_fields = ("name", "scope", "expires_at")

    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user=signed_in_user(self.request))

    @extend_schema(responses={201: s.ApiTokenCreatedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = create_api_token(
            signed_in_user(request),
            serializer.validated_data["name"],
            serializer.validated_data.get("expires_at"),
            serializer.validated_data.get("scope", TokenScope.FULL),
        )
        data = dict(s.ApiTokenSerializer(token).data, token=raw)
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenDetail(AuditedView, generics.RetrieveDestroyAPIView[ApiToken]):
    serializer_class = s.ApiTokenSerializer
    permission_classes = [SessionOnly]
    audit_object_type = "token"
    audit_id_kwarg = "token_id"
    lookup_url_kwarg = "token_id"

    def get_queryset(self) -> QuerySet[ApiToken]:
        # Other users' tokens are simply not in the queryset: 404, never 403.
        return ApiToken.objects.filter(user=signed_in_user(self.request))


class Me(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "username": user.get_username(),
                "is_platform_admin": bool(user.is_superuser),
                "can_create_workspace": access.can_create_workspace(user),
            }
        )
