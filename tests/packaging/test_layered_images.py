"""Layered Spring Boot images pushed for real: a one-class rebuild uploads under 1 % of the
artifact and an unchanged re-push uploads nothing. (Layered images running like the packaged
form: tests/speed/test_layer_reuse.py; the exploded layout against `java -jar`:
tests/packaging/test_layering.py.)"""

from __future__ import annotations

from pathlib import Path

from b2i.engine import BuildRequest, BuildResult, RegistryAccess, build_image
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.registry import Registry

GUAVA = artifacts.JAVA_DIR / "guava.jar"


def _build(registry: Registry, artifact: Path, target: str, **options: object) -> BuildResult:
    request = BuildRequest(
        artifact=artifact,
        target=f"{registry.host}/{target}",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=("127.0.0.0/8",),
        mirror=registry.host,  # eclipse-temurin comes from the test registry
        environment="java-17",
        **options,  # type: ignore[arg-type]
    )
    return build_image(request)


def _boot_jar(folder: Path, message: str) -> Path:
    folder.mkdir(exist_ok=True)
    libs = [artifacts.COMMONS_LANG, GUAVA, artifacts.COMMONS_CLI]
    return artifacts.build_spring_boot_jar(folder, message, libs=libs)


def test_one_changed_class_uploads_under_one_percent_and_a_repush_uploads_nothing(
    registry: Registry, jre_base: BaseImage, tmp_path: Path
) -> None:
    cache = tmp_path / "layer-cache"
    first = _boot_jar(tmp_path / "v1", "version one")
    _build(registry, first, "layers/rebuild:v1", exploded=None, layer_cache=cache)
    second = _boot_jar(tmp_path / "v2", "version two")
    rebuilt = _build(registry, second, "layers/rebuild:v2", exploded=None, layer_cache=cache)
    assert rebuilt.layers_pushed == 1
    assert rebuilt.bytes_pushed < 0.01 * second.stat().st_size
    again = _build(registry, second, "layers/rebuild:v2", exploded=None, layer_cache=cache)
    assert again.digest == rebuilt.digest
    assert (again.layers_pushed, again.bytes_pushed) == (0, 0)
