"""A tiny busybox base image made from Debian's busybox-static and pushed to a registry.

`make run` seeds its local registry with it (and a `demo-busybox` build environment), so the
demo builds images end to end on a machine that cannot reach Docker Hub. No Django here.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path

from b2i.oci.image import OCI_CONFIG, OCI_MANIFEST
from b2i.oci.layers import LayerBlob, LayerEntry, file_entry, symlink_entry, write_layer
from b2i.oci.registry import RegistryClient

BUSYBOX = Path("/bin/busybox")
APPLETS = ("cat", "echo", "env", "httpd", "ls", "sh", "sleep", "wget")
FIXED_TIME = "1970-01-01T00:00:01Z"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def busybox_entries(busybox: Path = BUSYBOX) -> list[LayerEntry]:
    """List /bin/busybox and its applet links, the whole root file system of the base."""
    links = [symlink_entry(f"/bin/{applet}", "busybox") for applet in APPLETS]
    return [file_entry("/bin/busybox", busybox, executable=True), *links]


def base_config(layer: LayerBlob) -> bytes:
    """Render the image config of a one-layer busybox base (canonical JSON, fixed times)."""
    config = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": FIXED_TIME,
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created": FIXED_TIME, "created_by": "b2i demo base: busybox-static"}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def base_manifest(layer: LayerBlob, config: bytes) -> bytes:
    """Render the OCI manifest naming the config and the single layer."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}],
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_busybox_base(
    registry_host: str,
    repository: str,
    tag: str,
    *,
    scheme: str = "http",
    allowed_networks: Sequence[str] = (),
    busybox: Path = BUSYBOX,
) -> str:
    """Build the busybox base and push it as REPOSITORY:TAG; return the manifest digest."""
    with tempfile.TemporaryDirectory() as tmp:
        layer = write_layer(busybox_entries(busybox), Path(tmp))
        config = base_config(layer)
        with RegistryClient(
            registry_host, scheme=scheme, allowed_networks=allowed_networks
        ) as client:
            if client.blob_exists(repository, layer.digest) is None:
                client.upload_blob(
                    repository, layer.digest, layer.size, lambda: layer.path.open("rb")
                )
            client.upload_blob(
                repository, digest_of(config), len(config), lambda: io.BytesIO(config)
            )
            return client.put_manifest(repository, tag, base_manifest(layer, config), OCI_MANIFEST)
