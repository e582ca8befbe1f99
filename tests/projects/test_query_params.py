"""Paginated lists bound `limit` and answer 400 (JSON) for malformed query numbers, never 500."""

from __future__ import annotations

import pytest

from b2i_console.query_params import MAX_PAGE_SIZE
from projects.models import Workspace, WorkspaceMembership
from tests.projects.conftest import World

LISTS = [
    "/api/v1/workspaces/",
    "/api/v1/workspaces/acme/projects/",
    "/api/v1/workspaces/acme/members/",
    "/api/v1/tokens/",
]


@pytest.mark.parametrize("url", LISTS)
def test_a_huge_limit_gets_the_largest_page_not_a_500(world: World, url: str) -> None:
    response = world.client("root").get(url, {"limit": "99999999999999999999"})
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "١٢", "0x10"])
def test_a_malformed_limit_or_offset_is_a_json_400(world: World, url: str, value: str) -> None:
    for name in ("limit", "offset"):
        response = world.client("root").get(url, {name: value})
        assert response.status_code == 400, (name, value, response.content[:300])
        assert response.json()["code"] == "request:invalid-parameter"
        assert name in response.json()["message"]


def test_a_huge_offset_is_an_empty_page(world: World) -> None:
    response = world.client("root").get("/api/v1/workspaces/", {"offset": "9" * 30})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_pages_hold_at_most_the_maximum_page_size(world: World) -> None:
    root = world.users["root"]
    for number in range(MAX_PAGE_SIZE + 5):
        workspace = Workspace.objects.create(name=f"many-{number}")
        WorkspaceMembership.objects.create(workspace=workspace, user=root, role="workspace-admin")
    page = world.client("root").get("/api/v1/workspaces/", {"limit": "100000"}).json()
    assert page["count"] > MAX_PAGE_SIZE
    assert len(page["results"]) == MAX_PAGE_SIZE
