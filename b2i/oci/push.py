"""Read a base image from its registry (`resolve_base`); push a composed image (`push_image`).

Push order: layers first, then the config, the manifest last, then extra tags.

For each blob the cheapest way wins: HEAD on the target (already there: a re-push of the same
build uploads no layer bytes), else new layers are uploaded from their file on disk. Base layers
go through `transfer.ensure_blob`: HEAD, then a cross-repository mount when base and target
share a registry (registry 2.8 answers 202 when it cannot mount, a token without pull on the
source gives 401: both fall back), else streamed from the source registry straight into the
target, never via disk. Bodies are reopened on every retry, because an upload restarts whole.

The manifest goes last so a reader never sees a manifest whose blobs are missing; a registry
refuses such a manifest anyway (MANIFEST_BLOB_UNKNOWN). `checkpoint` is called before every
blob and before every read of a body being uploaded (1 MiB at a time), so a cancelled build
stops within a megabyte, even in the middle of a big layer's upload to a slow registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2i.oci.digest_cache import DigestCache
from b2i.oci.early_upload import EarlyUpload
from b2i.oci.events import Event, EventSink, ignore_event
from b2i.oci.image import (
    INDEX_MEDIA_TYPES,
    BaseImage,
    ComposedImage,
    Descriptor,
    ImageError,
    Platform,
    parse_base,
    select_platform,
)
from b2i.oci.registry import Manifest, RegistryClient
from b2i.oci.transfer import ensure_blob
from b2i.oci.transport import CheckpointedBody, ReadableBody

PUSH_STEP = "push"
# Missing local blobs (and the config) up to this many bytes in all are uploaded together, in
# parallel: a rebuild's small application layer and config then cost one upload's round trips.
# Bigger uploads stay one at a time, so a cancel is honoured between them.
SMALL_UPLOADS = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024


def resolve_base(
    client: RegistryClient,
    repository: str,
    reference: str,
    name: str,
    platform: Platform,
    cache: DigestCache | None = None,
) -> BaseImage:
    """Fetch the base NAME (tag or digest REFERENCE) for PLATFORM, pinned by manifest digest.

    With CACHE, what is asked for by digest (a platform's manifest, the config) is read from
    disk when known there; a tag is always asked of the registry."""
    manifest = get_manifest(client, repository, reference, cache)
    if manifest.media_type in INDEX_MEDIA_TYPES:
        entry = select_platform(manifest.json(), platform)
        manifest = get_manifest(client, repository, entry.digest, cache)
    parsed = manifest.json()
    config = parsed.get("config")
    if not isinstance(config, dict):
        raise ImageError(f"base {name} has no config descriptor")
    descriptor = Descriptor.from_json(config)
    if descriptor.size > MAX_CONFIG_BYTES:
        raise ImageError(f"base {name} has a config of {descriptor.size} bytes; too large")
    config_bytes = _config_bytes(client, repository, descriptor, cache)
    base = parse_base(name, manifest.digest, manifest.content, config_bytes)
    check_base_platform(base, platform)
    return base


def get_manifest(
    client: RegistryClient, repository: str, reference: str, cache: DigestCache | None
) -> Manifest:
    """Fetch a manifest; one asked for by digest comes from CACHE when it is there.

    A tag is always asked (it moves); what it names is kept under its digest all the same."""
    by_digest = reference.startswith("sha256:")
    if cache is not None and by_digest and (kept := cache.get(reference)) is not None:
        return Manifest(content=kept[1], media_type=kept[0], digest=reference)
    manifest = client.get_manifest(repository, reference)
    if cache is not None:
        cache.put(manifest.digest, manifest.media_type, manifest.content)
    return manifest


def _config_bytes(
    client: RegistryClient, repository: str, descriptor: Descriptor, cache: DigestCache | None
) -> bytes:
    if cache is not None and (kept := cache.get(descriptor.digest)) is not None:
        return kept[1]
    with client.open_blob(repository, descriptor.digest) as blob:
        config_bytes = blob.read()  # the stream checked it against the digest
    if cache is not None:
        cache.put(descriptor.digest, descriptor.media_type, config_bytes)
    return config_bytes


def check_base_platform(base: BaseImage, platform: Platform) -> None:
    """Refuse a single-platform base whose config names another OS/architecture."""
    found = Platform(
        str(base.config.get("os") or platform.os),
        str(base.config.get("architecture") or platform.architecture),
    )
    if (found.os, found.architecture) != (platform.os, platform.architecture):
        raise ImageError(
            f"the base image {base.name} is {found}, not {platform}; "
            "choose a base built for the target platform",
            code="build:user:platform-unavailable",
        )


@dataclass(frozen=True)
class BaseSource:
    """Where the base image's layers can be read: a client for its registry and its repository."""

    client: RegistryClient
    repository: str


@dataclass
class PushReport:
    """What a push did: the manifest digest and the bytes uploaded vs reused."""

    digest: str = ""
    tags: tuple[str, ...] = ()
    pushed_blobs: int = 0
    pushed_bytes: int = 0
    reused_blobs: int = 0
    reused_bytes: int = 0
    mounted_blobs: int = 0
    # The same counts for the layers alone (without the config blob).
    layers_pushed: int = 0
    layers_reused: int = 0
    layer_bytes_pushed: int = 0
    layer_bytes_reused: int = 0
    layer_digests_pushed: list[str] = field(default_factory=list)

    def count_pushed(self, descriptor: Descriptor) -> None:
        """Record an uploaded blob."""
        self.pushed_blobs += 1
        self.pushed_bytes += descriptor.size
        self.layer_digests_pushed.append(descriptor.digest)

    def snapshot_layers(self) -> None:
        """Record the counts so far as the layers' counts (called before the config)."""
        self.layers_pushed, self.layer_bytes_pushed = self.pushed_blobs, self.pushed_bytes
        self.layers_reused, self.layer_bytes_reused = self.reused_blobs, self.reused_bytes

    def count_reused(self, descriptor: Descriptor, *, mounted: bool = False) -> None:
        """Record a blob the target already had (or got by mount)."""
        self.reused_blobs += 1
        self.reused_bytes += descriptor.size
        self.mounted_blobs += int(mounted)


@dataclass
class ImagePusher:
    """Pushes one composed image to one repository of a target registry."""

    target: RegistryClient
    repository: str
    local_blobs: Mapping[str, Path]
    base: BaseSource | None = None
    on_event: EventSink = ignore_event
    checkpoint: Callable[[], None] = lambda: None
    report: PushReport = field(default_factory=PushReport)
    # Digests the target already has, from one round of concurrent HEADs before any upload.
    present: set[str] = field(default_factory=set)
    checked: bool = False  # whether `present` is definitive (absent digests need no HEAD)
    # Layers streamed to the target while they were written (see early_upload.py).
    early: Mapping[str, EarlyUpload] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)  # of those, the ones the target now has

    def push(self, image: ComposedImage, tags: Sequence[str]) -> PushReport:
        """Push layers, config, then the manifest under each tag; return the report."""
        if not tags:
            raise ValueError("push needs at least one tag")
        self.settled = self.settle_early_uploads(image)
        self.present = self.find_present(
            [blob for blob in (*image.layers, image.config) if blob.digest not in self.settled]
        )
        together = self.small_uploads(image)
        for layer in image.layers:
            if layer.digest not in together and layer.digest not in self.settled:
                self.checkpoint()
                self.ensure_layer(layer)
        self.checkpoint()
        self.upload_together(image, together)
        digest = ""
        for tag in tags:
            digest = self.target.put_manifest(
                self.repository, tag, image.manifest_bytes, image.media_type
            )
        self.report.digest, self.report.tags = digest, tuple(tags)
        return self.report

    def settle_early_uploads(self, image: ComposedImage) -> set[str]:
        """Wait for the layers uploaded while written; return the digests the target now has.

        A failed early upload is left to the usual path (HEAD, then a whole upload)."""
        settled: set[str] = set()
        for layer in image.layers:
            upload = self.early.get(layer.digest)
            if upload is None or upload.wait() == "failed":
                continue
            settled.add(layer.digest)
            if upload.outcome == "uploaded":
                self.report.count_pushed(layer)
                written = "while the layer was written"
                self.on_event(
                    Event("blob-pushed", PUSH_STEP, written, bytes=layer.size, digest=layer.digest)
                )
            else:  # the target had it: the bytes sent before we knew were spent for nothing
                self.report.count_reused(layer)
                sent = f"{upload.bytes_sent} bytes sent while writing, then cancelled"
                self.on_event(
                    Event("blob-reused", PUSH_STEP, sent, bytes=layer.size, digest=layer.digest)
                )
        return settled

    def find_present(self, blobs: Iterable[Descriptor]) -> set[str]:
        """Return the digests among BLOBS that the target has, asking with concurrent HEADs."""
        # A re-push is then one round trip instead of one per blob.
        digests = list(dict.fromkeys(blob.digest for blob in blobs))
        if len(digests) <= 1:
            return set()
        self.checked = True
        # The client reports retries as events; sinks may write to a database, so the threads
        # only collect them and this thread replays them afterwards, in order of arrival.
        sizes = self._concurrently(lambda d: self.target.blob_exists(self.repository, d), digests)
        return {digest for digest, size in zip(digests, sizes, strict=True) if size is not None}

    def _concurrently(self, work: Callable[[str], Any], digests: list[str]) -> list[Any]:
        # The client reports uploads and retries as events, and sinks may write to a database:
        # the threads only collect them; this thread replays them afterwards, in arrival order.
        sink, collected = self.target.on_event, list[Event]()
        self.target.on_event = collected.append
        try:
            with ThreadPoolExecutor(max_workers=min(8, len(digests))) as pool:
                return list(pool.map(work, digests))
        finally:
            self.target.on_event = sink
            for event in collected:
                sink(event)

    def small_uploads(self, image: ComposedImage) -> dict[str, Descriptor]:
        """Return the missing local layers and config to upload together (small in total)."""
        if not self.checked:
            return {}
        done = self.present | self.settled
        candidates = [
            layer for layer in image.layers
            if layer.digest in self.local_blobs and layer.digest not in done
        ]  # fmt: skip
        if image.config.digest not in self.present:
            candidates.append(image.config)
        if len(candidates) < 2 or sum(blob.size for blob in candidates) > SMALL_UPLOADS:
            return {}
        return {blob.digest: blob for blob in candidates}

    def upload_together(self, image: ComposedImage, together: Mapping[str, Descriptor]) -> None:
        """Upload TOGETHER in parallel; count layers first, then the config (as one by one)."""
        bodies = {d: _opener(self.local_blobs.get(d), image.config_bytes) for d in together}

        def upload(digest: str) -> None:
            blob = together[digest]
            self.target.upload_blob(self.repository, digest, blob.size, bodies[digest])

        if together:
            self._concurrently(upload, list(together))
        for layer in image.layers:
            if layer.digest in together:
                self.report.count_pushed(layer)
        self.report.snapshot_layers()
        if image.config.digest in together:
            self.report.count_pushed(image.config)
        else:
            self.ensure_bytes(image.config, image.config_bytes)

    def ensure_layer(self, layer: Descriptor) -> None:
        """Make sure the target has LAYER: skip, mount, or upload it."""
        if layer.digest in self.present:
            self._report_present(layer)
            return
        local = self.local_blobs.get(layer.digest)
        if local is not None:
            if not self._already_there(layer):
                self._upload(layer, lambda: local.open("rb"))
            return
        if self.base is None:
            raise ValueError(f"no source for layer {layer.digest}")
        outcome = ensure_blob(
            self.target, self.repository, layer, source=self.base.client,
            source_repo=self.base.repository, checkpoint=self.checkpoint,
        )  # fmt: skip
        if outcome == "uploaded":
            self.report.count_pushed(layer)
        else:
            self.report.count_reused(layer, mounted=outcome == "mounted")

    def ensure_bytes(self, descriptor: Descriptor, data: bytes) -> None:
        """Make sure the target has a small in-memory blob (the config)."""
        if self._already_there(descriptor):
            return
        self._upload(descriptor, lambda: _BytesBody(data))

    def _already_there(self, descriptor: Descriptor) -> bool:
        if descriptor.digest not in self.present and (
            self.checked or self.target.blob_exists(self.repository, descriptor.digest) is None
        ):
            return False
        self._report_present(descriptor)
        return True

    def _report_present(self, descriptor: Descriptor) -> None:
        self.report.count_reused(descriptor)
        self.on_event(
            Event("blob-reused", step=PUSH_STEP, bytes=descriptor.size, digest=descriptor.digest)
        )

    def _upload(self, descriptor: Descriptor, opener: Callable[[], ReadableBody]) -> None:
        # The client reports the upload itself (a `blob-pushed` event).
        def checked() -> ReadableBody:
            return CheckpointedBody(opener(), self.checkpoint)

        self.target.upload_blob(self.repository, descriptor.digest, descriptor.size, checked)
        self.report.count_pushed(descriptor)


def _opener(path: Path | None, data: bytes) -> Callable[[], ReadableBody]:
    """Return a body opener: the file at PATH, else DATA in memory (fresh on every attempt)."""
    if path is not None:
        return lambda: path.open("rb")
    return lambda: _BytesBody(data)


class _BytesBody:
    """Bytes readable like a file (a fresh one per upload attempt)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._offset = 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        piece = bytes(self._data[self._offset : end])
        self._offset += len(piece)
        return piece

    def close(self) -> None:
        self._data.release()


def push_image(
    target: RegistryClient,
    repository: str,
    tags: Sequence[str],
    image: ComposedImage,
    *,
    local_blobs: Mapping[str, Path],
    base: BaseSource | None = None,
    on_event: EventSink = ignore_event,
    checkpoint: Callable[[], None] = lambda: None,
    early: Mapping[str, EarlyUpload] | None = None,
) -> PushReport:
    """Push IMAGE to TARGET/REPOSITORY under TAGS; layers from LOCAL_BLOBS or the BASE source.

    EARLY: layers already being uploaded while they were written, by digest."""
    pusher = ImagePusher(
        target, repository, local_blobs, base, on_event, checkpoint, early=early or {}
    )
    return pusher.push(image, tags)
