"""A run's supply chain over the API (issue 17): its components (search, filter by source), the
SBOM and provenance documents, and what changed against another run of the builder.

Every view is a RunDetail: the project is resolved through `projects.access` as for reading the
run itself (an invisible project answers 404, a viewer may read).
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from b2i.sbom.options import PROVENANCE_ARTIFACT_TYPE, SBOM_ARTIFACT_TYPE
from b2i_console.query_params import int_query_param
from builders.api.views import BuildersApiView, RunDetail, run_of_builder
from builders.models import BuildRun, BuildState, ComponentSource, RunComponent
from builders.supply_chain import store
from builders.supply_chain.diff import Changes, Upgrade, summary
from builders.supply_chain.documents import Component

MAX_SEARCH_CHARS = 200


class ComponentSerializer(serializers.ModelSerializer[RunComponent]):
    class Meta:
        model = RunComponent
        fields = ["source", "name", "group", "version", "purl", "licenses", "sha256"]
        read_only_fields = fields


class ChangedComponentSerializer(serializers.Serializer[Component]):
    # A field named "source" (the stubs know Field.source, the argument, by that name).
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, as declared
        choices=ComponentSource.choices
    )
    name = serializers.CharField()
    group = serializers.CharField()
    version = serializers.CharField()
    purl = serializers.CharField()
    licenses = serializers.ListField(child=serializers.CharField())


class UpgradeSerializer(serializers.Serializer[Upgrade]):
    before = ChangedComponentSerializer()
    after = ChangedComponentSerializer()
    direction = serializers.ChoiceField(choices=["up", "down"])


class CountsSerializer(serializers.Serializer[Changes]):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    upgraded = serializers.IntegerField()


class ChangesSerializer(serializers.Serializer[dict[str, Any]]):
    run = serializers.IntegerField()
    against = serializers.IntegerField(allow_null=True, help_text="null: no earlier SBOM")
    summary = serializers.CharField(help_text='e.g. "+1 −0 ↑3"')  # noqa: RUF001
    counts = CountsSerializer()
    added = ChangedComponentSerializer(many=True)
    removed = ChangedComponentSerializer(many=True)
    upgraded = UpgradeSerializer(many=True)


class DocumentRenderer(BaseRenderer):
    """Answers a document's own media type; an error body (a dict) is rendered as JSON."""

    charset = None

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class SbomRenderer(DocumentRenderer):
    media_type = SBOM_ARTIFACT_TYPE
    format = "cdx"  # DRF's ?format= and the schema generator want one


class ProvenanceRenderer(DocumentRenderer):
    media_type = PROVENANCE_ARTIFACT_TYPE
    format = "intoto"


class RunComponents(BuildersApiView[RunComponent], generics.ListAPIView[RunComponent]):
    """GET …/runs/<n>/components/?q=&source=: the run's components, paginated."""

    serializer_class = ComponentSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="text in the name, group or purl"),
            OpenApiParameter("source", str, enum=ComponentSource.values),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RunComponent]:
        run = run_of_builder(self.builder(), self.kwargs["number"])
        store.supply_chain_of(run)  # 404 sbom:none for a run without an SBOM
        params = self.request.query_params
        source = params.get("source", "")
        return store.search_components(
            run,
            params.get("q", "")[:MAX_SEARCH_CHARS],
            source if source in ComponentSource.values else "",
        )


class RunDocument(RunDetail):
    """A stored document of the run, as a download."""

    # Subclasses add JSONRenderer after their own: a client that asks for JSON gets it too.
    suffix = ""

    def document(self, run: BuildRun) -> bytes:
        raise NotImplementedError

    # DRF hands any HttpResponse through; the stubs declare get() -> Response.
    def get(  # type: ignore[override]  # see above
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        run = self.run()
        content_type = self.renderer_classes[0].media_type
        response = HttpResponse(self.document(run), content_type=content_type)
        name = f"{run.builder.name}-{run.number}{self.suffix}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@extend_schema_view(
    get=extend_schema(
        operation_id="run_sbom", responses={(200, SBOM_ARTIFACT_TYPE): OpenApiTypes.OBJECT}
    )
)
class RunSbom(RunDocument):
    """GET …/runs/<n>/sbom/: the CycloneDX 1.6 JSON SBOM the build made."""

    renderer_classes = [SbomRenderer, JSONRenderer]
    suffix = ".cdx.json"

    def document(self, run: BuildRun) -> bytes:
        return store.sbom_bytes(store.supply_chain_of(run))


@extend_schema_view(
    get=extend_schema(
        operation_id="run_provenance",
        responses={(200, PROVENANCE_ARTIFACT_TYPE): OpenApiTypes.OBJECT},
    )
)
class RunProvenance(RunDocument):
    """GET …/runs/<n>/provenance/: the in-toto statement (SLSA provenance v1) of the build."""

    renderer_classes = [ProvenanceRenderer, JSONRenderer]
    suffix = ".intoto.json"

    def document(self, run: BuildRun) -> bytes:
        return store.provenance_bytes(store.supply_chain_of(run))


class RunChanges(RunDetail):
    """GET …/runs/<n>/changes/?against=<m>: added, removed and upgraded components since run m
    (default: the builder's previous successful run with an SBOM)."""

    @extend_schema(
        parameters=[OpenApiParameter("against", int, description="the other run's number")],
        responses=ChangesSerializer,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = self.run()
        record = store.supply_chain_of(run)
        against = self.other_run(run, record.compared_with)
        changes = store.changes_between(against, run) if against else Changes()
        body = {
            "run": run.number,
            "against": against.number if against else None,
            "summary": summary(changes.counts),
            "counts": dict(zip(("added", "removed", "upgraded"), changes.counts, strict=True)),
            "added": changes.added,
            "removed": changes.removed,
            "upgraded": changes.upgraded,
        }
        return Response(ChangesSerializer(body).data)

    def other_run(self, run: BuildRun, default: BuildRun | None) -> BuildRun | None:
        if self.request.query_params.get("against") in (None, ""):
            return default
        number = min(int_query_param(self.request, "against", 0, minimum=1), 2**31 - 1)
        other = BuildRun.objects.filter(builder_id=run.builder_id, number=number).first()
        if other is None or other.state != BuildState.SUCCESSFUL:
            raise Http404("No such successful run of this builder.")
        store.supply_chain_of(other)  # 404 sbom:none
        return other
