"""A build's supply-chain work (BuildRequest.supply_chain): SBOM, provenance, referrers.

The reading runs beside the build, so that it costs the build little: the artifact's
libraries (or a Go binary's modules) are read in a thread of their own as soon as the
inspection is done, the base's Debian packages as soon as the base is resolved (from the
dpkg cache, else streamed from its layers). Once the image is pushed, the two documents are
made and pushed as referrers of the image's manifest (b2i.oci.referrers).

Loaded by the engine only for a build that asks for it: the readers and cyclonedx-python-lib
would cost every `b2i` command start tens of milliseconds.
"""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from b2i.oci.errors import ManifestUnknownError
from b2i.oci.image import BaseImage, ComposedImage
from b2i.oci.push import PushReport
from b2i.oci.references import Reference
from b2i.oci.referrers import Artifact, Subject, push_referrers, upload_document_blobs
from b2i.oci.registry import RegistryClient
from b2i.packaging.archives import SafeArchive
from b2i.packaging.inspection import Inspection
from b2i.sbom.cyclonedx import ImageSubject, SbomInputs, sbom_json
from b2i.sbom.dpkg import BaseLayer, OsPackages, Readable, dpkg_cache_in, os_packages
from b2i.sbom.gobuildinfo import GoBuildInfo, read_go_build_info
from b2i.sbom.maven import (
    ArchiveComponents,
    components_of_archive,
    stored_member_sha256,
    with_hashes,
)
from b2i.sbom.options import (
    PROVENANCE_ARTIFACT_TYPE,
    SBOM_ARTIFACT_TYPE,
    BuildFacts,
    SupplyChainOptions,
    SupplyChainResult,
)
from b2i.sbom.provenance import ProvenanceInputs, provenance_statement

Collected = tuple[ArchiveComponents | None, GoBuildInfo | None]
# The components of the last few JARs/WARs read, by (artifact sha-256, file name): a rerun of
# the same artifact reads nothing (keyed by content, so a changed file can never hit).
_RECENT: OrderedDict[tuple[str, str], ArchiveComponents] = OrderedDict()
_RECENT_KEPT = 8
_RECENT_LOCK = threading.Lock()
# The OS packages of the last few bases, by their layer digests (the dpkg cache on disk is
# keyed per layer; this spares a warm build reading and merging its files again).
_BASES: OrderedDict[tuple[str, ...], OsPackages] = OrderedDict()


def collect_artifact(path: Path, inspection: Inspection) -> Collected:
    """Return the Maven components of a JAR/WAR, or the build info of a Go binary."""
    if inspection.kind == "binary":
        return None, read_go_build_info(path) if inspection.binary is not None else None
    with SafeArchive(path) as archive:
        return components_of_archive(archive, inspection.filename or path.name), None


class SupplyChainWork:
    """The supply-chain part of one build; `close()` waits for (and ends) its threads."""

    def __init__(
        self, options: SupplyChainOptions, layer_cache: Path | None, started: float | None = None
    ) -> None:
        self.options = options
        self.layer_cache = layer_cache
        self.started = started if started is not None else time.time()
        self.pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="b2i-sbom")
        self.artifact: Future[Collected] | None = None
        self.base: Future[OsPackages] | None = None
        self.sbom: tuple[str, Future[tuple[str, set[str]]]] | None = None
        self._archive: SafeArchive | None = None  # the artifact, open for the nested hashes
        self._layer_archive: SafeArchive | None = None
        self._hashed: ArchiveComponents | None = None
        self._hashing = threading.Lock()
        self._key: tuple[str, str] | None = None  # in _RECENT

    def read_artifact(
        self, path: Path, inspection: Inspection, sha256: Callable[[], str] | None = None
    ) -> None:
        """Start reading the artifact's components (a stored nested jar's hash comes later).

        SHA256 gives the artifact's digest (computed beside): an artifact read by a recent
        build is not read again."""

        def collect() -> Collected:
            if inspection.kind == "binary":
                return collect_artifact(path, inspection)
            name = inspection.filename or path.name
            self._key = (sha256(), name) if sha256 is not None else None
            with _RECENT_LOCK:
                known = _RECENT.get(self._key) if self._key is not None else None
            if known is not None:
                return known, None
            self._archive = SafeArchive(path)
            return components_of_archive(self._archive, name, hash_stored=False), None

        self.artifact = self.pool.submit(collect)

    def share_layer_digests(self, archive: SafeArchive | None) -> None:
        """Take the nested jars' sha-256 from the member digests the layer writer computed
        (for its cache key) on ARCHIVE, rather than hashing the same bytes a second time."""
        self._layer_archive = archive

    def read_base(
        self, base: BaseImage, repository: str, new_client: Callable[[], RegistryClient]
    ) -> None:
        """Start reading the base's OS packages (layer by layer, cached by layer digest)."""
        layers = [BaseLayer(layer.digest, layer.media_type) for layer in base.layers]
        cache = dpkg_cache_in(self.layer_cache)

        def read() -> OsPackages:
            key = tuple(layer.digest for layer in layers)
            with _RECENT_LOCK:
                known = _BASES.get(key)
            if known is not None:
                return known
            with new_client() as client:
                found = os_packages(layers, _opener(client, repository), cache)
            _remember(_BASES, key, found)
            return found

        self.base = self.pool.submit(read)

    def finish(
        self,
        client: RegistryClient,
        target: Reference,
        report: PushReport,
        image: ComposedImage,
        bases: Sequence[BaseImage],
        inspection: Inspection,
        facts: BuildFacts,
    ) -> SupplyChainResult:
        """Make both documents and (unless told not to) push them as the image's referrers."""
        repository = f"{target.registry}/{target.repository}"
        prepared, uploaded = self.sbom, set[str]()
        if prepared is not None and prepared[0] == report.digest:
            sbom_text, uploaded = prepared[1].result()
        else:
            sbom_text = self._sbom_text(target, report.digest, image, inspection)
        provenance = provenance_statement(
            self._provenance_inputs(repository, report, bases[0], inspection, facts)
        )
        result = SupplyChainResult(_json(sbom_text), provenance)
        if not self.options.push_referrers:
            return result
        subject = _subject(client, target, report, image)
        documents = [
            Artifact(SBOM_ARTIFACT_TYPE, sbom_text.encode()),
            Artifact(PROVENANCE_ARTIFACT_TYPE, _canonical(provenance)),
        ]
        sbom, statement = push_referrers(client, target.repository, subject, documents, uploaded)
        return SupplyChainResult(
            result.sbom_document, provenance, sbom.digest, statement.digest, sbom.via
        )

    def prepare(
        self,
        target: Reference,
        image: ComposedImage,
        inspection: Inspection,
        new_client: Callable[[], RegistryClient],
    ) -> None:
        """Start making the SBOM of IMAGE now (its digest is known) and uploading its blob:
        both happen while the image is pushed, not after it."""

        def make() -> tuple[str, set[str]]:
            text = self._sbom_text(target, image.digest, image, inspection)
            if not self.options.push_referrers:
                return text, set()
            with new_client() as client:
                return text, upload_document_blobs(client, target.repository, [text.encode()])

        self.sbom = (image.digest, self.pool.submit(make))

    def _sbom_text(
        self, target: Reference, digest: str, image: ComposedImage, inspection: Inspection
    ) -> str:
        archive, go = self.artifact.result() if self.artifact is not None else (None, None)
        archive = self._with_nested_hashes(archive)
        return sbom_json(SbomInputs(
            subject=ImageSubject(f"{target.registry}/{target.repository}", digest),
            artifact_name=inspection.filename or "artifact",
            artifact_sha256=inspection.sha256, created=str(image_created(image)),
            archive=archive, go=go, os=self.base.result() if self.base is not None else None,
        ))  # fmt: skip

    def _provenance_inputs(
        self,
        repository: str,
        report: PushReport,
        base: BaseImage,
        inspection: Inspection,
        facts: BuildFacts,
    ) -> ProvenanceInputs:
        return ProvenanceInputs(
            image_repository=repository, image_digest=report.digest,
            builder_id=self.options.builder_id, invocation_id=self.options.invocation_id,
            artifact_name=inspection.filename or "artifact", artifact_sha256=inspection.sha256,
            base_reference=base.pinned_name, base_digest=base.digest,
            environment=facts.environment, settings=facts.settings, env_names=facts.env_names,
            started_on=_rfc3339(self.started), finished_on=_rfc3339(time.time()),
            tags=facts.tags, extra_settings=self.options.build_settings,
        )  # fmt: skip

    def _with_nested_hashes(self, found: ArchiveComponents | None) -> ArchiveComponents | None:
        if found is None:
            return None
        with self._hashing:  # once per build, whichever thread asks first
            if self._hashed is None:
                self._hashed = with_hashes(found, self._nested_sha256)
                if self._key is not None:
                    _remember(_RECENT, self._key, self._hashed)
            return self._hashed

    def _nested_sha256(self, info: zipfile.ZipInfo) -> str:
        # A stored member's raw bytes are the nested jar: the layer writer's digest is its own.
        assert self._archive is not None
        shared = self._layer_archive
        if shared is not None and _same_file(shared, self._archive):
            known = shared.known_raw_digest(info)
            if known is not None:
                return known.hex()
        return stored_member_sha256(self._archive, info)

    def close(self) -> None:
        """Stop: reads not started are dropped, those under way are waited for."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._archive is not None:
            self._archive.close()


def _remember(memo: OrderedDict[Any, Any], key: object, value: object) -> None:
    with _RECENT_LOCK:
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > _RECENT_KEPT:
            memo.popitem(last=False)


def _same_file(one: SafeArchive, other: SafeArchive) -> bool:
    return one.path == other.path and one.file_size == other.file_size


def _opener(
    client: RegistryClient, repository: str
) -> Callable[[str], AbstractContextManager[Readable]]:
    @contextmanager
    def open_layer(digest: str) -> Iterator[Readable]:
        with client.open_blob(repository, digest) as stream:
            yield stream

    return open_layer


def _subject(
    client: RegistryClient, target: Reference, report: PushReport, image: ComposedImage
) -> Subject:
    if report.digest == image.digest:
        return Subject(image.media_type, image.digest, len(image.manifest_bytes))
    info = client.head_manifest(target.repository, report.digest)  # an index of platforms
    if info is None:
        raise ManifestUnknownError(f"{target.repository}@{report.digest} is not in the registry")
    return Subject(info.media_type, info.digest, info.size)


def image_created(image: ComposedImage) -> object:
    """Return the image config's `created` time (fixed by the engine: reproducible)."""
    return json.loads(image.config_bytes).get("created", "1970-01-01T00:00:00Z")


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


def _canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
