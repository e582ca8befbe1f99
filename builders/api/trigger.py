"""Remote trigger of a builder: POST …/imagebuilders/<name>/trigger/ with the builder's token
in a header: `X-B2I-Trigger-Token: <token>` or `Authorization: Bearer <token>`.

(`?token=` still works for old pipelines, but a URL lands in access logs - ours redact it,
a proxy's may not - so the console shows the header form only.)

No login: the builder's trigger token (compared in constant time) is the credential. The body
may carry a new `tag` and an `artifact_url` (+ optional `sha256`); the worker downloads the URL
with the same SSRF rules and size limit as registries and checks the sha256 before building.
A wrong token and an unknown builder answer the same 404, so tokens cannot be probed.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from audit.api.auditing import AuditedView
from audit.models import ActorKind, Channel
from audit.recording import Actor
from b2i_console.client_ip import client_ip
from builders import services
from builders.api import serializers as s
from builders.artifacts.fetch import check_artifact_url
from builders.availability import check_builder_base_not_known_unreachable
from builders.models import ImageBuilder


class TriggerThrottle(AnonRateThrottle):
    rate = "60/minute"

    def get_ident(self, request: Request) -> str:
        # DRF's own get_ident believes any X-Forwarded-For: one client could pose as many.
        return client_ip(request.META)


def builder_for_token(workspace: str, project: str, name: str, token: str) -> ImageBuilder:
    builder = (
        ImageBuilder.objects.select_related("project__workspace")
        .filter(project__workspace__name=workspace, project__name=project, name=name)
        .first()
    )
    expected = builder.trigger_token if builder is not None else ""
    # compare_digest even when there is no builder, so timing tells nothing either way.
    matches = hmac.compare_digest(expected.encode(), token.encode()) if token else False
    if builder is None or not expected or not matches:
        raise Http404("No such image builder, or a wrong trigger token.")
    return builder


def trigger_token_of(request: Request) -> str:
    """Read the token from X-B2I-Trigger-Token, Authorization: Bearer, or legacy places."""
    meta = request.META
    header = meta.get("HTTP_X_B2I_TRIGGER_TOKEN") or meta.get("HTTP_X_TRIGGER_TOKEN")
    if header:
        return str(header).strip()
    scheme, _, credentials = str(meta.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return str(request.query_params.get("token", ""))


class BuilderTrigger(AuditedView, generics.GenericAPIView[ImageBuilder]):
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [TriggerThrottle]
    serializer_class = s.TriggerRequestSerializer
    audit_object_type = "run"
    audit_actions = {"POST": "run.trigger"}
    audit_id_key = "number"
    audit_parent_kwarg = "name"
    audit_channel = Channel.TRIGGER
    # Not the artifact URL: it may carry credentials in its user part or query.
    audit_fields = ("tag", "sha256")

    def audit_actor(self) -> Actor:
        """The builder's trigger token (never the token itself: it is a credential)."""
        return Actor(ActorKind.TRIGGER, name="trigger")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "X-B2I-Trigger-Token",
                str,
                OpenApiParameter.HEADER,
                description="The builder's trigger token (or send Authorization: Bearer <token>)",
            )
        ]
    )
    def post(self, request: Request, workspace: str, project: str, name: str) -> Response:
        token = trigger_token_of(request)
        builder = builder_for_token(workspace, project, name, token)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        # A pipeline reads the 409's message: it is the project user's (whom to ask), no admin's.
        check_builder_base_not_known_unreachable(builder, admin=False)
        url = check_artifact_url(data["artifact_url"]) if data.get("artifact_url") else ""
        run = services.do_start_run(
            builder,
            tag=data.get("tag"),
            artifact_url=url,
            artifact_url_sha256=data.get("sha256", ""),
            triggered_by="trigger",
        )
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)
