"""A run's SBOM and provenance are kept by the console (issue 17): read into component rows,
packed (gzip when large), saved by the runner after a successful build with the counts of what
changed since the previous one, and the engine is asked for them with the run's identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from b2i.engine import BuildResult
from builders import runner, services
from builders.build_jobs import BuildJob
from builders.engine_adapter import build_request, result_fields
from builders.models import BuildRun, BuildState, ImageBuilder, RunComponent, RunSupplyChain
from builders.supply_chain import documents, store
from builders.supply_chain.documents import Component, components_of, package_identity
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor
from tests.builders.sbom_documents import (
    application,
    component,
    cyclonedx,
    deb,
    maven,
    result_entry,
)

pytestmark = pytest.mark.django_db(transaction=True)

LIBS_V1 = [
    application("shop"),
    maven("org.apache.commons", "commons-lang3", "3.14.0"),
    maven("commons-cli", "commons-cli", "1.6.0"),
    deb("libc6", "2.36-9+deb12u7", "LGPL-2.1"),
]


class SbomExecutor(ScriptedExecutor):
    """The scripted executor whose result carries the documents the engine would make."""

    def __init__(self, components: list[dict[str, Any]]) -> None:
        super().__init__()
        self.components = components

    def execute(self, job: BuildJob, *args: Any) -> dict[str, Any]:
        result = super().execute(job, *args)
        return {**result, store.RESULT_KEY: result_entry(self.components)}


@pytest.fixture
def builder(
    world: World, media_root: Path, busybox: Path, enqueued: list[int], channel_layer_on_redis: str
) -> ImageBuilder:
    return make_builder(world, make_artifact(world.project, busybox))


def build(builder: ImageBuilder, executor: ScriptedExecutor) -> BuildRun:
    run = services.do_start_run(builder)
    assert runner.run_build(run.pk, executor=executor) == BuildState.SUCCESSFUL
    run.refresh_from_db()
    return run


# --- reading the document -------------------------------------------------------------------


def test_components_are_read_with_source_purl_licences_and_hash_nested_ones_too() -> None:
    shaded = maven("com.example", "fat", "2.0")
    shaded["components"] = [maven("com.google.guava", "guava", "33.0.0-jre", "")]
    found = {c.name: c for c in components_of(cyclonedx([*LIBS_V1, shaded]))}
    assert set(found) == {"shop", "commons-lang3", "commons-cli", "libc6", "fat", "guava"}
    assert found["shop"].source == "application"
    assert found["libc6"] == Component(
        source="os",
        name="libc6",
        version="2.36-9+deb12u7",
        purl="pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&distro=debian-12",
        licenses=("LGPL-2.1",),
        sha256=found["libc6"].sha256,
    )
    assert len(found["libc6"].sha256) == 64
    assert found["guava"].source == "library" and found["guava"].licenses == ()
    assert found["commons-lang3"].identity == "pkg:maven/org.apache.commons/commons-lang3"
    assert found["libc6"].identity == "pkg:deb/debian/libc6"


def test_licence_names_and_expressions_are_kept_and_odd_entries_ignored() -> None:
    raw = maven("g", "a", "1")
    raw["licenses"] = [
        {"license": {"name": "The Apache License"}},
        {"expression": "MIT OR Apache-2.0"},
        "not an object",
        {"license": {}},
    ]
    assert components_of(cyclonedx([raw]))[0].licenses == (
        "The Apache License",
        "MIT OR Apache-2.0",
    )


def test_a_component_without_purl_is_identified_by_source_group_and_name() -> None:
    raw = component("library", "mystery", "1.0", "", "com.example")
    assert components_of(cyclonedx([raw]))[0].identity == "library:com.example/mystery"


def test_hostile_values_are_bounded() -> None:
    long_purl = component("library", "x", "1", "pkg:maven/g/" + "a" * 2000 + "@1")
    long_name = component("library", "n" * 1000, "v" * 1000, "pkg:maven/g/n@1")
    nameless = {"version": "1", "purl": "pkg:maven/g/z@1"}
    found = components_of(cyclonedx([long_purl, long_name, nameless, "junk"]))  # type: ignore[list-item]
    assert [c.purl for c in found] == ["", "pkg:maven/g/n@1"]  # too long: dropped, never cut
    assert len(found[1].name) == 255 and len(found[1].version) == 255


def test_at_most_max_components_rows_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_COMPONENTS", 3)
    many = [maven("g", f"a{n}", "1") for n in range(10)]
    assert len(components_of(cyclonedx(many))) == 3


@pytest.mark.parametrize(
    ("purl", "identity"),
    [
        ("pkg:maven/org.a/b@1.2?type=jar", "pkg:maven/org.a/b"),
        ("pkg:golang/github.com/x/y@v1.2.3#sub", "pkg:golang/github.com/x/y"),
        ("pkg:deb/debian/libc6@2.36?arch=amd64", "pkg:deb/debian/libc6"),
        ("pkg:maven/org.a/b", "pkg:maven/org.a/b"),
        ("https://example.com/x@1", ""),
    ],
)
def test_package_identity_is_the_purl_without_version(purl: str, identity: str) -> None:
    assert package_identity(purl) == identity


def test_small_documents_are_stored_as_json_and_large_ones_gzip_compressed() -> None:
    small = cyclonedx(LIBS_V1)
    data, compressed = documents.pack(small)
    assert not compressed and json.loads(documents.unpack(data, compressed)) == small
    large = cyclonedx([deb(f"package-{n}", f"1.{n}") for n in range(2000)])
    data, compressed = documents.pack(large)
    raw = json.dumps(large, separators=(",", ":")).encode()
    assert compressed and len(data) < len(raw) / 5
    assert json.loads(documents.unpack(memoryview(data), compressed)) == large
    assert documents.pack(large)[0] == data  # the same document packs to the same bytes


# --- saved by the runner --------------------------------------------------------------------


def test_the_runner_stores_documents_and_components_after_a_successful_build(
    builder: ImageBuilder,
) -> None:
    run = build(builder, SbomExecutor(LIBS_V1))
    record = RunSupplyChain.objects.get(run=run)
    assert record.component_count == 4 and record.compared_with is None
    assert (record.added, record.removed, record.upgraded) == (0, 0, 0)
    assert (record.referrers_via, record.sbom_referrer_digest) == ("tag", "sha256:" + "01" * 32)
    sbom = json.loads(documents.unpack(record.sbom, record.sbom_compressed))
    assert sbom["components"] == LIBS_V1
    provenance = json.loads(documents.unpack(record.provenance, record.provenance_compressed))
    assert provenance["predicateType"] == "https://slsa.dev/provenance/v1"
    rows = RunComponent.objects.filter(run=run).values_list("source", "name", "version")
    assert sorted(rows) == [
        ("application", "shop", "1.0.0"),
        ("library", "commons-cli", "1.6.0"),
        ("library", "commons-lang3", "3.14.0"),
        ("os", "libc6", "2.36-9+deb12u7"),
    ]
    assert "supply_chain" not in run.step_timings  # the entry never reaches the run's fields


def test_each_run_counts_what_changed_since_the_previous_run_with_an_sbom(
    builder: ImageBuilder,
) -> None:
    first = build(builder, SbomExecutor(LIBS_V1))
    build(builder, ScriptedExecutor())  # no SBOM (e.g. an older worker): skipped in comparisons
    changed = [
        *LIBS_V1[:1],
        maven("org.apache.commons", "commons-lang3", "3.17.0"),
        deb("libc6", "2.36-9+deb12u7", "LGPL-2.1"),
        maven("org.slf4j", "slf4j-api", "2.0.16", "MIT"),
    ]
    third = build(builder, SbomExecutor(changed))
    record = RunSupplyChain.objects.get(run=third)
    assert record.compared_with == first
    assert (record.added, record.removed, record.upgraded) == (1, 1, 1)


def test_a_storage_failure_does_not_fail_the_build(
    builder: ImageBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(run: BuildRun, docs: store.Documents) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(store, "record_documents", broken)
    run = build(builder, SbomExecutor(LIBS_V1))
    assert run.state == BuildState.SUCCESSFUL
    assert not RunSupplyChain.objects.filter(run=run).exists()


# --- asking the engine ----------------------------------------------------------------------


def test_the_engine_is_asked_for_documents_naming_the_console_and_the_run(
    builder: ImageBuilder, settings: Any
) -> None:
    settings.B2I_CONSOLE_URL = "https://console.example.com/"
    executor = SbomExecutor(LIBS_V1)
    run = build(builder, executor)
    options = executor.jobs[0].supply_chain
    assert options is not None
    assert options.builder_id.startswith("https://console.example.com#b2i-console@")
    assert options.builder_id.split("@")[-1][0].isdigit()  # the console's version
    assert options.invocation_id == (
        f"https://console.example.com/workspaces/acme/projects/shop/imagebuilders/hello/"
        f"#run-{run.number}"
    )
    assert options.build_settings["run"] == run.number
    assert build_request(executor.jobs[0]).supply_chain == options


def test_without_a_console_url_the_console_names_itself_by_urn(builder: ImageBuilder) -> None:
    executor = SbomExecutor(LIBS_V1)
    build(builder, executor)
    options = executor.jobs[0].supply_chain
    assert options is not None and options.builder_id.startswith("urn:b2i-console#b2i-console@")
    assert options.invocation_id.startswith("urn:b2i-console:workspaces/acme/")


def test_supply_chain_off_asks_for_nothing(builder: ImageBuilder, settings: Any) -> None:
    settings.B2I_SUPPLY_CHAIN = False
    executor = SbomExecutor(LIBS_V1)
    build(builder, executor)
    assert executor.jobs[0].supply_chain is None


def test_the_engine_result_hands_its_documents_to_the_runner_apart_from_the_run_fields() -> None:
    sbom = cyclonedx(LIBS_V1)
    result = BuildResult(
        **{**EMPTY_RESULT, "sbom_document": sbom, "provenance_document": {"x": 1}},
        referrers_via="api",
    )
    fields = result_fields(result)
    entry = fields.pop(store.RESULT_KEY)
    assert entry["sbom_document"] is sbom and entry["referrers_via"] == "api"
    assert set(fields) <= {f.name for f in BuildRun._meta.get_fields()}
    assert store.RESULT_KEY not in result_fields(BuildResult(**EMPTY_RESULT))


EMPTY_RESULT: dict[str, Any] = {
    "reference": "127.0.0.1:9/demo/hello@sha256:" + "ab" * 32,
    "digest": "sha256:" + "ab" * 32,
    "tags": ("latest",),
    "base_reference": "debian",
    "environment": "binary-debian",
    "compressed_size": 1,
    "layers_pushed": 0,
    "layers_reused": 0,
    "bytes_pushed": 0,
    "bytes_reused": 0,
    "step_timings": {},
    "inspection": {},
    "warnings": (),
}
