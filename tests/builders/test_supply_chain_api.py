"""A run's supply chain over the API (issue 17): components (search, source filter, pages), the
SBOM and provenance downloads in their media types, what changed against another run, and the
run list's summary; permissions as for reading the run (404 outside, a viewer reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builders.models import BuildRun, ImageBuilder
from builders.supply_chain import store
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.sbom_documents import application, cyclonedx, deb, maven, provenance

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/runs/"

V1 = [
    application("shop", "1.0.0"),
    maven("org.apache.commons", "commons-lang3", "3.14.0"),
    maven("commons-cli", "commons-cli", "1.6.0"),
    deb("libc6", "2.36-9+deb12u7", "LGPL-2.1"),
    deb("zlib1g", "1:1.2.13.dfsg-1"),
]
V2 = [*V1[:1], maven("org.apache.commons", "commons-lang3", "3.17.0"), *V1[2:]]
V3 = [*V2, maven("org.slf4j", "slf4j-api", "2.0.16", "MIT")]


def add_run(
    builder: ImageBuilder, number: int, components: list[dict[str, Any]] | None
) -> BuildRun:
    """Run #NUMBER, successful, with an SBOM of COMPONENTS (None: failed, no SBOM)."""
    state = "successful" if components is not None else "failed"
    run = BuildRun.objects.create(builder=builder, number=number, tag="latest", state=state)
    if components is not None:
        documents = store.Documents(
            cyclonedx(components), provenance(f"urn:b2i-console:run-{number}"), referrers_via="api"
        )
        store.record_documents(run, documents)
    return run


@pytest.fixture
def builder(world: World, media_root: Path, busybox: Path) -> ImageBuilder:
    """Runs 1 (V1), 2 (failed), 3 (V2: one upgrade), 4 (V3: one library added)."""
    builder = make_builder(world, make_artifact(world.project, busybox))
    for number, components in enumerate([V1, None, V2, V3], start=1):
        add_run(builder, number, components)
    return builder


def test_the_run_list_carries_each_runs_summary(world: World, builder: ImageBuilder) -> None:
    runs = {r["number"]: r for r in world.client("victor").get(RUNS).json()["results"]}
    assert runs[2]["supply_chain"] is None
    assert runs[1]["supply_chain"]["compared_with"] is None
    summary = runs[3]["supply_chain"]
    assert (summary["compared_with"], summary["component_count"]) == (1, 5)
    assert (summary["added"], summary["removed"], summary["upgraded"]) == (0, 0, 1)
    assert runs[4]["supply_chain"]["added"] == 1 and runs[4]["supply_chain"]["compared_with"] == 3
    assert world.client("victor").get(f"{RUNS}3/").json()["supply_chain"]["referrers_via"] == "api"


def test_components_are_searched_filtered_by_source_and_paginated(
    world: World, builder: ImageBuilder
) -> None:
    api = world.client("victor")
    page = api.get(f"{RUNS}3/components/").json()
    assert page["count"] == 5
    assert [c["source"] for c in page["results"]] == [
        "application",
        "library",
        "library",
        "os",
        "os",
    ]
    lang = next(c for c in page["results"] if c["name"] == "commons-lang3")
    assert lang == {
        "source": "library",
        "name": "commons-lang3",
        "group": "org.apache.commons",
        "version": "3.17.0",
        "purl": "pkg:maven/org.apache.commons/commons-lang3@3.17.0",
        "licenses": ["Apache-2.0"],
        "sha256": lang["sha256"],
    }
    os_packages = api.get(f"{RUNS}3/components/", {"source": "os"}).json()["results"]
    assert [c["name"] for c in os_packages] == ["libc6", "zlib1g"]
    found = api.get(f"{RUNS}3/components/", {"q": "COMMONS"}).json()["results"]
    assert {c["name"] for c in found} == {"commons-lang3", "commons-cli"}
    by_purl = api.get(f"{RUNS}3/components/", {"q": "pkg:deb/debian/zlib"}).json()
    assert [c["name"] for c in by_purl["results"]] == ["zlib1g"]
    second = api.get(f"{RUNS}3/components/", {"limit": 2, "offset": 2}).json()
    assert [c["name"] for c in second["results"]] == ["commons-lang3", "libc6"]
    assert api.get(f"{RUNS}3/components/", {"q": "x" * 5000}).json()["count"] == 0


def test_sbom_and_provenance_download_in_their_media_types(
    world: World, builder: ImageBuilder
) -> None:
    api = world.client("victor")
    sbom = api.get(f"{RUNS}3/sbom/")
    assert sbom.status_code == 200
    assert sbom["Content-Type"] == "application/vnd.cyclonedx+json"
    assert sbom["Content-Disposition"] == 'attachment; filename="hello-3.cdx.json"'
    document = json.loads(sbom.content)
    assert document["specVersion"] == "1.6" and document["components"] == V2
    # A client asking for the document's own type gets it (not 406).
    asked = api.get(f"{RUNS}3/sbom/", HTTP_ACCEPT="application/vnd.cyclonedx+json")
    assert asked.status_code == 200 and json.loads(asked.content) == document
    statement = api.get(f"{RUNS}3/provenance/")
    assert statement["Content-Type"] == "application/vnd.in-toto+json"
    assert statement["Content-Disposition"] == 'attachment; filename="hello-3.intoto.json"'
    invocation = json.loads(statement.content)["predicate"]["runDetails"]["metadata"]
    assert invocation["invocationId"] == "urn:b2i-console:run-3"


def test_a_run_without_sbom_says_so(world: World, builder: ImageBuilder) -> None:
    api = world.client("victor")
    for path in ("components/", "sbom/", "provenance/", "changes/"):
        response = api.get(f"{RUNS}2/{path}")
        assert response.status_code == 404, path
        assert response.json()["code"] == "sbom:none"
    asked = api.get(f"{RUNS}2/sbom/", HTTP_ACCEPT="application/vnd.cyclonedx+json")
    assert asked.status_code == 404 and json.loads(asked.content)["code"] == "sbom:none"


def test_changes_default_to_the_previous_run_with_an_sbom(
    world: World, builder: ImageBuilder
) -> None:
    changes = world.client("victor").get(f"{RUNS}3/changes/").json()
    assert (changes["run"], changes["against"]) == (3, 1)
    assert changes["counts"] == {"added": 0, "removed": 0, "upgraded": 1}
    assert changes["summary"] == "+0 \u22120 \u21911"
    assert (changes["added"], changes["removed"]) == ([], [])
    [upgrade] = changes["upgraded"]
    assert upgrade["before"]["purl"] == "pkg:maven/org.apache.commons/commons-lang3@3.14.0"
    assert upgrade["after"]["purl"] == "pkg:maven/org.apache.commons/commons-lang3@3.17.0"
    assert upgrade["direction"] == "up"
    first = world.client("victor").get(f"{RUNS}1/changes/").json()
    assert first["against"] is None and first["counts"] == {"added": 0, "removed": 0, "upgraded": 0}


def test_changes_against_any_run_of_the_builder(world: World, builder: ImageBuilder) -> None:
    api = world.client("victor")
    since_first = api.get(f"{RUNS}4/changes/", {"against": 1}).json()
    assert since_first["against"] == 1
    assert since_first["summary"] == "+1 \u22120 \u21911"
    assert [c["name"] for c in since_first["added"]] == ["slf4j-api"]
    backwards = api.get(f"{RUNS}1/changes/", {"against": 4}).json()
    assert [c["name"] for c in backwards["removed"]] == ["slf4j-api"]
    assert backwards["upgraded"][0]["direction"] == "down"
    assert api.get(f"{RUNS}4/changes/", {"against": 2}).status_code == 404  # failed
    assert api.get(f"{RUNS}4/changes/", {"against": 99}).status_code == 404
    assert api.get(f"{RUNS}4/changes/", {"against": "abc"}).status_code == 400
    assert api.get(f"{RUNS}4/changes/", {"against": "9" * 30}).status_code == 404


def test_another_builders_run_is_never_a_comparison(world: World, builder: ImageBuilder) -> None:
    other = make_builder(world, builder.artifact, name="other")  # type: ignore[arg-type]
    add_run(other, 7, V3)
    response = world.client("victor").get(f"{RUNS}4/changes/", {"against": 7})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["components/", "sbom/", "provenance/", "changes/"])
def test_only_who_may_read_the_run_reads_its_supply_chain(
    world: World, builder: ImageBuilder, path: str
) -> None:
    assert world.client("victor").get(f"{RUNS}3/{path}").status_code == 200  # viewer
    assert world.client("olga").get(f"{RUNS}3/{path}").status_code == 200  # operator
    outsider = world.client("charlie").get(f"{RUNS}3/{path}")  # admin of another project
    assert outsider.status_code == 404
    assert b"commons" not in outsider.content
    assert world.client("anonymous").get(f"{RUNS}3/{path}").status_code in (401, 403)
