"""Remote trigger of a builder: POST …/imagebuilders/<name>/trigger/?token=<token>.

No login: the builder's trigger token (compared in constant time) is the credential. The body
may carry a new `tag` and an `artifact_url` (+ optional `sha256`); the worker downloads the URL
with the same SSRF rules and size limit as registries and checks the sha256 before building.
A wrong token and an unknown builder answer the same 404, so tokens cannot be probed.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import Http404
from rest_framework import generics, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from builders import services
from builders.api import serializers as s
from builders.artifacts.fetch import check_artifact_url
from builders.models import ImageBuilder


class TriggerThrottle(AnonRateThrottle):
    rate = "60/minute"


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


class BuilderTrigger(generics.GenericAPIView[ImageBuilder]):
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [TriggerThrottle]
    serializer_class = s.TriggerRequestSerializer

    def post(self, request: Request, workspace: str, project: str, name: str) -> Response:
        token = request.query_params.get("token") or request.META.get("HTTP_X_TRIGGER_TOKEN", "")
        builder = builder_for_token(workspace, project, name, token)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        url = check_artifact_url(data["artifact_url"]) if data.get("artifact_url") else ""
        run = services.do_start_run(
            builder,
            tag=data.get("tag"),
            artifact_url=url,
            artifact_url_sha256=data.get("sha256", ""),
            triggered_by="trigger",
        )
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)
