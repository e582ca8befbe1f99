"""Prometheus metrics of the build platform, computed from the database at scrape time.

Web servers (daphne) and Celery workers are separate processes, in Kubernetes separate pods
with no shared filesystem, so per-process counters (or prometheus-client's multiprocess mode,
which needs one directory shared by every process) cannot count builds correctly. The
database is the one place every process writes a run's state to: a custom collector reads it
on each scrape, so any web replica answers the same numbers whichever process ran the build.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.expressions import CombinedExpression
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from builders import counters
from builders.models import BuildRun, BuildState, MetricCounter

# Upper bounds (seconds) of the histogram buckets; builds take seconds to tens of minutes.
DURATION_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
QUEUE_WAIT_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

ENVIRONMENT = "builder__environment__name"
KIND = "builder__artifact_kind"


def runs_by_state(runs: QuerySet[BuildRun]) -> GaugeMetricFamily:
    """Runs kept in the database by state, environment and kind: a gauge, not a counter,
    because a run moves between states and retention deletes old runs (counts go down)."""
    family = GaugeMetricFamily(
        "b2i_build_runs",
        "Build runs in the database by state, build environment and artifact kind.",
        labels=["state", "environment", "kind"],
    )
    rows = runs.values("state", ENVIRONMENT, KIND).annotate(count=Count("id")).order_by()
    for row in rows:
        family.add_metric([row["state"], row[ENVIRONMENT], row[KIND]], row["count"])
    return family


def active_runs(runs: QuerySet[BuildRun]) -> Iterator[GaugeMetricFamily]:
    counts = runs.aggregate(
        pending=Count("id", filter=Q(state=BuildState.PENDING)),
        running=Count("id", filter=Q(state=BuildState.RUNNING)),
    )
    yield GaugeMetricFamily(
        "b2i_builds_pending", "Build runs queued and not started yet.", value=counts["pending"]
    )
    yield GaugeMetricFamily(
        "b2i_builds_running", "Build runs a worker is building now.", value=counts["running"]
    )


def waiting_for_slot(runs: QuerySet[BuildRun]) -> GaugeMetricFamily:
    count = runs.filter(state=BuildState.PENDING, waiting_for_slot_since__isnull=False).count()
    return GaugeMetricFamily(
        "b2i_builds_waiting_for_slot",
        "Queued runs held back by their workspace's concurrent-build quota.",
        value=count,
    )


# name in builders.counters -> (metric name without _total, help, label name)
COUNTERS = (
    (
        counters.UPLOAD_BYTES,
        "b2i_upload_bytes",
        "Artifact bytes received: multipart uploads, resumable chunks, downloads of artifact URLs.",
        "method",
    ),
    (
        counters.PUSHED_BYTES,
        "b2i_push_uploaded_bytes",
        "Bytes successful builds uploaded to registries (blobs the registry lacked).",
        "environment",
    ),
    (
        counters.REUSED_BYTES,
        "b2i_push_reused_bytes",
        "Bytes successful builds did not upload: the registry had the blobs, or mounted them.",
        "environment",
    ),
    (
        counters.REGISTRY_ERRORS,
        "b2i_registry_request_errors",
        "Registry requests of builds answered with an error, by HTTP status (retried ones too).",
        "code",
    ),
    (
        counters.MAINTENANCE,
        "b2i_maintenance_actions",
        "What the periodic sweeps did: runs reaped or requeued, waiting runs released, logs "
        "archived, uploads expired, temp dirs swept, runs and artifacts removed by retention.",
        "action",
    ),
)


def database_counters() -> Iterator[CounterMetricFamily]:
    """The counters every process adds to in the database (builders.counters), one query."""
    values: dict[str, dict[str, int]] = {}
    for name, label, value in MetricCounter.objects.values_list("name", "label", "value"):
        values.setdefault(name, {})[label] = value
    for name, metric, documentation, label_name in COUNTERS:
        family = CounterMetricFamily(metric, documentation, labels=[label_name])
        for label, value in sorted(values.get(name, {}).items()):
            family.add_metric([label], value)
        yield family


def websocket_connections() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "b2i_websocket_connections",
        "WebSockets open now (live logs, service status), summed over live web servers.",
        value=counters.live_gauge_total(counters.WEBSOCKETS),
    )


def histogram(
    name: str,
    documentation: str,
    runs: QuerySet[BuildRun],
    elapsed: ExpressionWrapper[CombinedExpression],
    buckets: tuple[float, ...],
) -> HistogramMetricFamily:
    """A histogram per environment over every run in `runs`, bucketed by SQL in one query.

    Cumulative over the runs the database keeps: it only grows, except when retention deletes
    old runs, which Prometheus' rate()/increase() read as a counter reset."""
    family = HistogramMetricFamily(name, documentation, labels=["environment"])
    counts = {
        f"le_{index}": Count("id", filter=Q(elapsed__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(buckets)
    }
    rows = (
        runs.annotate(elapsed=elapsed)
        .values(ENVIRONMENT)
        .annotate(total=Count("id"), elapsed_sum=Sum("elapsed"), **counts)
        .order_by()
    )
    for row in rows:
        cumulative = [(str(bound), row[f"le_{i}"]) for i, bound in enumerate(buckets)]
        cumulative.append(("+Inf", row["total"]))
        seconds = row["elapsed_sum"].total_seconds() if row["elapsed_sum"] else 0.0
        family.add_metric([row[ENVIRONMENT]], cumulative, sum_value=seconds)
    return family


def elapsed_between(start: str, end: str) -> ExpressionWrapper[CombinedExpression]:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


class BuildCollector(Collector):
    """Reads the build metrics from the database on every collect() (every scrape)."""

    def collect(self) -> Iterable[Metric]:
        runs = BuildRun.objects.all()
        yield runs_by_state(runs)
        yield from active_runs(runs)
        yield waiting_for_slot(runs)
        yield from database_counters()
        yield websocket_connections()
        finished = runs.filter(started_at__isnull=False, finished_at__isnull=False)
        yield histogram(
            "b2i_build_duration_seconds",
            "Seconds from a run's start on a worker to its end (finished runs in the database).",
            finished,
            elapsed_between("started_at", "finished_at"),
            DURATION_BUCKETS,
        )
        yield histogram(
            "b2i_build_queue_wait_seconds",
            "Seconds a run waited between being queued and a worker starting it.",
            runs.filter(started_at__isnull=False),
            elapsed_between("created_at", "started_at"),
            QUEUE_WAIT_BUCKETS,
        )


def metrics_registry() -> CollectorRegistry:
    """A registry of our own: the default one would add this process' Python/GC metrics, which
    describe whichever web replica happened to answer, not the platform."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BuildCollector())
    return registry


REGISTRY = metrics_registry()


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics for Prometheus, with `Authorization: Bearer <B2I_METRICS_TOKEN>`.

    Without a configured token the endpoint does not exist (404): metrics are off until an
    operator turns them on, and nothing tells a prober they could be."""
    expected = settings.B2I_METRICS_TOKEN
    if not expected:
        raise Http404
    if not hmac.compare_digest(bearer_token(request).encode(), expected.encode()):
        response = HttpResponse("metrics need a valid bearer token\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format 0.0.4 (our names need no escaping): Prometheus 2.x reads it.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_PLAIN_0_0_4)
