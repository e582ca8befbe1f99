"""With the environment chosen, a JAR's class-file versions are read by the layer writer (not
by a separate scan first) and still give the same facts and warnings as a full inspection."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2i.engine import BuildRequest, BuildResult, RegistryAccess, build_image
from b2i.oci.events import Event
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)
# A dependency class needing Java 21 (major 65) among Java 17 application classes.
JAVA_21_CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + bytes(24)
TOO_NEW = "the classes are Java 21 bytecode but java-17 runs Java 17"


def build(
    registry: Registry, artifact: Path, repository: str, **options: object
) -> tuple[BuildResult, list[Event]]:
    events: list[Event] = []
    request = BuildRequest(
        artifact=artifact,
        target=f"{registry.host}/{repository}:v1",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
        mirror=registry.host,
        environment="java-17",
        **options,  # type: ignore[arg-type]
    )
    return build_image(request, on_event=events.append), events


def logged(events: list[Event], step: str) -> list[str]:
    return [event.message or "" for event in events if event.kind == "log" and event.step == step]


@pytest.mark.parametrize("exploded", [None, False], ids=["exploded", "packaged"])
def test_a_dependency_needing_a_newer_java_is_reported_by_the_build(
    registry: Registry, jre_base: BaseImage, tmp_path: Path, exploded: bool | None
) -> None:
    jar = artifacts.build_http_jar(
        tmp_path,
        shade=[artifacts.COMMONS_LANG],
        extra_members={"org/dependency/Later.class": JAVA_21_CLASS},
    )
    result, events = build(registry, jar, f"classes/{'packaged' if exploded is False else 'x'}",
                           exploded=exploded)  # fmt: skip
    assert result.inspection["java_release"] == 21
    assert any(warning.startswith(TOO_NEW) for warning in result.warnings)
    assert "class versions not read yet" in " ".join(logged(events, "inspect"))
    layer_lines = logged(events, "write-layers")
    assert "classes read: Executable JAR · Java 21 bytecode" in layer_lines
    assert any(line.startswith(f"warning: {TOO_NEW}") for line in layer_lines)


def test_a_jar_the_environment_runs_gets_no_version_warning(
    registry: Registry, jre_base: BaseImage, tmp_path: Path
) -> None:
    jar = artifacts.build_http_jar(tmp_path, shade=[artifacts.COMMONS_LANG])
    result, events = build(registry, jar, "classes/fits", exploded=None)
    assert result.inspection["java_release"] == 17
    assert not any("bytecode" in warning for warning in result.warnings)
    assert "classes read: Executable JAR · Java 17 bytecode" in logged(events, "write-layers")
