"""Image composition: families kept, config settings applied, history matching, reproducible."""

import json
from typing import Any

import pytest

from b2i.oci.image import (
    ARTIFACT_SHA256_LABEL,
    BASE_DIGEST_LABEL,
    BASE_NAME_LABEL,
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    FIXED_CREATED,
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    TITLE_LABEL,
    BaseImage,
    ContainerSettings,
    ImageError,
    ImageMetadata,
    NewLayer,
    Platform,
    compose_image,
    merge_env,
    normalise_port,
    parse_base,
    select_platform,
    sha256_digest,
)

BASE_LAYER = "sha256:" + "1" * 64
BASE_DIFF = "sha256:" + "2" * 64
NEW_LAYER = NewLayer("sha256:" + "3" * 64, "sha256:" + "4" * 64, 1234, "b2i: COPY app.jar /app/")
METADATA = ImageMetadata(title="app.jar", artifact_sha256="sha256:" + "5" * 64, source="b2i://x")


def base_image(family: str = "oci", config_extra: dict[str, Any] | None = None) -> BaseImage:
    oci = family == "oci"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-05-01T10:00:00Z",
        "config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C"], "Cmd": ["/bin/sh"], "User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [BASE_DIFF]},
        "history": [
            {"created_by": "ADD rootfs"},
            {"created_by": "CMD /bin/sh", "empty_layer": True},
        ],
        **(config_extra or {}),
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
            "digest": sha256_digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": OCI_LAYER_GZIP if oci else DOCKER_LAYER_GZIP,
                "digest": BASE_LAYER,
                "size": 99,
            }
        ],
    }
    manifest_bytes = json.dumps(manifest).encode()
    return parse_base(
        "127.0.0.1:5000/base/os:1", sha256_digest(manifest_bytes), manifest_bytes, config_bytes
    )


def compose(base: BaseImage, settings: ContainerSettings | None = None) -> tuple[dict, dict]:
    image = compose_image(base, [NEW_LAYER], settings or ContainerSettings(), METADATA)
    return json.loads(image.manifest_bytes), json.loads(image.config_bytes)


def test_oci_base_gives_oci_manifest_config_and_layers_with_annotations() -> None:
    base = base_image("oci")
    manifest, _ = compose(base)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == OCI_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_GZIP] * 2
    assert manifest["annotations"][BASE_DIGEST_LABEL] == base.digest
    assert manifest["annotations"][BASE_NAME_LABEL] == "127.0.0.1:5000/base/os:1"
    assert manifest["annotations"][TITLE_LABEL] == "app.jar"


def test_docker_base_gives_docker_types_and_no_annotations() -> None:
    manifest, config = compose(base_image("docker"))
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert manifest["layers"][1]["mediaType"] == DOCKER_LAYER_GZIP
    assert "annotations" not in manifest
    assert config["config"]["Labels"][ARTIFACT_SHA256_LABEL] == METADATA.artifact_sha256


def test_new_layer_is_appended_after_base_layers_with_its_digest_and_diff_id() -> None:
    manifest, config = compose(base_image())
    assert [layer["digest"] for layer in manifest["layers"]] == [BASE_LAYER, NEW_LAYER.digest]
    assert manifest["layers"][1]["size"] == NEW_LAYER.size
    assert config["rootfs"]["diff_ids"] == [BASE_DIFF, NEW_LAYER.diff_id]


def test_history_has_one_entry_per_layer_and_an_empty_layer_entry_for_settings() -> None:
    _, config = compose(base_image(), ContainerSettings(cmd=["java", "-jar", "/app/app.jar"]))
    history = config["history"]
    non_empty = [entry for entry in history if not entry.get("empty_layer")]
    assert len(non_empty) == len(config["rootfs"]["diff_ids"])
    assert non_empty[-1]["created_by"] == NEW_LAYER.created_by
    assert history[-1]["empty_layer"] is True
    assert 'CMD ["java", "-jar", "/app/app.jar"]' in history[-1]["created_by"]


def test_base_without_history_is_padded_so_history_still_matches_diff_ids() -> None:
    _, config = compose(base_image(config_extra={"history": []}))
    non_empty = [entry for entry in config["history"] if not entry.get("empty_layer")]
    assert len(non_empty) == 2


def test_settings_override_base_and_env_keeps_order() -> None:
    settings = ContainerSettings(
        entrypoint=["/app/run"],
        env={"LANG": "C.UTF-8", "PORT": "8080"},
        exposed_ports=["8080", "9000/udp"],
        working_dir="/app",
        user="0",
        labels={"team": "blue"},
    )
    _, config = compose(base_image(), settings)
    container = config["config"]
    assert container["Entrypoint"] == ["/app/run"]
    assert "Cmd" not in container  # the base's /bin/sh must not become our app's argument
    assert container["Env"] == ["PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PORT=8080"]
    assert container["ExposedPorts"] == {"8080/tcp": {}, "9000/udp": {}}
    assert (container["WorkingDir"], container["User"]) == ("/app", "0")
    assert container["Labels"]["team"] == "blue"


def test_unset_settings_keep_the_base_values() -> None:
    _, config = compose(base_image())
    assert config["config"]["Cmd"] == ["/bin/sh"]
    assert config["config"]["User"] == "1000"
    assert config["architecture"] == "amd64"


def test_created_is_fixed_and_same_inputs_give_the_same_bytes() -> None:
    first = compose_image(base_image(), [NEW_LAYER], ContainerSettings(cmd=["x"]), METADATA)
    second = compose_image(base_image(), [NEW_LAYER], ContainerSettings(cmd=["x"]), METADATA)
    assert first.manifest_bytes == second.manifest_bytes
    assert first.digest == second.digest == sha256_digest(first.manifest_bytes)
    assert json.loads(first.config_bytes)["created"] == FIXED_CREATED
    other = compose_image(base_image(), [NEW_LAYER], ContainerSettings(cmd=["y"]), METADATA)
    assert other.digest != first.digest


def test_config_descriptor_matches_config_bytes_and_size_counts_everything() -> None:
    image = compose_image(base_image(), [NEW_LAYER], ContainerSettings(), METADATA)
    assert image.config.digest == sha256_digest(image.config_bytes)
    expected = len(image.manifest_bytes) + len(image.config_bytes) + 99 + NEW_LAYER.size
    assert image.compressed_size == expected


def test_env_merge_replaces_in_place_and_appends_new() -> None:
    assert merge_env(["A=1", "B=2"], {"B": "3", "C": "4"}) == ["A=1", "B=3", "C=4"]


@pytest.mark.parametrize("bad", ["0", "65536", "http", "80/sctp", ""])
def test_bad_ports_are_refused_with_a_user_error(bad: str) -> None:
    with pytest.raises(ImageError) as caught:
        normalise_port(bad)
    assert caught.value.code == "build:user:invalid-port"


def test_base_whose_config_does_not_match_its_layers_is_refused() -> None:
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps(
        {"mediaType": OCI_MANIFEST, "layers": [{"digest": BASE_LAYER, "size": 1}]}
    ).encode()
    with pytest.raises(ImageError, match="diff_ids"):
        parse_base("x/y:1", sha256_digest(manifest), manifest, config)


def test_base_that_is_not_json_is_refused() -> None:
    with pytest.raises(ImageError, match="not valid JSON"):
        parse_base("x/y:1", "sha256:" + "0" * 64, b"<html>", b"{}")


ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
INDEX = {
    "manifests": [
        {"digest": "sha256:" + "a" * 64, "size": 1, "platform": ARM64},
        {
            "digest": "sha256:" + "b" * 64,
            "size": 1,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        },
        {
            "digest": "sha256:" + "c" * 64,
            "size": 1,
            "platform": {"os": "linux", "architecture": "amd64"},
        },
    ]
}


def test_platform_selection_picks_the_default_amd64_entry() -> None:
    assert select_platform(INDEX, Platform()).digest == "sha256:" + "c" * 64


def test_platform_selection_matches_arm64_with_or_without_variant() -> None:
    assert select_platform(INDEX, Platform.parse("linux/arm64")).digest == "sha256:" + "a" * 64
    assert select_platform(INDEX, Platform.parse("linux/arm64/v8")).digest == "sha256:" + "a" * 64


def test_missing_platform_names_what_the_index_offers_and_skips_attestations() -> None:
    with pytest.raises(ImageError) as caught:
        select_platform(INDEX, Platform.parse("linux/s390x"))
    assert caught.value.code == "build:user:platform-unavailable"
    assert "linux/arm64/v8, linux/amd64" in caught.value.message
    assert "unknown" not in caught.value.message


def test_platform_text_must_be_os_slash_arch() -> None:
    with pytest.raises(ImageError) as caught:
        Platform.parse("amd64")
    assert caught.value.code == "build:user:invalid-platform"
