"""Every query parameter a list understands is in the OpenAPI schema, with its allowed values:
the API documentation is how a script author learns `?status=failed` or `?name=` exist."""

from __future__ import annotations

from typing import Any

import pytest

from builders.api.views import STATUS_FILTERS
from builders.models import ArtifactKind, BuildState
from tests.builders.conftest import World

PROJECT = "/api/v1/workspaces/{workspace}/projects/{project}/"
KINDS = sorted(ArtifactKind.values)
EXPECTED: dict[str, dict[str, list[str] | None]] = {
    PROJECT + "imagebuilders/": {
        "status": sorted(STATUS_FILTERS),
        "kind": KINDS,
        "name": None,
        "search": None,
        "ordering": ["recent"],
    },
    PROJECT + "imagebuilders/{name}/runs/": {"state": sorted(BuildState.values)},
    PROJECT + "services/": {"name": None},
    "/api/v1/buildenvironments/": {"kind": KINDS},
    PROJECT + "artifacts/{sha256}/download/": {"name": None},
}


@pytest.fixture
def schema(world: World) -> dict[str, Any]:
    answer = world.client("victor").get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert answer.status_code == 200
    return dict(answer.json())


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_the_list_filters_are_declared_with_their_values(schema: dict[str, Any], path: str) -> None:
    assert path in schema["paths"], sorted(schema["paths"])
    declared = {
        p["name"]: p["schema"].get("enum")
        for p in schema["paths"][path]["get"].get("parameters", [])
        if p["in"] == "query"
    }
    for name, values in EXPECTED[path].items():
        assert name in declared, f"{path}: ?{name}= is not documented ({sorted(declared)})"
        assert (sorted(declared[name]) if declared[name] else None) == values, (path, name)
