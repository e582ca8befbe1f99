"""The `make run` demo base: a busybox image pushed to the local registry, usable for builds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from b2i.engine import BuildRequest, RegistryAccess, build_image
from b2i.oci.registry import RegistryClient
from b2i.packaging.environments import BuildEnvironment as EngineEnvironment
from builders.models import BuildEnvironment
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db


def test_seeding_pushes_a_reproducible_base_and_adds_the_environment(registry: Registry) -> None:
    call_command("seed_demo_base", registry=registry.host)
    call_command("seed_demo_base", registry=registry.host)  # a second make run changes nothing
    environment = BuildEnvironment.objects.get(name="demo-busybox")
    assert environment.base_image == f"{registry.host}/library/busybox:b2i-demo"
    assert environment.artifact_kinds == ["binary"] and not environment.builtin
    with RegistryClient(registry.host, scheme="http", allowed_networks=["127.0.0.0/8"]) as client:
        manifest = client.get_manifest("library/busybox", "b2i-demo").json()
    assert len(manifest["layers"]) == 1


def test_a_binary_builds_on_the_seeded_base(registry: Registry, tmp_path: Path) -> None:
    call_command("seed_demo_base", registry=registry.host)
    row = BuildEnvironment.objects.get(name="demo-busybox")
    artifact = Path(shutil.copy("/bin/busybox", tmp_path / "app"))
    result = build_image(
        BuildRequest(
            artifact=artifact,
            target=f"{registry.host}/demo/app:v1",
            environment=EngineEnvironment.from_dict(row.as_engine_dict()),
            registries={registry.host: RegistryAccess(scheme="http")},
            allowed_networks=("127.0.0.0/8",),
        )
    )
    assert result.digest.startswith("sha256:")
    assert result.layers_reused == 1  # the base layer was already in the registry
