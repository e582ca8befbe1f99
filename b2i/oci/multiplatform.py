"""Multi-platform builds: one image per platform of a base index, pushed under one image index.

JVM artifacts (JARs, WARs) are architecture-independent, so `--platform all` puts the same
artifact layers on every linux platform a base index lists (attestation entries and other
operating systems skipped) and pushes an index naming each platform's manifest. The artifact
layers are written once and uploaded once: the second platform finds them already present.

    bases = resolve_bases(client, "library/eclipse-temurin", "17-jre", name)
    images = [compose_image(base, ...) for base in bases]
    report = push_platform_images(client, "team/app", ["v1"], list(zip(bases, images)), ...)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from b2i.oci.digest_cache import DigestCache
from b2i.oci.events import EventSink, ignore_event
from b2i.oci.image import (
    INDEX_MEDIA_TYPES,
    BaseImage,
    ComposedImage,
    Descriptor,
    ImageError,
    Platform,
    canonical_json,
    is_attestation,
    sha256_digest,
)
from b2i.oci.push import BaseSource, ImagePusher, PushReport, get_manifest, resolve_base
from b2i.oci.registry import RegistryClient

ALL_PLATFORMS = "all"
DEFAULT_PLATFORM = Platform("linux", "amd64")


def index_platforms(index: Mapping[str, Any]) -> list[tuple[Descriptor, Platform]]:
    """Return the linux image entries of an index with their platforms, in index order."""
    found: list[tuple[Descriptor, Platform]] = []
    for item in index.get("manifests") or []:
        entry = Descriptor.from_json(item)
        platform = entry.platform or {}
        if is_attestation(entry) or platform.get("os") != "linux":
            continue
        architecture = str(platform.get("architecture") or "")
        if architecture:
            found.append(
                (entry, Platform("linux", architecture, str(platform.get("variant") or "")))
            )
    return found


def resolve_bases(
    client: RegistryClient,
    repository: str,
    reference: str,
    name: str,
    cache: DigestCache | None = None,
) -> list[BaseImage]:
    """Resolve the base for every linux platform of its index (one image if it is no index).

    CACHE serves what is asked for by digest (see push.resolve_base)."""
    manifest = get_manifest(client, repository, reference, cache)
    if manifest.media_type not in INDEX_MEDIA_TYPES:
        return [resolve_base(client, repository, manifest.digest, name, DEFAULT_PLATFORM, cache)]
    entries = index_platforms(manifest.json())
    if not entries:
        raise ImageError(
            f"the base image {name} lists no linux platform; choose another base",
            code="build:user:platform-unavailable",
        )
    return [
        resolve_base(client, repository, entry.digest, name, platform, cache)
        for entry, platform in entries
    ]


def base_platform(base: BaseImage) -> Platform:
    """Return the platform a resolved base's config declares."""
    config = base.config
    return Platform(
        str(config.get("os") or "linux"),
        str(config.get("architecture") or "amd64"),
        str(config.get("variant") or ""),
    )


def compose_index(images: Sequence[tuple[BaseImage, ComposedImage]]) -> tuple[bytes, str]:
    """Return the image index (bytes, media type) naming each image with its base's platform."""
    if not images:
        raise ValueError("an index needs at least one image")
    family = images[0][0].family
    media_type = family.index
    manifests = []
    for base, image in images:
        platform = base_platform(base)
        described: dict[str, Any] = {"os": platform.os, "architecture": platform.architecture}
        if platform.variant:
            described["variant"] = platform.variant
        manifests.append({
            "mediaType": image.media_type,
            "digest": image.digest,
            "size": len(image.manifest_bytes),
            "platform": described,
        })  # fmt: skip
    # The index keeps the base's media-type family (OCI index or Docker manifest list).
    index = {"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}
    return canonical_json(index), media_type


def add_report(total: PushReport, part: PushReport) -> None:
    """Add one platform image's push counts to the total."""
    for name in (
        "pushed_blobs", "pushed_bytes", "reused_blobs", "reused_bytes", "mounted_blobs",
        "layers_pushed", "layers_reused", "layer_bytes_pushed", "layer_bytes_reused",
    ):  # fmt: skip
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.layer_digests_pushed.extend(part.layer_digests_pushed)


def push_platform_images(
    target: RegistryClient,
    repository: str,
    tags: Sequence[str],
    images: Sequence[tuple[BaseImage, ComposedImage]],
    *,
    local_blobs: Mapping[str, Path],
    base: BaseSource | None = None,
    on_event: EventSink = ignore_event,
    checkpoint: Callable[[], None] = lambda: None,
) -> PushReport:
    """Push each image by digest, then the index under TAGS; return the summed report."""
    if not tags:
        raise ValueError("push needs at least one tag")
    total = PushReport()
    for _, image in images:
        pusher = ImagePusher(target, repository, local_blobs, base, on_event, checkpoint)
        add_report(total, pusher.push(image, [image.digest]))
    body, media_type = compose_index(images)
    checkpoint()
    for tag in tags:
        target.put_manifest(repository, tag, body, media_type)  # checks the stored digest
    total.digest, total.tags = sha256_digest(body), tuple(tags)
    return total
