"""Layers streamed to the registry while they are written: committed under their digest, stopped
when the registry already has the blob, and left to a whole upload when streaming fails."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx

from b2i.oci.early_upload import EarlyUpload
from b2i.oci.image import OCI_MANIFEST, ComposedImage, Descriptor
from b2i.oci.layers import LayerBlob, LayerEntry, bytes_entry, file_entry, write_layer
from b2i.oci.push import ImagePusher, PushReport
from b2i.oci.registry import RegistryClient
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)
MiB = 1024 * 1024


def client_for(host: str) -> RegistryClient:
    client = RegistryClient(
        host, scheme="http", allowed_networks=LOOPBACK, retries=2, retry_base_delay=0.001
    )
    client.retry.max_delay = 0.01
    return client


def big_entries(tmp_path: Path, seed: str) -> list[LayerEntry]:
    # Random bytes do not compress: the gzip file grows in many steps, as a real layer does.
    payload = tmp_path / f"payload-{seed}.bin"
    payload.write_bytes(os.urandom(12 * MiB) + seed.encode())
    return [file_entry("/app/payload.bin", payload), bytes_entry("/app/seed.txt", seed.encode())]


def stored_digest(registry: Registry, repository: str, digest: str) -> str:
    response = httpx.get(f"{registry.url}/v2/{repository}/blobs/{digest}")
    assert response.status_code == 200
    return "sha256:" + hashlib.sha256(response.content).hexdigest()


def test_a_layer_is_uploaded_while_written_and_committed_under_its_digest(
    registry: Registry, tmp_path: Path
) -> None:
    with client_for(registry.host) as client:
        upload = EarlyUpload(client, "early/fresh")
        blob = write_layer(big_entries(tmp_path, "fresh"), tmp_path / "out", watcher=upload)
        assert upload.wait() == "uploaded", upload.error
    assert upload.digest == blob.digest
    assert upload.bytes_sent == blob.size == blob.path.stat().st_size
    assert stored_digest(registry, "early/fresh", blob.digest) == blob.digest


def test_a_layer_the_registry_already_has_is_not_committed_again(
    registry: Registry, tmp_path: Path
) -> None:
    entries = big_entries(tmp_path, "known")
    first = write_layer(entries, tmp_path / "first")
    with client_for(registry.host) as client:
        client.upload_blob("early/known", first.digest, first.size, lambda: first.path.open("rb"))
        upload = EarlyUpload(client, "early/known")
        again = write_layer(entries, tmp_path / "again", watcher=upload)
        assert upload.wait() == "present"
    assert again.digest == first.digest
    assert upload.bytes_sent <= again.size
    assert stored_digest(registry, "early/known", again.digest) == again.digest


def test_a_failed_early_upload_leaves_the_layer_to_the_push(
    registry: Registry, tmp_path: Path
) -> None:
    plan = FaultPlan(script=["500"], only_methods=("PATCH",))
    with FaultyProxy(registry.url, plan) as proxy, client_for(proxy.host) as client:
        upload = EarlyUpload(client, "early/failed")
        blob = write_layer(big_entries(tmp_path, "failed"), tmp_path / "out", watcher=upload)
        assert upload.wait() == "failed"
        assert client.blob_exists("early/failed", blob.digest) is None
        report = push_layer(client, "early/failed", blob, upload)
    assert report.layers_pushed == 1 and report.layer_bytes_pushed == blob.size
    assert stored_digest(registry, "early/failed", blob.digest) == blob.digest


def test_the_push_counts_a_layer_uploaded_early_and_does_not_send_it_again(
    registry: Registry, tmp_path: Path
) -> None:
    with FaultyProxy(registry.url, FaultPlan()) as proxy, client_for(proxy.host) as client:
        upload = EarlyUpload(client, "early/counted")
        blob = write_layer(big_entries(tmp_path, "counted"), tmp_path / "out", watcher=upload)
        assert upload.wait() == "uploaded", upload.error
        sent_before_push = len(proxy.requests)
        report = push_layer(client, "early/counted", blob, upload)
        during_push = proxy.requests[sent_before_push:]
    assert report.layers_pushed == 1 and report.layer_bytes_pushed == blob.size
    # The push itself only put the config and the manifest: no request touched the layer.
    assert not any(blob.digest in path for _, path in during_push)


def push_layer(
    client: RegistryClient, repository: str, blob: LayerBlob, upload: EarlyUpload
) -> PushReport:
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}'
    config = config % blob.diff_id.encode()
    config_descriptor = Descriptor(
        "application/vnd.oci.image.config.v1+json",
        "sha256:" + hashlib.sha256(config).hexdigest(),
        len(config),
    )
    layer = Descriptor(blob.media_type, blob.digest, blob.size)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_descriptor.to_json(),
            "layers": [layer.to_json()],
        }
    ).encode()
    image = ComposedImage(manifest, OCI_MANIFEST, config, config_descriptor, (layer,), (layer,))
    pusher = ImagePusher(client, repository, {blob.digest: blob.path})
    pusher.early = {blob.digest: upload}
    return pusher.push(image, ["v1"])
