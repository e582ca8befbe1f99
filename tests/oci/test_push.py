"""Pushing composed images to real registries; skopeo and umoci read back what we push."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from b2i.oci.auth import Credentials
from b2i.oci.errors import OciError
from b2i.oci.events import Event
from b2i.oci.image import (
    BASE_DIGEST_LABEL,
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    BaseImage,
    ContainerSettings,
    ImageMetadata,
    NewLayer,
    Platform,
    compose_image,
)
from b2i.oci.layers import LayerBlob, bytes_entry, file_entry, write_layer
from b2i.oci.push import BaseSource, PushReport, push_image, resolve_base
from b2i.oci.registry import RegistryClient
from tests.fixtures import base_images
from tests.fixtures.registry import Registry, start_registry, token_auth
from tests.fixtures.run_image import ImageRunner, run_tool
from tests.fixtures.token_server import TokenIssuer, TokenServer, TokenUser

LOOPBACK = ["127.0.0.0/8"]
SCRIPT = b"#!/bin/sh\necho hello from b2i\n"


def client_for(
    registry: Registry, user: str | None = None, events: list[Event] | None = None
) -> RegistryClient:
    credentials = Credentials(user, registry.users[user]) if user else None
    return RegistryClient(
        registry.host,
        scheme="http",
        credentials=credentials,
        allowed_networks=LOOPBACK,
        retry_base_delay=0.05,
        on_event=events.append if events is not None else None,
    )


@pytest.fixture
def app_layer(tmp_path: Path) -> LayerBlob:
    entries = [
        bytes_entry("/app/hello.sh", SCRIPT, executable=True),
        bytes_entry("/app/data.txt", b"data\n"),
    ]
    return write_layer(entries, tmp_path / "layers")


SETTINGS = ContainerSettings(
    entrypoint=["/app/hello.sh"],
    env={"GREETING": "hi"},
    exposed_ports=["8080"],
    working_dir="/app",
)
METADATA = ImageMetadata(title="hello.sh", artifact_sha256="sha256:" + "a" * 64)


def fetch(client: RegistryClient, base: base_images.BaseImage, platform: str = "linux/amd64"):
    return resolve_base(client, base.repository, base.digest, base.tagged, Platform.parse(platform))


def build_and_push(
    client: RegistryClient,
    source: RegistryClient,
    base_fixture: base_images.BaseImage,
    layer: LayerBlob,
    repository: str,
    *,
    events: list[Event] | None = None,
) -> tuple[BaseImage, PushReport]:
    base = fetch(source, base_fixture)
    new = NewLayer(layer.digest, layer.diff_id, layer.size, "b2i: COPY hello.sh /app/")
    image = compose_image(base, [new], SETTINGS, METADATA)
    report = push_image(
        client,
        repository,
        ["v1"],
        image,
        local_blobs={layer.digest: layer.path},
        base=BaseSource(source, base_fixture.repository),
        on_event=(events.append if events is not None else lambda event: None),
    )
    assert report.digest == image.digest
    return base, report


def skopeo_inspect(reference: str, *extra: str, creds: str | None = None) -> dict:
    command = ["skopeo", "inspect", "--tls-verify=false", *extra]
    command += ["--creds", creds] if creds else []
    return json.loads(run_tool([*command, f"docker://{reference}"]))


def test_push_mounts_base_layers_and_third_party_tools_read_the_image(
    registry: Registry,
    busybox_base: base_images.BaseImage,
    app_layer: LayerBlob,
    image_runner: ImageRunner,
) -> None:
    events: list[Event] = []
    with client_for(registry, events=events) as client:
        base, report = build_and_push(
            client, client, busybox_base, app_layer, "app/push", events=events
        )
    assert report.mounted_blobs == 1
    assert report.layer_digests_pushed[0] == app_layer.digest
    assert report.pushed_blobs == 2  # our layer and the config; the base layer was mounted
    assert app_layer.size < report.pushed_bytes < app_layer.size + 4096
    assert any(e.kind == "blob-reused" and e.digest == base.layers[0].digest for e in events)
    raw = skopeo_inspect(f"{registry.host}/app/push:v1", "--raw")
    assert raw["mediaType"] == DOCKER_MANIFEST
    config = skopeo_inspect(f"{registry.host}/app/push@{report.digest}", "--config")
    assert config["config"]["Labels"][BASE_DIGEST_LABEL] == busybox_base.digest
    image = image_runner.pull(f"{registry.host}/app/push@{report.digest}")
    script = image.rootfs / "app" / "hello.sh"
    assert script.read_bytes() == SCRIPT
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert stat.S_IMODE((image.rootfs / "app" / "data.txt").stat().st_mode) == 0o644
    assert (image.rootfs / "bin" / "busybox").exists()
    assert image.args == ["/app/hello.sh"]
    assert image.env["GREETING"] == "hi"
    assert image.cwd == "/app"
    result = subprocess.run(
        ["chroot", str(image.rootfs), "/app/hello.sh"], capture_output=True, text=True, check=True
    )
    assert result.stdout == "hello from b2i\n"


def test_pushing_the_same_image_again_uploads_no_bytes(
    registry: Registry, busybox_base: base_images.BaseImage, app_layer: LayerBlob
) -> None:
    with client_for(registry) as client:
        _, first = build_and_push(client, client, busybox_base, app_layer, "app/again")
        _, second = build_and_push(client, client, busybox_base, app_layer, "app/again")
    assert first.pushed_bytes > 0
    assert (second.pushed_blobs, second.pushed_bytes) == (0, 0)
    assert second.reused_blobs == 3  # base layer, our layer, config
    assert second.digest == first.digest


def test_oci_index_base_gives_an_oci_image_for_the_chosen_platform(
    registry: Registry,
    busybox_multi_platform: base_images.BaseImage,
    app_layer: LayerBlob,
) -> None:
    with client_for(registry) as client:
        amd64 = fetch(client, busybox_multi_platform)
        arm64 = fetch(client, busybox_multi_platform, "linux/arm64")
        _, report = build_and_push(client, client, busybox_multi_platform, app_layer, "app/oci")
    assert amd64.config["architecture"] == "amd64"
    assert arm64.config["architecture"] == "arm64"
    assert amd64.digest != busybox_multi_platform.digest  # pinned to the platform manifest
    raw = skopeo_inspect(f"{registry.host}/app/oci@{report.digest}", "--raw")
    assert raw["mediaType"] == OCI_MANIFEST
    assert raw["annotations"][BASE_DIGEST_LABEL] == amd64.digest
    inspected = skopeo_inspect(f"{registry.host}/app/oci@{report.digest}")
    assert inspected["Architecture"] == "amd64"


def test_platform_missing_from_the_base_is_a_user_error(
    registry: Registry, busybox_multi_platform: base_images.BaseImage
) -> None:
    with client_for(registry) as client, pytest.raises(OciError) as caught:
        fetch(client, busybox_multi_platform, "linux/ppc64le")
    assert caught.value.code == "build:user:platform-unavailable"


def test_base_on_another_registry_is_streamed_into_the_target(
    registry: Registry,
    htpasswd_registry: Registry,
    busybox_base: base_images.BaseImage,
    app_layer: LayerBlob,
    image_runner: ImageRunner,
) -> None:
    with client_for(registry) as source, client_for(htpasswd_registry, "alice") as target:
        base, report = build_and_push(target, source, busybox_base, app_layer, "team/app")
    assert report.mounted_blobs == 0
    assert base.layers[0].digest in report.layer_digests_pushed
    alice = f"alice:{htpasswd_registry.users['alice']}"
    image = image_runner.pull(f"{htpasswd_registry.host}/team/app@{report.digest}", creds=alice)
    assert (image.rootfs / "bin" / "busybox").stat().st_size > 1_000_000


def test_pull_only_credentials_fail_clearly_and_push_nothing(
    token_registry: Registry, busybox_layer_file: base_images.LayerFile, tmp_path: Path,
    app_layer: LayerBlob,
) -> None:  # fmt: skip
    pusher = f"pusher:{token_registry.users['pusher']}"
    base_fixture = base_images.push_base_image(
        tmp_path, token_registry, "base/bb", "1", busybox_layer_file,
        base_images.BUSYBOX_SETTINGS, creds=pusher,
    )  # fmt: skip
    with client_for(token_registry, "reader") as reader, pytest.raises(OciError) as caught:
        build_and_push(reader, reader, base_fixture, app_layer, "denied/app")
    assert caught.value.code in ("registry:push-denied", "registry:auth-failed")
    assert "denied/app" in caught.value.message or "push" in caught.value.message
    with client_for(token_registry, "pusher") as pusher_client:
        assert pusher_client.blob_exists("denied/app", app_layer.digest) is None
        assert pusher_client.head_manifest("denied/app", "v1") is None


@pytest.fixture(scope="module")
def scoped_token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Token auth where `limited` may push anywhere but may not read base/private."""
    users = {
        "owner": TokenUser("owner-secret", {"*": ["pull", "push"]}),
        "limited": TokenUser("limited-secret", {"base/private": [], "*": ["pull", "push"]}),
    }
    server = TokenServer(TokenIssuer(service="scoped", issuer="scoped-issuer"), users).start()
    workdir = tmp_path_factory.mktemp("registry-scoped")
    passwords = {name: user.password for name, user in users.items()}
    reg = start_registry(workdir, token_auth(workdir, server), users=passwords, token_server=server)
    yield reg
    reg.process.stop()
    server.stop()


def test_mount_without_pull_on_the_source_falls_back_to_upload(
    scoped_token_registry: Registry,
    busybox_layer_file: base_images.LayerFile,
    app_layer: LayerBlob,
    tmp_path: Path,
) -> None:
    owner = f"owner:{scoped_token_registry.users['owner']}"
    base_fixture = base_images.push_base_image(
        tmp_path, scoped_token_registry, "base/private", "1", busybox_layer_file,
        base_images.BUSYBOX_SETTINGS, creds=owner,
    )  # fmt: skip
    with (
        client_for(scoped_token_registry, "owner") as source,
        client_for(scoped_token_registry, "limited") as target,
    ):
        base, report = build_and_push(target, source, base_fixture, app_layer, "limited/app")
        assert target.head_manifest("limited/app", "v1") is not None
    assert report.mounted_blobs == 0
    assert base.layers[0].digest in report.layer_digests_pushed


def test_cancel_during_a_big_layer_upload_stops_it_part_way(
    registry: Registry, busybox_base: base_images.BaseImage, tmp_path: Path
) -> None:
    class Stop(Exception):
        pass

    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(6 * 1024 * 1024))  # incompressible: a 6 MiB blob, sent alone
    big = write_layer([file_entry("/app/noise.bin", noise)], tmp_path / "layers")
    calls = []

    with client_for(registry) as client:
        base = fetch(client, busybox_base)
        new = NewLayer(big.digest, big.diff_id, big.size, "b2i: COPY")
        image = compose_image(base, [new], SETTINGS, METADATA)
        # Between blobs alone, a push calls the checkpoint at most once per blob and once
        # before the manifest: more calls than that come from inside an upload.
        between_blobs = len(image.layers) + 2

        def checkpoint() -> None:
            calls.append(1)
            if len(calls) > between_blobs:
                raise Stop

        with pytest.raises(Stop):
            push_image(
                client, "app/cut", ["v1"], image, local_blobs={big.digest: big.path},
                base=BaseSource(client, busybox_base.repository), checkpoint=checkpoint,
            )  # fmt: skip
        assert client.blob_exists("app/cut", big.digest) is None
    assert httpx.head(f"{registry.url}/v2/app/cut/manifests/v1").status_code == 404


def test_cancel_between_blobs_stops_before_the_manifest(
    registry: Registry, busybox_base: base_images.BaseImage, app_layer: LayerBlob
) -> None:
    class Stop(Exception):
        pass

    calls = []

    def checkpoint() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise Stop

    with client_for(registry) as client:
        base = fetch(client, busybox_base)
        new = NewLayer(app_layer.digest, app_layer.diff_id, app_layer.size, "b2i: COPY")
        image = compose_image(base, [new], SETTINGS, METADATA)
        with pytest.raises(Stop):
            push_image(
                client, "app/cancelled", ["v1"], image,
                local_blobs={app_layer.digest: app_layer.path},
                base=BaseSource(client, busybox_base.repository), checkpoint=checkpoint,
            )  # fmt: skip
        assert client.blob_exists("app/cancelled", app_layer.digest) is None
    answer = httpx.head(f"{registry.url}/v2/app/cancelled/manifests/v1")
    assert answer.status_code == 404
