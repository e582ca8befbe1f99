"""REST API of services, under /api/v1/workspaces/<ws>/projects/<p>/services/.

Every view resolves its project through `projects.access` (ProjectScoped): an invisible project
answers 404, a visible one the user may not change answers 403. Cluster trouble is never a
500: what the user caused is 4xx with a stable code, an unreachable cluster is 502.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.errors import UserError
from builders import builder_services
from builders.api.serializers import BuilderCreateSerializer
from builders.models import Artifact, ArtifactUpload, ImageBuilder
from projects.api.views import ProjectScoped
from workloads import services
from workloads.client import KubeError
from workloads.models import Service
from workloads.services import DeleteOptions

KUBERNETES_EXECUTOR = "workloads.executor.KubernetesJobExecutor"
KUBE_STATUS = {
    "kube:user:invalid-object": 422,
    "kube:user:invalid-kubeconfig": 409,
    "kube:conflict": 409,
    "kube:not-found": 404,
    "kube:not-configured": 409,
}


class ServiceCreateSerializer(serializers.Serializer[Service]):
    builder = serializers.CharField(help_text="Name of the project's image builder.")
    spec = serializers.JSONField(help_text="The service specification (see workloads/spec.py).")


class ServicePreviewSerializer(serializers.Serializer[Service]):
    builder = serializers.CharField(
        required=False, help_text="Name of an existing image builder (when not builder_settings)."
    )
    builder_settings = serializers.JSONField(
        required=False,
        help_text="The image builder to be created (the fields of POST imagebuilders/, with "
        "artifact_id or upload_id); nothing is saved.",
    )
    spec = serializers.JSONField(help_text="The service specification (see workloads/spec.py).")


class ServiceErrorSerializer(serializers.Serializer[Service]):
    code = serializers.CharField()
    message = serializers.CharField()


class ServiceSerializer(serializers.Serializer[Service]):
    """The answer's shape (service_data): documents the responses, renders nothing."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    project = serializers.CharField()
    builder = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    spec = serializers.JSONField()
    deployed_run = serializers.IntegerField(allow_null=True)
    deployed_image = serializers.CharField()
    unchanged_run = serializers.IntegerField(allow_null=True)
    error = ServiceErrorSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ServicePageSerializer(serializers.Serializer[Service]):
    results = ServiceSerializer(many=True)


class RollbackSerializer(serializers.Serializer[Service]):
    run = serializers.IntegerField(min_value=1, help_text="Number of a successful run.")


def kube_error_answer(exc: KubeError) -> UserError:
    """Answer a cluster's refusal: 4xx when the user can fix it, else 502 (cluster trouble)."""
    extra = {"causes": exc.causes} if exc.causes else {}
    return UserError(exc.code, exc.message, status=KUBE_STATUS.get(exc.code, 502), **extra)


def service_data(service: Service) -> dict[str, Any]:
    run = service.deployed_run
    return {
        "id": str(service.public_id),
        "name": service.name,
        "project": service.project.name,
        "builder": service.builder.name if service.builder else None,
        "state": service.state,
        "spec": service.spec,
        "deployed_run": run.number if run else None,
        "deployed_image": service.deployed_image,
        # A later run built the deployed digest again: nothing rolled ("no change").
        "unchanged_run": service.unchanged_run.number if service.unchanged_run else None,
        "error": {"code": service.error_code, "message": service.error_message}
        if service.error_code
        else None,
        "created_at": service.created_at.isoformat(),
        "updated_at": service.updated_at.isoformat(),
    }


class ServicesApiView(ProjectScoped[Service]):
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, KubeError):
            exc = kube_error_answer(exc)
        return super().handle_exception(exc)

    def service(self) -> Service:
        service = (
            Service.objects.select_related("project__workspace", "builder__registry_secret")
            .select_related("cluster", "deployed_run", "unchanged_run")
            .filter(project=self.project, name=self.kwargs["name"])
            .first()
        )
        if service is None:
            raise Http404("No such service.")
        return service

    def builder_named(self, name: str) -> ImageBuilder:
        builder = (
            ImageBuilder.objects.select_related("registry_secret", "project__workspace")
            .filter(project=self.project, name=name)
            .first()
        )
        if builder is None:
            raise UserError("service:user:unknown-builder", f"No image builder {name!r} here.")
        return builder

    def create_request(self, request: Request) -> tuple[ImageBuilder, dict[str, Any]]:
        body = ServiceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        spec = body.validated_data["spec"]
        if not isinstance(spec, dict):
            raise UserError("service:user:invalid-spec", "spec must be a JSON object.")
        return self.builder_named(body.validated_data["builder"]), spec


class ServiceList(ServicesApiView):
    serializer_class = ServiceCreateSerializer
    audit_object_type = "service"
    audit_fields = ("builder",)

    @extend_schema(
        operation_id="services_list",
        responses=ServicePageSerializer,
        parameters=[OpenApiParameter("name", str, description="exactly this name (is it free?)")],
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        rows = Service.objects.filter(project=self.project).select_related("project", "builder")
        if request.query_params.get("name"):  # exact: the wizard asks whether a name is free
            rows = rows.filter(name=request.query_params["name"])
        return Response(
            {
                "results": [
                    service_data(s) for s in rows.select_related("deployed_run", "unchanged_run")
                ]
            }
        )

    @extend_schema(responses={201: ServiceSerializer})
    def post(self, request: Request, **kwargs: Any) -> Response:
        builder, spec = self.create_request(request)
        service = services.check_create_service(self.project, spec, builder, request.user)
        return Response(service_data(service), status=status.HTTP_201_CREATED)


class ServicePreview(ServicesApiView):
    """The wizard's review step: every object as YAML, nothing created.

    With `builder_settings` the builder is validated as POST imagebuilders/ would, but not
    saved: the workload names `<image>:<tag>` at 0 replicas, as before its first build.
    """

    serializer_class = ServicePreviewSerializer
    audit_object_type = "service"
    audit_actions = {"POST": "service.preview"}
    audit_id_key = "-"

    def post(self, request: Request, **kwargs: Any) -> Response:
        body = ServicePreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        spec = data["spec"]
        if not isinstance(spec, dict):
            raise UserError("service:user:invalid-spec", "spec must be a JSON object.")
        if "builder_settings" in data:
            builder = self.draft_builder(data["builder_settings"])
        elif data.get("builder"):
            builder = self.builder_named(data["builder"])
        else:
            raise UserError(
                "validation:invalid",
                "Give builder (an existing image builder) or builder_settings.",
                fields={"builder": ["Give builder or builder_settings."]},
            )
        return Response({"yaml": services.preview_yaml(self.project, spec, builder)})

    def draft_builder(self, settings: object) -> ImageBuilder:
        if not isinstance(settings, dict):
            raise UserError("validation:invalid", "builder_settings must be a JSON object.")
        body = BuilderCreateSerializer(data=settings, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        refs = {key: fields.pop(key, None) for key in ("file", "artifact_id", "upload_id")}
        artifact = self.referenced_artifact(refs)
        return builder_services.check_builder_draft(self.project, artifact=artifact, fields=fields)

    def referenced_artifact(self, refs: dict[str, Any]) -> Artifact | None:
        """Return the artifact named by id or by a finished upload; never completes uploads."""
        if refs["artifact_id"]:
            found = Artifact.objects.filter(project=self.project, public_id=refs["artifact_id"])
        elif refs["upload_id"]:
            upload = ArtifactUpload.objects.filter(
                project=self.project, public_id=refs["upload_id"]
            )
            found = Artifact.objects.filter(pk__in=upload.values("artifact"))
        else:
            return None
        artifact = found.first()
        if artifact is None:
            raise UserError("artifact:unknown", "No such artifact in this project.")
        return artifact


class ServiceDetail(ServicesApiView):
    serializer_class = ServiceCreateSerializer
    audit_object_type = "service"

    @extend_schema(responses=ServiceSerializer)
    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(service_data(self.service()))

    def delete(self, request: Request, **kwargs: Any) -> Response:
        """Delete the service; query flags choose workload, service, pull_secret, builder."""
        flags = {key: request.query_params.get(key) for key in DeleteOptions.__dataclass_fields__}
        chosen = {k: v.lower() in ("1", "true", "yes") for k, v in flags.items() if v is not None}
        deleted = services.do_delete_service(self.service(), DeleteOptions(**chosen))
        return Response({"deleted": deleted})


class ServiceStatus(ServicesApiView):
    serializer_class = ServiceCreateSerializer

    def get(self, request: Request, **kwargs: Any) -> Response:
        service = self.service()
        return Response({**services.service_status(service), "state": service.state})


class ServiceExport(ServicesApiView):
    serializer_class = ServiceCreateSerializer

    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response({"yaml": services.export_yaml(self.service())})


class ServiceRollback(ServicesApiView):
    serializer_class = RollbackSerializer
    audit_object_type = "service"
    audit_actions = {"POST": "service.rollback"}
    audit_fields = ("run",)

    def post(self, request: Request, **kwargs: Any) -> Response:
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = self.service()
        services.check_rollback(service, body.validated_data["run"])
        service.refresh_from_db()
        return Response(service_data(service))


class BuildJobList(ServicesApiView):
    """The project's build Jobs, read live from its namespace (Kubernetes Job executor)."""

    serializer_class = ServiceCreateSerializer

    @extend_schema(operation_id="build_jobs_list")
    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(
            {
                "executor": settings.B2I_BUILD_EXECUTOR,
                "kubernetes_jobs": settings.B2I_BUILD_EXECUTOR == KUBERNETES_EXECUTOR,
                "results": services.list_build_jobs(self.project),
            }
        )
