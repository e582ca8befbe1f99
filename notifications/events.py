"""What a notification says: the facts of a finished build, a rollout or a test, as plain data.

The facts are computed once, when the event happens, and stored on each delivery, so a retry an
hour later sends the same words even if the builder was renamed meanwhile. They hold names,
numbers and messages, never a credential.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from builders.models import BuildRun, BuildState
from notifications.models import EventKind
from projects.models import Project
from workloads.models import Service

Facts = dict[str, Any]
MAX_MESSAGE_CHARS = 500  # an error message in a chat message: its start says what happened

TITLES = {
    EventKind.BUILD_FAILED: "Build failed",
    EventKind.BUILD_RECOVERED: "Build recovered",
    EventKind.BUILD_SUCCEEDED: "Build succeeded",
    EventKind.ROLLOUT_SUCCEEDED: "Rollout succeeded",
    EventKind.ROLLOUT_FAILED: "Rollout failed",
    EventKind.TEST: "Test notification",
}


def build_event_kind(run: BuildRun) -> str | None:
    """Failed, recovered (the first success after a failure) or succeeded; None otherwise."""
    if run.state == BuildState.FAILED:
        return EventKind.BUILD_FAILED
    if run.state != BuildState.SUCCESSFUL:
        return None  # a cancelled run is somebody's decision, not news
    previous = (
        BuildRun.objects.filter(
            builder_id=run.builder_id,
            number__lt=run.number,
            state__in=[BuildState.SUCCESSFUL, BuildState.FAILED],
        )
        .order_by("-number")
        .values_list("state", flat=True)
        .first()
    )
    return EventKind.BUILD_RECOVERED if previous == BuildState.FAILED else EventKind.BUILD_SUCCEEDED


def console_link(project: Project, *parts: str) -> str:
    """An absolute link into the console when B2I_CONSOLE_URL is set, else ''."""
    base = settings.B2I_CONSOLE_URL.rstrip("/")
    if not base:
        return ""
    path = "/".join(["workspaces", project.workspace.name, "projects", project.name, *parts])
    return f"{base}/{path}/"


def _base_facts(kind: str, project: Project) -> Facts:
    return {
        "event": str(kind),
        "title": TITLES[EventKind(kind)],
        "workspace": project.workspace.name,
        "project": project.name,
        "at": timezone.now().isoformat(),
    }


def build_facts(run: BuildRun, kind: str) -> Facts:
    builder = run.builder
    facts = _base_facts(kind, builder.project)
    facts.update(
        subject=f"{builder.name} #{run.number}",
        builder=builder.name,
        run=run.number,
        state=run.state,
        image=run.image_reference or builder.image_reference(),
        digest=run.digest,
        error_code=run.error_code,
        error=run.error_message[:MAX_MESSAGE_CHARS],
        link=console_link(builder.project, "imagebuilders", builder.name),
    )
    return facts


def rollout_facts(service: Service, run: BuildRun, succeeded: bool, message: str) -> Facts:
    kind = EventKind.ROLLOUT_SUCCEEDED if succeeded else EventKind.ROLLOUT_FAILED
    facts = _base_facts(kind, service.project)
    facts.update(
        subject=f"{service.name} ← {run.builder.name} #{run.number}",
        service=service.name,
        builder=run.builder.name,
        run=run.number,
        image=service.deployed_image if succeeded else run.image_reference,
        error=message[:MAX_MESSAGE_CHARS],
        link=console_link(service.project, "services", service.name),
    )
    return facts


def test_facts(project: Project, sender: str) -> Facts:
    facts = _base_facts(EventKind.TEST, project)
    facts.update(subject="", sender=sender, error="", link=console_link(project, "notifications"))
    return facts


def summary_lines(facts: Facts) -> list[str]:
    """The message's lines after its title: what, which image, what went wrong, where to look."""
    lines = [f"Project: {facts['workspace']}/{facts['project']}"]
    if facts.get("service"):
        lines.append(f"Service: {facts['service']}")
    if facts.get("builder"):
        lines.append(f"Image builder: {facts['builder']} #{facts['run']}")
    if facts.get("image"):
        lines.append(f"Image: {facts['image']}")
    if facts.get("error"):
        lines.append(f"Error: {facts['error']}")
    if facts["event"] == EventKind.TEST:
        lines.append(f"A test sent by {facts['sender']}: this channel works.")
    if facts.get("link"):
        lines.append(f"Open: {facts['link']}")
    return lines


def headline(facts: Facts) -> str:
    """`Build failed: shop · hello #3` — the title, the project and what it is about."""
    about = f" · {facts['subject']}" if facts.get("subject") else ""
    return f"{facts['title']}: {facts['project']}{about}"
