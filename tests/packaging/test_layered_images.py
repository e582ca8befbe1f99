"""Layered (exploded) Java images, built and pushed for real: they answer like the packaged form,
and a one-class rebuild or an unchanged re-push uploads (almost) nothing."""

from __future__ import annotations

from pathlib import Path

from builders.engine import BuildRequest, BuildResult, RegistryAccess, build_image
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.fixtures.run_image import ImageRunner
from tests.packaging.test_layering import http_answer

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


def _answer(image_runner: ImageRunner, reference: str) -> tuple[str, list[str]]:
    image = image_runner.pull(reference)
    port = free_port()
    running = image_runner.start(image, env={"PORT": str(port)})
    return running.wait_for_http(f"http://127.0.0.1:{port}/", timeout=60).text, image.args


def _boot_jar(folder: Path, message: str) -> Path:
    folder.mkdir(exist_ok=True)
    libs = [artifacts.COMMONS_LANG, GUAVA, artifacts.COMMONS_CLI]
    return artifacts.build_spring_boot_jar(folder, message, libs=libs)


def test_layered_spring_boot_image_answers_like_java_minus_jar(
    registry: Registry, jre_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    # Pulling and unpacking a JRE image costs ~30 s, so the packaged form runs on the host's
    # JDK 17 (the base's JRE is the same Debian openjdk-17) instead of in a second image.
    jar = _boot_jar(tmp_path / "boot", "hello from boot")
    layered = _build(registry, jar, "layers/boot:layered", exploded=None)
    assert layered.layers_pushed == 3  # dependencies, loader, application (no snapshot libs)
    layered_answer, layered_args = _answer(image_runner, layered.reference)
    assert layered_args == ["java", "-cp", "/app", artifacts.LAUNCHER_CLASS]
    packaged_answer = http_answer(["java", "-jar", str(jar)]).decode()
    assert layered_answer == packaged_answer == "hello from boot\n"


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
