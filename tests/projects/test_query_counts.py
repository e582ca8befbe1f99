"""Listing workspaces and projects costs a fixed number of queries, not a few per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import Project, ProjectMembership, Workspace, WorkspaceMembership
from tests.projects.conftest import World


def count_queries(world: World, persona: str, url: str) -> tuple[int, int]:
    api = world.client(persona)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200
    return response.json()["count"], len(queries.captured_queries)


@pytest.mark.parametrize("persona", ["root", "alice", "vera", "bob"])
def test_project_list_queries_do_not_grow_with_rows(world: World, persona: str) -> None:
    url = "/api/v1/workspaces/acme/projects/"
    _, few = count_queries(world, persona, url)
    for number in range(15):
        project = Project.objects.create(
            workspace=world.acme, name=f"extra-{number}", creator=world.users["alice"]
        )
        ProjectMembership.objects.create(project=project, user=world.users["bob"], role="viewer")
    rows, many = count_queries(world, persona, url)
    assert rows >= 15
    assert many == few


def test_workspace_list_queries_do_not_grow_with_rows(world: World) -> None:
    _, few = count_queries(world, "bob", "/api/v1/workspaces/")
    for number in range(10):
        workspace = Workspace.objects.create(name=f"ws-{number}")
        WorkspaceMembership.objects.create(
            workspace=workspace, user=world.users["bob"], role="workspace-viewer"
        )
    rows, many = count_queries(world, "bob", "/api/v1/workspaces/")
    assert rows == 11
    assert many == few
