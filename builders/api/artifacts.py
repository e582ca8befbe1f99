"""Artifact uploads of a project: one multipart request, or a resumable chunked upload.

Chunked protocol: POST uploads/ {file_name, size, sha256?} → {id, offset: 0}; then
PATCH uploads/<id>/ with header `Upload-Offset: <offset>` and the raw bytes as body →
{offset}; a chunk at another offset than the server's answers 409 with the server's `offset`,
so a client that lost a response asks GET uploads/<id>/ and continues from there; finally
POST uploads/<id>/complete/ {kind?} → the artifact (inspected, deduplicated by sha256).
DELETE uploads/<id>/ cancels an upload (204) and removes its staged bytes.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.errors import UserError
from builders.api import serializers as s
from builders.api.views import BuildersApiView
from builders.artifacts import uploads
from builders.models import Artifact, ArtifactKind, ArtifactUpload


class KindSerializer(serializers.Serializer[object]):
    kind = serializers.ChoiceField(choices=ArtifactKind.choices, required=False)


class ArtifactUploadForm(KindSerializer):
    file = serializers.FileField()


class ArtifactList(BuildersApiView[Artifact], generics.ListCreateAPIView[Artifact]):
    """GET the project's artifacts; POST one file (multipart `file`, optional `kind`)."""

    accepts_upload = True
    serializer_class = s.ArtifactSerializer
    audit_object_type = "artifact"
    audit_actions = {"POST": "artifact.upload"}
    audit_id_key = "id"
    audit_fields = ("file", "kind")

    def get_queryset(self) -> QuerySet[Artifact]:
        return Artifact.objects.filter(project=self.project).select_related("uploaded_by")

    @extend_schema(request=ArtifactUploadForm, responses=s.ArtifactSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ArtifactUploadForm(data=request.data)
        form.is_valid(raise_exception=True)
        stored = uploads.store_uploaded_file(
            self.project, request.user, form.validated_data["file"], form.validated_data.get("kind")
        )
        code = status.HTTP_201_CREATED if stored.created else status.HTTP_200_OK
        return Response(s.ArtifactSerializer(stored.artifact).data, status=code)


class UploadList(BuildersApiView[ArtifactUpload], generics.CreateAPIView[ArtifactUpload]):
    serializer_class = s.ArtifactUploadSerializer
    audit_object_type = "upload"
    audit_actions = {"POST": "upload.begin"}
    audit_id_key = "id"
    audit_fields = ("file_name", "size")

    def perform_create(self, serializer: serializers.BaseSerializer[ArtifactUpload]) -> None:
        data = serializer.validated_data
        serializer.instance = uploads.begin_chunked_upload(
            self.project,
            self.request.user,
            file_name=data["file_name"],
            total_size=data["total_size"],
            sha256=data.get("expected_sha256", ""),
        )


class UploadDetail(BuildersApiView[ArtifactUpload], generics.RetrieveAPIView[ArtifactUpload]):
    """GET the offset to resume from; PATCH appends one chunk at `Upload-Offset`; DELETE."""

    serializer_class = s.ArtifactUploadSerializer
    audit_object_type = "upload"
    audit_actions = {"PATCH": "upload.append", "DELETE": "upload.cancel", "POST": "upload.complete"}
    audit_id_key = "-"  # the URL's upload (a completion answers with the artifact)
    audit_id_kwarg = "upload"

    def get_object(self) -> ArtifactUpload:
        return self.upload_by_id(self.kwargs["upload"])

    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = self.get_object()
        offset_text = request.META.get("HTTP_UPLOAD_OFFSET", "")
        length_text = request.META.get("CONTENT_LENGTH", "")
        if not offset_text.isdigit() or not length_text.isdigit():
            raise UserError(
                "upload:bad-chunk",
                "Send each chunk with the headers Upload-Offset and Content-Length.",
            )
        upload = uploads.append_chunk(
            upload, int(offset_text), request._request.read, int(length_text)
        )
        return Response(s.ArtifactUploadSerializer(upload).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel the upload: the row goes, its staged bytes once that is committed."""
        uploads.delete_upload(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadComplete(UploadDetail):
    http_method_names = ["post", "options"]  # not the chunk or cancel methods of its parent
    audit_fields = ("kind",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Dated before the audited transaction opens: an attempt that then fails (storage down,
        # a crash) still counts as activity, or the expiry could delete the upload under a
        # client about to retry.
        if request.method == "POST":
            uploads.note_completion_attempt(self.get_object())

    @extend_schema(request=KindSerializer, responses=s.ArtifactSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = KindSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        stored = uploads.complete_chunked_upload(
            self.get_object(), request.user, form.validated_data.get("kind")
        )
        return Response(s.ArtifactSerializer(stored.artifact).data, status=status.HTTP_201_CREATED)


class ArtifactDownload(BuildersApiView[Artifact]):
    """GET the stored file of one of the project's artifacts, under its original name."""

    serializer_class = s.ArtifactSerializer

    @extend_schema(
        operation_id="artifact_download",
        parameters=[OpenApiParameter("name", str, description="a name they were saved as")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        same_bytes = Artifact.objects.filter(project=self.project, sha256=kwargs["sha256"])
        # The same bytes may be stored under several names; ?name= picks one.
        if request.query_params.get("name"):
            same_bytes = same_bytes.filter(file_name=request.query_params["name"])
        artifact = same_bytes.first()
        if artifact is None:
            raise Http404("No such artifact in this project.")
        try:
            stored = default_storage.open(artifact.storage_key, "rb")
        except FileNotFoundError as exc:
            raise UserError(
                "artifact:missing",
                f"The stored artifact {artifact.file_name} is gone from storage; upload it again.",
                status=404,
            ) from exc
        response = FileResponse(stored, as_attachment=True, filename=artifact.file_name)
        response["Content-Length"] = str(artifact.size)
        return response
