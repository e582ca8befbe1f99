"""The engine's write-layers step: plan the artifact's layers, write them (or take them from the
layer cache) and, for big new layers, stream them to the target while they are written.

Runs in a worker thread of `b2i.engine` while the base is resolved; nothing here emits
events directly (sinks may write to a database): the early uploads' client collects its events
and the push replays them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from b2i.oci.early_upload import EarlyUpload
from b2i.oci.events import Event, EventSink
from b2i.oci.image import NewLayer
from b2i.oci.layer_cache import LayerCache, Watch, write_layers_cached
from b2i.oci.layers import LayerBlob, LayerEntry, LayerWatcher
from b2i.oci.registry import RegistryClient
from b2i.packaging.archives import SafeArchive
from b2i.packaging.environments import BuildEnvironment, environment_warnings
from b2i.packaging.inspection import Inspection, complete_class_scan
from b2i.packaging.layering import plan_layers, planned_archive, run_settings

if TYPE_CHECKING:
    from b2i.engine import BuildRequest

# Layers with fewer input bytes are written in a few milliseconds: the push uploads them
# (together with the config) faster than a session of their own would.
EARLY_UPLOAD_FROM = 8 * 1024 * 1024


@dataclass(frozen=True)
class WrittenLayers:
    """The artifact's layers on disk, their history lines and the run settings they need."""

    blobs: tuple[LayerBlob, ...]
    created_by: tuple[str, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    workdir: str | None
    cached: tuple[bool, ...] = ()  # per layer: taken from the layer cache
    # The inspection completed with the class-file versions the writer read (None: unchanged),
    # and the warnings those versions add.
    inspection: Inspection | None = None
    environment_warnings: tuple[str, ...] = ()
    # The archive the layers' members were read from (None: the file went in whole): the
    # member digests it computed for the layer cache serve the SBOM's nested-jar hashes.
    archive: SafeArchive | None = None

    def new_layers(self) -> list[NewLayer]:
        """Return the layers as composition inputs."""
        return [
            NewLayer(blob.digest, blob.diff_id, blob.size, line)
            for blob, line in zip(self.blobs, self.created_by, strict=True)
        ]


class EarlyUploads:
    """The layers of one build streamed to its target while written (see oci/early_upload.py).

    One client of their own (made on first use, in the writing thread) whose events are held
    until the push replays them in the build's thread."""

    def __init__(self, make_client: Callable[[EventSink], RegistryClient], repository: str):
        self._make_client = make_client
        self._repository = repository
        self._client: RegistryClient | None = None
        self._uploads: list[EarlyUpload] = []
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def watch(self, entries: Sequence[LayerEntry]) -> Watch:
        """Return what makes the watcher of a layer of ENTRIES, if it is big enough to pay."""
        if sum(entry.size for entry in entries) < EARLY_UPLOAD_FROM:
            return lambda: None
        return self._start

    def _start(self) -> LayerWatcher:
        with self._lock:
            if self._client is None:
                self._client = self._make_client(self._events.append)
            upload = EarlyUpload(self._client, self._repository)
            self._uploads.append(upload)
        return upload

    def by_digest(self) -> dict[str, EarlyUpload]:
        """Return the uploads of finished layers by digest (the push settles them)."""
        return {upload.digest: upload for upload in self._uploads if upload.digest}

    def replay_events(self, sink: EventSink) -> None:
        """Hand the events held so far (retries of the early uploads) to SINK, in order."""
        with self._lock:
            held, self._events[:] = list(self._events), []
        for event in held:
            sink(event)

    def close(self) -> None:
        """Stop what is still running (a failed or cancelled build) and close the client."""
        for upload in self._uploads:
            upload.abandon()
        if self._client is not None:
            self._client.close()


def open_layer_cache(directory: Path | None) -> LayerCache | None:
    """Return the layer cache in DIRECTORY; None when there is none or it cannot be created."""
    if directory is None:
        return None
    try:
        return LayerCache(directory)
    except OSError:
        return None  # e.g. a read-only home: build without the cache rather than fail


def write_artifact_layers(
    request: BuildRequest,
    inspection: Inspection,
    environment: BuildEnvironment,
    workdir: Path,
    early: EarlyUploads | None = None,
    artifact_sha256: Callable[[], str] | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> WrittenLayers:
    """Plan the artifact's layers (one, unless `exploded`) and write them reproducibly.

    Raises LayerError when the artifact cannot be read as planned, and what CHECKPOINT raises
    (a cancel) while they are written."""
    plans = plan_layers(
        request.artifact, inspection, environment,
        context=request.context, exploded=request.exploded, artifact_sha256=artifact_sha256,
    )  # fmt: skip
    cache = open_layer_cache(request.layer_cache)
    # Without a cache there is no telling new layers from known ones: none is sent early.
    streams = early is not None and cache is not None
    watches = [early.watch(plan.entries) for plan in plans] if early and streams else []
    layers = [plan.entries for plan in plans]
    written = write_layers_cached(cache, layers, workdir, watches=watches, checkpoint=checkpoint)
    entrypoint, cmd, plan_workdir = run_settings(plans)
    lines = tuple(f"b2i: {plan.name}: {plan.description or 'layer'}" for plan in plans)
    blobs = tuple(blob for blob, _ in written)
    hits = tuple(hit for _, hit in written)
    archive = planned_archive(plans)
    completed = _complete_class_scan(request, inspection, archive)
    new_warnings: tuple[str, ...] = ()
    if completed is not None:
        before = set(environment_warnings(inspection, environment))
        after = environment_warnings(completed, environment)
        new_warnings = tuple(warning for warning in after if warning not in before)
    return WrittenLayers(
        blobs, lines, entrypoint, cmd, plan_workdir, hits, completed, new_warnings, archive
    )


def _complete_class_scan(
    request: BuildRequest, inspection: Inspection, archive: SafeArchive | None
) -> Inspection | None:
    if inspection.jar is None or inspection.jar.classes_scanned:
        return None
    if archive is not None:  # exploded: the writer noted every class it read
        return complete_class_scan(inspection, archive)
    with SafeArchive(request.artifact) as packaged:  # the JAR went in as one file
        return complete_class_scan(inspection, packaged)
