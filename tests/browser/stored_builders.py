"""A JAR builder stored straight in the database, for page tests that need no build: its
artifact's inspection is real (from a JAR built here), its file is not kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import World
from tests.fixtures.artifacts import build_http_jar


def stored_jar_builder(world: World, tmp_path: Path, *, next_run_number: int) -> tuple[Any, Any]:
    """Return the builder `hello` (java-17, shop/hello, unreachable registry) and its artifact."""
    from b2i.packaging.inspection import inspect_artifact
    from builders.models import Artifact, BuildEnvironment, ImageBuilder

    jar = build_http_jar(tmp_path, "v1")
    inspection = inspect_artifact(jar, "jar", jar.name)
    artifact = Artifact.objects.create(
        project=world.project, file_name=jar.name, size=jar.stat().st_size, sha256="0" * 64,
        kind="jar", summary=inspection.summary(), inspection=inspection.as_dict(),
        storage_key="artifacts/none",
    )  # fmt: skip
    builder = ImageBuilder.objects.create(
        project=world.project, name="hello", artifact_kind="jar",
        environment=BuildEnvironment.objects.get(name="java-17"), image_name="shop/hello",
        registry_secret=world.add_registry_secret("http://127.0.0.1:9"), artifact=artifact,
        next_run_number=next_run_number,
    )  # fmt: skip
    return builder, artifact
