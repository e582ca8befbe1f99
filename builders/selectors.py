"""Read access to builders and runs, always through `projects.access` (404 hides, 403 forbids)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404

from builders.models import BuildRun, BuildState, ImageBuilder
from projects import access
from projects.models import Project

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def get_builder_for_user(
    user: User, workspace: str, project: str, name: str, need: str = "view"
) -> ImageBuilder:
    """Return the named builder of a project the user may `need`, or raise Http404/403."""
    found = access.access_project_for_user(user, workspace, project, need)
    builder = (
        ImageBuilder.objects.select_related("project", "environment", "registry_secret", "artifact")
        .filter(project=found, name=name)
        .first()
    )
    if builder is None:
        raise Http404("No such image builder.")
    return builder


def get_run_for_user(
    user: User, workspace: str, project: str, builder: str, number: int, need: str = "view"
) -> BuildRun:
    """Return run #number of the builder, or raise Http404/403."""
    found = get_builder_for_user(user, workspace, project, builder, need)
    run = BuildRun.objects.select_related("builder", "artifact").filter(
        builder=found, number=number
    )
    result = run.first()
    if result is None:
        raise Http404("No such run.")
    return result


def run_state_payload(run_id: int) -> dict[str, Any]:
    """Return the fields a live view shows about a run's state and result."""
    run = BuildRun.objects.get(pk=run_id)
    return {
        "number": run.number,
        "state": run.state,
        "error_code": run.error_code,
        "error_message": run.error_message,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration": run.duration,
        "image_reference": run.image_reference,
        "digest": run.digest,
        "pull_command": run.pull_command,
    }


def count_active_runs(project: Project) -> int:
    """Count the project's queued and running builds (a project with any cannot be deleted)."""
    return BuildRun.objects.filter(
        builder__project=project, state__in=[BuildState.PENDING, BuildState.RUNNING]
    ).count()
