"""Build logs over HTTP: polling after a seq (clients without WebSocket) and a text download."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.query_params import int_query_param
from builders.api.views import RunDetail
from builders.logs import line_as_json, lines_after
from builders.models import BuildRun

MAX_LIMIT = 5000


LOG_LINE = inline_serializer(
    "RunLogLine",
    {
        "seq": serializers.IntegerField(),
        "time": serializers.DateTimeField(),
        "text": serializers.CharField(),
    },
)
LOG_PAGE = inline_serializer(
    "RunLogPage",
    {
        "lines": serializers.ListField(child=LOG_LINE),
        "last_seq": serializers.IntegerField(),
        "more": serializers.BooleanField(),
        "state": serializers.CharField(),
        "finished": serializers.BooleanField(),
    },
)

# A seq past any line: larger values cannot be sent to the database (bigint).
MAX_SEQ = 2**63 - 1


class RunLog(RunDetail):
    """GET …/runs/<n>/log/?after=<seq>&limit=<n>: lines after seq, plus the run's state."""

    @extend_schema(responses=LOG_PAGE)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = self.run()
        after = min(int_query_param(request, "after", 0), MAX_SEQ)
        limit = min(int_query_param(request, "limit", 1000, minimum=1), MAX_LIMIT)
        lines = lines_after(run, after, limit + 1)
        more = len(lines) > limit
        lines = lines[:limit]
        return Response(
            {
                "lines": [line_as_json(line) for line in lines],
                "last_seq": lines[-1].seq if lines else after,
                "more": more,
                "state": run.state,
                "finished": run.is_finished,
            }
        )


class RunLogDownload(RunDetail):
    """GET …/runs/<n>/log.txt: the whole log as text, streamed in batches."""

    # DRF hands any HttpResponse through; the stubs declare get() -> Response.
    def get(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> StreamingHttpResponse:
        run = self.run()
        response = StreamingHttpResponse(stream_text(run), content_type="text/plain; charset=utf-8")
        name = f"{run.builder.name}-{run.number}.log"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def stream_text(run: BuildRun) -> Iterator[str]:
    after = 0
    while True:
        lines = lines_after(run, after, 2000)
        if not lines:
            return
        yield "".join(f"{line.time.isoformat()} {line.text}\n" for line in lines)
        after = lines[-1].seq
