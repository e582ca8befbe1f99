"""The Grafana dashboard in deploy/ queries only metrics /metrics exports (by parsing every
PromQL expression of its panels), and is a dashboard Grafana can import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.builders.test_metrics import TOKEN, scrape

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/b2i-console.json"
# A metric name in PromQL: an identifier that is not a function, keyword or label (in braces,
# after by/without, or before =~ etc.) - ours all start with b2i_, which keeps this simple.
METRIC_NAME = re.compile(r"\b(b2i_[a-zA-Z0-9_]+)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def expressions() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def queried_metrics() -> set[str]:
    return {name for expr in expressions() for name in METRIC_NAME.findall(expr)}


def exported_metrics(body: str) -> set[str]:
    """Every series name /metrics can give: a gauge's own name, a counter's _total, a
    histogram's _bucket/_sum/_count (also for a family without samples yet)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(body):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def test_the_dashboard_is_importable_grafana_json() -> None:
    board = dashboard()
    assert board["uid"] == "b2i-console" and board["schemaVersion"] >= 36
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    for panel in board["panels"]:
        assert panel["type"] in {"timeseries", "stat"}
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    assert [item["name"] for item in board["__inputs"]] == ["DS_PROMETHEUS"]


@pytest.mark.django_db
def test_every_metric_the_dashboard_queries_is_exported(settings: Any) -> None:
    settings.B2I_METRICS_TOKEN = TOKEN
    queried = queried_metrics()
    # The metrics of issue 18 are all on the dashboard.
    assert {
        "b2i_builds_pending",
        "b2i_build_queue_wait_seconds_bucket",
        "b2i_push_uploaded_bytes_total",
        "b2i_push_reused_bytes_total",
        "b2i_registry_request_errors_total",
        "b2i_websocket_connections",
        "b2i_upload_bytes_total",
        "b2i_maintenance_actions_total",
    } <= queried
    exported = exported_metrics(scrape(TOKEN).content.decode())
    assert sorted(queried - exported) == []


def test_the_check_catches_a_metric_that_is_not_exported() -> None:
    body = "# HELP b2i_x_total x\n# TYPE b2i_x_total counter\nb2i_x_total 1.0\n"
    assert exported_metrics(body) == {"b2i_x_total"}
    assert METRIC_NAME.findall("sum by (code) (rate(b2i_y_total[5m])) / b2i_x_total") == [
        "b2i_y_total",
        "b2i_x_total",
    ]
