"""`--platform all`: a JAR on every linux platform of a base index, pushed as an image index
whose platform images share the artifact layers (uploaded once); binaries are refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from b2i.engine import BuildError
from b2i.oci.image import OCI_INDEX
from tests.fixtures import artifacts
from tests.fixtures import base_images as bases
from tests.fixtures.registry import Registry
from tests.fixtures.run_image import ImageRunner
from tests.speed.test_layer_reuse import answer, build

ACCEPT = ", ".join([OCI_INDEX, bases.OCI_MANIFEST])


def push_jre_index(workdir: Path, registry: Registry) -> str:
    """Push our own index: linux/amd64 and linux/arm64 manifests sharing the JRE root layer."""
    layer = bases.debian_java_layer()
    layout = workdir / "layout-jre-multi"
    entries = []
    for arch in ("amd64", "arm64"):
        config = bases.image_config(layer, bases.JRE_SETTINGS, arch)
        descriptor = bases.write_image(layout, layer, config)
        entries.append({**descriptor, "platform": {"os": "linux", "architecture": arch}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    body = json.dumps(index).encode()
    top = {"mediaType": OCI_INDEX, **bases._write_blob(layout, body)}
    bases.write_layout_index(layout, "17", top)
    bases.skopeo_push(layout, "17", registry, "speed/jre-multi", all_images=True)
    return f"{registry.host}/speed/jre-multi:17"


def get_manifest(registry: Registry, repository: str, reference: str) -> dict[str, object]:
    url = f"{registry.url}/v2/{repository}/manifests/{reference}"
    response = httpx.get(url, headers={"Accept": ACCEPT})
    response.raise_for_status()
    return dict(response.json())


def get_config(registry: Registry, repository: str, manifest: dict[str, object]) -> dict[str, str]:
    digest = manifest["config"]["digest"]  # type: ignore[index]
    return dict(httpx.get(f"{registry.url}/v2/{repository}/blobs/{digest}").json())


def test_platform_all_pushes_an_index_whose_images_share_the_layers_and_run(
    registry: Registry, image_runner: ImageRunner, tmp_path: Path
) -> None:
    base = push_jre_index(tmp_path, registry)
    jar = artifacts.build_spring_boot_jar(tmp_path, "on every platform", layers_index=False)
    result = build(registry, jar, "speed/multi:v1", base_image=base, platform="all", exploded=None)
    assert result.platforms == ("linux/amd64", "linux/arm64")
    assert result.layers_pushed == 4  # the artifact layers once; the second image reuses them
    index = get_manifest(registry, "speed/multi", "v1")
    assert index["mediaType"] == OCI_INDEX
    assert result.digest.startswith("sha256:")
    entries = index["manifests"]
    assert [entry["platform"] for entry in entries] == [  # type: ignore[index,union-attr]
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64"},
    ]
    layer_lists, architectures = [], []
    for entry in entries:  # type: ignore[union-attr]
        manifest = get_manifest(registry, "speed/multi", entry["digest"])
        layer_lists.append([layer["digest"] for layer in manifest["layers"]])  # type: ignore[attr-defined]
        architectures.append(get_config(registry, "speed/multi", manifest)["architecture"])
    assert architectures == ["amd64", "arm64"]
    assert layer_lists[0] == layer_lists[1] and len(layer_lists[0]) == 5  # base + 4 artifact
    copied = subprocess.run(
        ["skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false",
         f"docker://{registry.host}/speed/multi:v1", f"oci:{tmp_path / 'copy'}:v1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr  # a third party accepts index and blobs
    amd64 = f"{registry.host}/speed/multi@{entries[0]['digest']}"  # type: ignore[index]
    assert answer(image_runner, amd64) == "on every platform\n"


def test_platform_all_refuses_a_binary_before_pushing_anything(
    registry: Registry, busybox_multi_platform: bases.BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "one architecture", name="server")
    with pytest.raises(BuildError) as refused:
        build(
            registry, binary, "speed/multi-binary:v1",
            base_image=busybox_multi_platform.tagged, platform="all",
        )  # fmt: skip
    assert refused.value.code == "build:user:platform-all-needs-jvm"
    tags = httpx.get(f"{registry.url}/v2/speed/multi-binary/tags/list")
    assert tags.status_code == 404  # the repository was never created
