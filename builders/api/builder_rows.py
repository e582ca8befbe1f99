"""The builder list's rows read as plain values, not model instances (issue 20.5).

A page of 200 builders through BuilderSerializer built ~1,800 model instances (each builder
with its project, workspace, environment, secret, artifact, uploader, creator and latest
run) and walked ~50 DRF fields per row: 150 ms on PostgreSQL at 10,000 runs, for a list the
overview polls. Here one query reads the columns the list shows (joined names, not joined
rows), one more the latest runs, and each row becomes the same dict BuilderSerializer
answers for the builder (tests/builders/test_builder_list_rows.py compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from builders.models import BuildRun, ImageBuilder
from projects.crypto import SecretDecryptionError, decrypt_text
from projects.models import Project

# Column -> the answer's key, in the order BuilderSerializer answers them.
PLAIN_COLUMNS = {
    "name": "name",
    "alias": "alias",
    "description": "description",
    "artifact_kind": "artifact_kind",
    "environment__name": "environment",
    "image_name": "image_name",
    "tag": "tag",
    "registry_secret__name": "registry_secret",
    "environment_parameters": "environment_parameters",
}
ARTIFACT_COLUMNS = {
    "artifact__public_id": "id",
    "artifact__file_name": "file_name",
    "artifact__size": "size",
    "artifact__sha256": "sha256",
    "artifact__kind": "kind",
    "artifact__summary": "summary",
    "artifact__inspection": "inspection",
    "artifact__uploaded_by__username": "uploaded_by",
    "artifact__created_at": "created_at",
}
OTHER_COLUMNS = (
    "pk",
    "trigger_token_encrypted",
    "update_workloads",
    "keep_runs",
    "created_by__username",
    "created_at",
    "updated_at",
    "latest_run_id",
)
RUN_COLUMNS = ("pk", "number", "state", "tag", "created_at", "started_at", "finished_at")
DATES = serializers.DateTimeField()  # the serializers' own rendering of a time


def builder_values(builders: QuerySet[ImageBuilder]) -> QuerySet[ImageBuilder, dict[str, Any]]:
    """BUILDERS (annotated with latest_run_id) as the plain values the list shows."""
    rows: QuerySet[ImageBuilder, dict[str, Any]] = builders.values(
        *PLAIN_COLUMNS, *ARTIFACT_COLUMNS, *OTHER_COLUMNS
    )
    return rows


def represent_builders(
    rows: Iterable[dict[str, Any]], project: Project, may_operate: bool, request: Request
) -> list[dict[str, Any]]:
    """The answer of each row of `builder_values`, as BuilderSerializer gives it; trigger
    tokens and URLs only when the user may operate the project's builders."""
    page = list(rows)
    runs = latest_runs([row["latest_run_id"] for row in page if row["latest_run_id"]])
    base = {"workspace": project.workspace.name, "project": project.name}
    return [
        represent(row, runs.get(row["latest_run_id"]), base, may_operate, request) for row in page
    ]


def latest_runs(ids: list[int]) -> dict[int, dict[str, Any]]:
    return {run["pk"]: run for run in BuildRun.objects.filter(pk__in=ids).values(*RUN_COLUMNS)}


def represent(
    row: dict[str, Any],
    run: dict[str, Any] | None,
    base: dict[str, str],
    may_operate: bool,
    request: Request,
) -> dict[str, Any]:
    answer = {key: row[column] for column, key in PLAIN_COLUMNS.items()}
    token = readable_token(row["trigger_token_encrypted"]) if may_operate else ""
    if may_operate:
        answer["trigger_token"] = token
    answer["trigger_url"] = trigger_url(row["name"], base, request) if token else None
    answer["update_workloads"] = row["update_workloads"]
    answer["keep_runs"] = row["keep_runs"]
    answer["artifact"] = artifact_of(row)
    answer["status"] = status_of(run)
    answer["latest_run"] = latest_run_of(run)
    answer["has_trigger_token"] = bool(row["trigger_token_encrypted"])
    answer["created_by"] = row["created_by__username"]
    answer["created_at"] = DATES.to_representation(row["created_at"])
    answer["updated_at"] = DATES.to_representation(row["updated_at"])
    return answer


def readable_token(encrypted: str) -> str:
    """The decrypted trigger token; "" when none is set or the keys cannot decrypt it."""
    if not encrypted:
        return ""
    try:
        return decrypt_text(encrypted)
    except SecretDecryptionError:
        return ""


def trigger_url(name: str, base: dict[str, str], request: Request) -> str:
    # The token goes in a header, never in the URL (see BuilderSerializer.get_trigger_url).
    path = reverse("api-imagebuilder-trigger", kwargs={**base, "name": name})
    return request.build_absolute_uri(path)


def artifact_of(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["artifact__public_id"] is None:
        return None
    artifact = {key: row[column] for column, key in ARTIFACT_COLUMNS.items()}
    artifact["id"] = str(artifact["id"])
    artifact["created_at"] = DATES.to_representation(artifact["created_at"])
    return artifact


def status_of(run: dict[str, Any] | None) -> str:
    """The list-page status: not-run, building, successful, failed or cancelled."""
    if run is None:
        return "not-run"
    if run["state"] in ("pending", "running"):
        return "building"
    return str(run["state"])


def latest_run_of(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    started, finished = run["started_at"], run["finished_at"]
    return {
        "number": run["number"],
        "state": run["state"],
        "tag": run["tag"],
        "created_at": run["created_at"],
        "started_at": started,
        "finished_at": finished,
        "duration": (finished - started).total_seconds() if started and finished else None,
    }
