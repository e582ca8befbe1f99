"""REST API of image builders and their runs, under /api/v1/workspaces/<ws>/projects/<p>/.

Every view resolves its project through `projects.access` (via ProjectScoped) before reading
the body: an invisible project answers 404, a visible one the user may not change answers 403.
Uploads use `HashingUploadHandler`, installed before anything reads the body.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from django.db.models import F, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.errors import UserError
from builders import builder_services, quotas, services
from builders.api import serializers as s
from builders.api.builder_rows import builder_values, represent_builders
from builders.artifacts import uploads
from builders.availability import (
    check_base_not_known_unreachable,
    check_builder_base_not_known_unreachable,
)
from builders.models import (
    Artifact,
    ArtifactKind,
    ArtifactUpload,
    BuildRun,
    BuildState,
    ImageBuilder,
)
from projects import access
from projects.api.views import ProjectScoped

STATUS_FILTERS = {
    "building": Q(latest_state__in=[BuildState.PENDING, BuildState.RUNNING]),
    "not-run": Q(latest_state__isnull=True),
    "successful": Q(latest_state=BuildState.SUCCESSFUL),
    "failed": Q(latest_state=BuildState.FAILED),
    "cancelled": Q(latest_state=BuildState.CANCELLED),
}


# The model a builders API view lists or shows.
_Row = TypeVar("_Row", bound=Model)


class BuildersApiView(ProjectScoped[_Row]):
    """Project-scoped view of the builders API; takes uploads when `accepts_upload`."""

    accepts_upload = False

    @property
    # A property where AuditedView has a class constant: an upload view's multipart body
    # streams to disk before the audited transaction begins.
    def audit_parse_body_first(self) -> bool:  # type: ignore[override]
        return self.accepts_upload

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.accepts_upload:
            # Before CSRF or parsing touches the body: hash and limit it while it streams.
            uploads.check_declared_size(request.META.get("CONTENT_LENGTH"))
            request._request.upload_handlers = [uploads.HashingUploadHandler(request._request)]
        super().initial(request, *args, **kwargs)

    def builder(self) -> ImageBuilder:
        builder = (
            ImageBuilder.objects.select_related("project__workspace", "environment")
            .select_related("registry_secret", "artifact")
            .filter(project=self.project, name=self.kwargs["name"])
            .first()
        )
        if builder is None:
            raise Http404("No such image builder.")
        return builder

    def resolve_artifact(self, data: dict[str, Any], expected_kind: str | None) -> Artifact | None:
        """Return the artifact given as a file, an artifact id, or a finished upload's id."""
        if data.get("file") is not None:
            return uploads.store_uploaded_file(
                self.project, self.request.user, data["file"], expected_kind
            ).artifact
        if data.get("artifact_id"):
            artifact = Artifact.objects.filter(
                project=self.project, public_id=data["artifact_id"]
            ).first()
            if artifact is None:
                raise UserError("artifact:unknown", "No such artifact in this project.")
            builder_services.check_artifact_matches(artifact, expected_kind or artifact.kind)
            return artifact
        if data.get("upload_id"):
            upload = self.upload_by_id(data["upload_id"])
            return uploads.complete_chunked_upload(
                upload, self.request.user, expected_kind
            ).artifact
        return None

    def upload_by_id(self, public_id: str | UUID) -> ArtifactUpload:
        """Return one of the requesting user's uploads in the project, else 404.

        An upload belongs to whoever began it: another operator of the project who learns the
        UUID (from a log or a shared screen) must not write, complete or cancel it.
        """
        uploader = self.request.user.pk
        upload = ArtifactUpload.objects.filter(
            project=self.project, public_id=public_id, created_by_id=uploader
        ).first()
        if upload is None or uploader is None:
            raise Http404("No such upload.")
        return upload


# Recorded fields of a builder: not its trigger token nor its environment parameters.
BUILDER_FIELDS: tuple[str, ...] = (
    "alias",
    "description",
    "environment",
    "image_name",
    "tag",
    "registry_secret",
)
BUILDER_FIELDS += ("generate_trigger_token", "update_workloads")
# Where a run's artifact came from (a file's name, an artifact or upload id).
ARTIFACT_FIELDS = ("file", "artifact_id", "upload_id")


LIST_FILTERS = [
    OpenApiParameter("status", str, enum=list(STATUS_FILTERS), description="latest run's state"),
    OpenApiParameter("kind", str, enum=list(ArtifactKind.values), description="artifact kind"),
    OpenApiParameter("name", str, description="exactly this name (is a name free?)"),
    OpenApiParameter("search", str, description="text in the name, alias or image name"),
    OpenApiParameter("ordering", str, enum=["recent"], description="most recently built first"),
]


@extend_schema_view(get=extend_schema(parameters=LIST_FILTERS))
class BuilderList(BuildersApiView[ImageBuilder], generics.ListCreateAPIView[ImageBuilder]):
    accepts_upload = True
    audit_object_type = "builder"
    audit_fields = ("name", "artifact_kind", *BUILDER_FIELDS, *ARTIFACT_FIELDS)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[ImageBuilder]]:
        return s.BuilderCreateSerializer if self.request.method == "POST" else s.BuilderSerializer

    def get_queryset(self) -> QuerySet[ImageBuilder]:
        latest = BuildRun.objects.filter(builder=OuterRef("pk")).order_by("-number")
        builders = (
            ImageBuilder.objects.filter(project=self.project)
            .annotate(latest_state=Subquery(latest.values("state")[:1]))
            .annotate(latest_run_id=Subquery(latest.values("pk")[:1]))
        )
        params = self.request.query_params
        if params.get("ordering") == "recent":
            # Most recently started build first (the overview's "Recent builds"); a builder
            # that never ran counts from its creation.
            started = Subquery(latest.values("created_at")[:1])
            builders = builders.annotate(last_build=Coalesce(started, F("created_at")))
            builders = builders.order_by("-last_build", "-pk")
        if params.get("status") in STATUS_FILTERS:
            builders = builders.filter(STATUS_FILTERS[params["status"]])
        if params.get("kind"):
            builders = builders.filter(artifact_kind=params["kind"])
        if params.get("name"):  # exact: the create form asks whether a name is free
            builders = builders.filter(name=params["name"])
        if params.get("search"):
            text = params["search"]
            builders = builders.filter(
                Q(name__icontains=text) | Q(alias__icontains=text) | Q(image_name__icontains=text)
            )
        return builders

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Plain values, not BuilderSerializer over model instances: see builder_rows.
        page = self.paginate_queryset(builder_values(self.get_queryset()))
        may_operate = access.can(request.user, self.project, "operate")
        rows = represent_builders(page or [], self.project, may_operate, request)
        return self.get_paginated_response(rows)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        artifact_input = {key: data.pop(key, None) for key in ("file", "artifact_id", "upload_id")}
        self.refuse_unreachable_base(data)
        # Before the artifact is stored: a builder over the quota stores nothing.
        quotas.check_builder_quota(self.project.workspace_id, early=True)
        artifact = self.resolve_artifact(artifact_input, data["artifact_kind"])
        if artifact is None:
            raise UserError(
                "builder:artifact-required",
                "Upload the artifact (file), or give artifact_id or upload_id.",
            )
        builder, run = builder_services.check_create_builder(
            self.project, request.user, artifact=artifact, fields=data
        )
        answer = s.BuilderSerializer(builder, context=self.get_serializer_context()).data
        return Response(
            {**answer, "run": s.RunSerializer(run).data}, status=status.HTTP_201_CREATED
        )

    def refuse_unreachable_base(self, data: dict[str, Any]) -> None:
        # Before the artifact is stored: a base known unreachable would only fail the build.
        secret_name = (data.get("registry_secret") or {}).get("name")
        secret = self.project.registry_secrets.filter(name=secret_name).first()
        check_base_not_known_unreachable(
            self.project, data["environment"], secret, admin=bool(self.request.user.is_superuser)
        )


class BuilderDetail(
    BuildersApiView[ImageBuilder], generics.RetrieveUpdateDestroyAPIView[ImageBuilder]
):
    serializer_class = s.BuilderUpdateSerializer
    audit_object_type = "builder"
    audit_fields = BUILDER_FIELDS

    def get_object(self) -> ImageBuilder:
        return self.builder()

    def perform_update(self, serializer: serializers.BaseSerializer[ImageBuilder]) -> None:
        builder = serializer.instance
        assert isinstance(builder, ImageBuilder)
        fields = dict(serializer.validated_data)
        if "environment" in fields or "registry_secret" in fields:
            self.refuse_unreachable_base(builder, fields)
        builder_services.check_update_builder(builder, fields)

    def refuse_unreachable_base(self, builder: ImageBuilder, fields: dict[str, Any]) -> None:
        # The same rule as Create, for the environment and secret the edit leaves the builder on.
        secret_name = (fields.get("registry_secret") or {}).get("name")
        secret = (
            self.project.registry_secrets.filter(name=secret_name).first()
            if secret_name
            else builder.registry_secret
        )
        check_base_not_known_unreachable(
            self.project,
            fields.get("environment", builder.environment),
            secret,
            admin=bool(self.request.user.is_superuser),
        )

    def perform_destroy(self, instance: ImageBuilder) -> None:
        builder_services.check_delete_builder(instance)


class BuilderRun(BuildersApiView[ImageBuilder], generics.GenericAPIView[ImageBuilder]):
    """Start a new run, optionally with a new artifact and/or a new tag."""

    accepts_upload = True
    serializer_class = s.RunRequestSerializer
    audit_object_type = "run"
    audit_actions = {"POST": "run.start"}
    audit_id_key = audit_id_kwarg = "number"
    audit_parent_kwarg = "name"
    audit_fields = ("tag", *ARTIFACT_FIELDS)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        builder = self.builder()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # Before the artifact is stored, as at Create: a dead base would only fail the run.
        check_builder_base_not_known_unreachable(builder, admin=bool(request.user.is_superuser))
        artifact = self.resolve_artifact(dict(data), builder.artifact_kind)
        run = services.do_start_run(
            builder, user=request.user, artifact=artifact, tag=data.get("tag")
        )
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(parameters=[OpenApiParameter("state", str, enum=list(BuildState.values))])
)
class RunList(BuildersApiView[BuildRun], generics.ListAPIView[BuildRun]):
    serializer_class = s.RunSerializer

    def get_queryset(self) -> QuerySet[BuildRun]:
        runs = BuildRun.objects.filter(builder=self.builder()).select_related(
            "builder", "artifact__uploaded_by", "created_by", "supply_chain__compared_with"
        )
        if self.request.query_params.get("state") in BuildState.values:
            runs = runs.filter(state=self.request.query_params["state"])
        return runs.order_by("-number")


class RunDetail(BuildersApiView[BuildRun], generics.RetrieveAPIView[BuildRun]):
    serializer_class = s.RunSerializer

    def get_object(self) -> BuildRun:
        return self.run()

    def run(self) -> BuildRun:
        return run_of_builder(self.builder(), self.kwargs["number"])


def run_of_builder(builder: ImageBuilder, number: int) -> BuildRun:
    """Run #NUMBER of a builder the view already resolved (through access), else 404."""
    run = (
        BuildRun.objects.select_related("builder", "artifact", "supply_chain__compared_with")
        .filter(builder=builder, number=number)
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    return run


class RunCancel(RunDetail):
    audit_object_type = "run"
    audit_actions = {"POST": "run.cancel"}
    audit_id_key = audit_id_kwarg = "number"
    audit_parent_kwarg = "name"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = services.do_request_cancel(self.run())
        return Response(s.RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
