"""The signed, short-lived artifact download a build Job's pod uses (no session: the token is the
authorization). Expired, forged or mismatched tokens answer 403 with a stable code."""

from __future__ import annotations

from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from b2i_console.errors import UserError
from builders.models import BuildRun
from workloads.executor import artifact_for_token


class BuildArtifactDownload(APIView):
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="build_artifact_download",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        auth=[],
        description="The artifact of one run, for its build Job's pod (signed, short-lived).",
    )
    def get(self, request: Request, token: str) -> FileResponse:
        try:
            run_id, sha256 = artifact_for_token(token)
        except signing.SignatureExpired as error:
            raise UserError(
                "artifact:link-expired", "This artifact link has expired.", status=403
            ) from error
        except (signing.BadSignature, ValueError) as error:
            raise UserError(
                "artifact:bad-link", "This artifact link is not valid.", status=403
            ) from error
        run = BuildRun.objects.select_related("artifact").filter(pk=run_id).first()
        artifact = run.artifact if run else None
        if artifact is None or artifact.sha256 != sha256:
            raise UserError("artifact:bad-link", "This artifact link is not valid.", status=403)
        response = FileResponse(
            default_storage.open(artifact.storage_key, "rb"),
            as_attachment=True,
            filename=artifact.file_name,
        )
        response["Content-Length"] = str(artifact.size)
        return response
