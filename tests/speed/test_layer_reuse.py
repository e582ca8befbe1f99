"""Byte counts of issue 5 (not timed): a one-class rebuild uploads < 1 % of the artifact and
takes its unchanged layers from the layer cache; an unchanged re-push uploads no layer bytes
(and sends the registry no upload at all); layered images answer like the packaged form."""

from __future__ import annotations

import re
from pathlib import Path

from b2i.engine import BuildRequest, BuildResult, RegistryAccess, build_image
from b2i.oci.events import Event
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.fixtures.run_image import ImageRunner

SHADED = [artifacts.COMMONS_LANG, artifacts.COMMONS_CLI]


def build(
    registry: Registry, artifact: Path, target: str, events: list[Event] | None = None,
    **options: object,
) -> BuildResult:  # fmt: skip
    """Build ARTIFACT in-process for java-17 (its base comes from the test registry)."""
    request = BuildRequest(
        artifact=artifact,
        target=f"{registry.host}/{target}",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=("127.0.0.0/8",),
        mirror=registry.host,
        **options,  # type: ignore[arg-type]
    )
    sink = events.append if events is not None else (lambda event: None)
    return build_image(request, on_event=sink)


def layer_lines(events: list[Event]) -> list[str]:
    return [e.message or "" for e in events if e.kind == "log" and e.step == "write-layers"]


def upload_requests(registry: Registry, repository: str) -> int:
    """Count the blob upload sessions the registry has logged for REPOSITORY."""
    log = (registry.workdir / "registry.log").read_text(errors="replace")
    return len(re.findall(rf'"POST /v2/{re.escape(repository)}/blobs/uploads/', log))


def answer(image_runner: ImageRunner, reference: str, path: str = "/") -> str:
    """Pull, unpack and run REFERENCE; return its HTTP answer at PATH (Tomcat or our apps)."""
    image = image_runner.pull(reference)
    port = free_port()
    env = {"PORT": str(port), "CATALINA_OPTS": f"-Dhttp.port={port}"}
    running = image_runner.start(image, env=env)
    return running.wait_for_http(f"http://127.0.0.1:{port}{path}", timeout=90).text


def test_shaded_jar_rebuild_with_one_changed_class_reuses_cached_layers_and_uploads_under_1pct(
    registry: Registry, jre_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    cache = tmp_path / "layer-cache"
    for version in ("v1", "v2"):
        (tmp_path / version).mkdir()
    first = artifacts.build_http_jar(tmp_path / "v1", "version one", shade=SHADED)
    build(registry, first, "speed/shaded:v1", exploded=None, layer_cache=cache)
    second = artifacts.build_http_jar(tmp_path / "v2", "version two", shade=SHADED)
    events: list[Event] = []
    rebuilt = build(registry, second, "speed/shaded:v2", events, exploded=None, layer_cache=cache)
    assert rebuilt.layers_pushed == 1  # the application layer; dependencies are already there
    assert 0 < rebuilt.bytes_pushed < 0.01 * second.stat().st_size
    lines = layer_lines(events)
    dependencies = [line for line in lines if "(dependencies)" in line]
    application = [line for line in lines if "(application)" in line]
    assert len(dependencies) == 1 and "from the layer cache" in dependencies[0]
    assert len(application) == 1 and "from the layer cache" not in application[0]
    assert answer(image_runner, rebuilt.reference) == "version two\n"


def test_unchanged_repush_without_a_layer_cache_uploads_no_layer_bytes_and_starts_no_upload(
    registry: Registry, jre_base: BaseImage, tmp_path: Path
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "same bytes")
    first = build(registry, jar, "speed/repush:v1", exploded=None, layer_cache=None)
    assert first.layers_pushed >= 3  # dependencies, loader, snapshot dependencies, application
    uploads_before = upload_requests(registry, "speed/repush")
    again = build(registry, jar, "speed/repush:v2", exploded=None, layer_cache=None)
    assert again.digest == first.digest  # reproducible: same layers, same config, same manifest
    assert (again.layers_pushed, again.bytes_pushed) == (0, 0)
    assert again.bytes_reused == first.bytes_pushed + first.bytes_reused
    assert upload_requests(registry, "speed/repush") == uploads_before


def test_layered_and_packaged_spring_boot_images_answer_alike(
    registry: Registry, jre_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "boot answer", layers_index=False)
    packaged = build(registry, jar, "speed/boot:packaged", exploded=False)
    layered = build(registry, jar, "speed/boot:layered", exploded=None)
    assert (packaged.layers_pushed, layered.layers_pushed) == (1, 4)
    answers = [answer(image_runner, image.reference) for image in (packaged, layered)]
    assert answers == ["boot answer\n", "boot answer\n"]


def test_layered_and_packaged_war_images_answer_alike(
    registry: Registry, tomcat_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    war = artifacts.build_war(tmp_path, "war answer", namespace="jakarta")
    options = {"environment": "tomcat-10-java-17"}
    packaged = build(registry, war, "speed/war:packaged", exploded=False, **options)
    layered = build(registry, war, "speed/war:layered", exploded=None, **options)
    assert layered.layers_pushed == 2  # WEB-INF/lib, the rest
    answers = [
        answer(image_runner, image.reference, "/shop/hello") for image in (packaged, layered)
    ]
    assert answers == ["war answer\n", "war answer\n"]


def test_a_big_new_layer_is_uploaded_while_written_and_a_cold_cache_sends_it_no_further(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "early", padding=12 * 1024 * 1024)
    events: list[Event] = []
    options = {"base_image": busybox_base.tagged, "layer_cache": tmp_path / "cache"}
    first = build(registry, binary, "speed/early:v1", events, **options)
    early = [e for e in events if e.kind == "blob-pushed" and "while the layer" in e.message]
    assert first.layers_pushed == 1 and first.bytes_pushed > 1024 * 1024
    assert [event.bytes for event in early] == [first.bytes_pushed]  # the binary's layer
    # A new machine (empty cache) builds the same artifact: the registry has the layer.
    events.clear()
    options["layer_cache"] = tmp_path / "cold-cache"
    again = build(registry, binary, "speed/early:v2", events, **options)
    assert again.digest == first.digest
    assert (again.layers_pushed, again.bytes_pushed) == (0, 0)
    cancelled = [e for e in events if e.kind == "blob-reused" and "then cancelled" in e.message]
    assert len(cancelled) == 1
