"""A Spring Boot JAR's nested jars are hashed once per build, not once for the layer cache and
again for the SBOM (#17: the SBOM's cost). Counted, not timed: the SBOM's own hashing of nested
jars goes through b2i.sbom.maven._hash_stream, which these tests wrap."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from b2i import engine_supply
from b2i.engine import BuildRequest, BuildResult, RegistryAccess, SupplyChainOptions, build_image
from b2i.sbom import maven
from tests.fixtures import artifacts
from tests.fixtures.registry import Registry
from tests.fixtures.sbom_bases import PackageBase

GUAVA = artifacts.JAVA_DIR / "guava.jar"  # > 1 MiB: the layer writer streams it
LIBS = [artifacts.COMMONS_LANG, GUAVA, artifacts.COMMONS_CLI]


def _build(registry: Registry, base: PackageBase, jar: Path, **options: Any) -> BuildResult:
    options.setdefault("exploded", None)  # as the console builds: BOOT-INF/lib/*.jar are members
    request = BuildRequest(
        artifact=jar,
        target=f"{registry.host}/sbom/once:v1",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=("127.0.0.0/8",),
        base_image=base.reference,
        environment="java-17",
        supply_chain=SupplyChainOptions(builder_id="urn:test", invocation_id="urn:test:1"),
        **options,
    )
    return build_image(request)


@pytest.fixture
def sbom_hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Return the list of byte counts the SBOM hashed nested jars with (one item per jar)."""
    counted: list[int] = []
    original: Callable[[Any], str] = maven._hash_stream

    class Counting:
        def __init__(self, stream: Any) -> None:
            self.stream, self.total = stream, 0

        def read(self, size: int = -1, /) -> bytes:
            data: bytes = self.stream.read(size)
            self.total += len(data)
            return data

    def spy(stream: Any) -> str:
        counting = Counting(stream)
        digest = original(counting)
        counted.append(counting.total)
        return digest

    monkeypatch.setattr(maven, "_hash_stream", spy)
    engine_supply._RECENT.clear()  # what earlier tests' builds left
    return counted


def _library_hashes(result: BuildResult) -> dict[str, str]:
    assert result.sbom_document is not None
    found = {}
    for component in result.sbom_document["components"]:
        hashes = [h["content"] for h in component.get("hashes", []) if h["alg"] == "SHA-256"]
        if hashes and component.get("purl", "").startswith("pkg:maven/"):
            found[component["name"]] = hashes[0]
    return found


def _expected() -> dict[str, str]:
    names = {artifacts.COMMONS_LANG: "commons-lang3", GUAVA: "guava"}
    return {
        name: hashlib.sha256(path.resolve().read_bytes()).hexdigest()
        for path, name in names.items()
    }


def test_the_sbom_takes_nested_jar_hashes_from_the_layer_writer_fresh_and_warm(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path, sbom_hashes: list[int]
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "hash once", libs=LIBS)
    cache = tmp_path / "layer-cache"

    fresh = _build(registry, dpkg_base, jar, layer_cache=cache)
    assert sbom_hashes == []  # the layer writer's member digests served every nested jar
    hashes = _library_hashes(fresh)
    assert {name: hashes[name] for name in _expected()} == _expected()

    warm = _build(registry, dpkg_base, jar, layer_cache=cache)  # layers from the cache
    assert sbom_hashes == []
    assert warm.sbom_document == fresh.sbom_document  # identical inputs, identical SBOM


def test_without_a_layer_cache_the_sbom_hashes_only_what_the_writer_did_not(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path, sbom_hashes: list[int]
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "no cache", libs=LIBS)

    result = _build(registry, dpkg_base, jar)

    # Small members are hashed as the writer reads them; guava is streamed into the layer and,
    # with no cache key to compute, never hashed there: the SBOM hashes it, once, whole.
    assert sbom_hashes == [GUAVA.resolve().stat().st_size]
    hashes = _library_hashes(result)
    assert {name: hashes[name] for name in _expected()} == _expected()


def test_a_packaged_jar_has_each_nested_jar_hashed_once_by_the_sbom(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path, sbom_hashes: list[int]
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "packaged", libs=LIBS)

    result = _build(registry, dpkg_base, jar, exploded=False, layer_cache=tmp_path / "cache")

    sizes = sorted(path.resolve().stat().st_size for path in LIBS)
    assert sorted(sbom_hashes) == sizes  # the writer read none of them: each once, here
    hashes = _library_hashes(result)
    assert {name: hashes[name] for name in _expected()} == _expected()

    # A rerun of the same bytes: the components are known by the artifact's digest.
    again = _build(registry, dpkg_base, jar, exploded=False, layer_cache=tmp_path / "cache")
    assert sorted(sbom_hashes) == sizes
    assert again.sbom_document == result.sbom_document
