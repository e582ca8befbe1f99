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
import time
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
from b2i.sbom.maven import ArchiveComponents, components_of_archive
from b2i.sbom.options import (
    PROVENANCE_ARTIFACT_TYPE,
    SBOM_ARTIFACT_TYPE,
    BuildFacts,
    SupplyChainOptions,
    SupplyChainResult,
)
from b2i.sbom.provenance import ProvenanceInputs, provenance_statement

Collected = tuple[ArchiveComponents | None, GoBuildInfo | None]


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

    def read_artifact(self, path: Path, inspection: Inspection) -> None:
        """Start reading the artifact's components."""
        self.artifact = self.pool.submit(collect_artifact, path, inspection)

    def read_base(
        self, base: BaseImage, repository: str, new_client: Callable[[], RegistryClient]
    ) -> None:
        """Start reading the base's OS packages (layer by layer, cached by layer digest)."""
        layers = [BaseLayer(layer.digest, layer.media_type) for layer in base.layers]
        cache = dpkg_cache_in(self.layer_cache)

        def read() -> OsPackages:
            with new_client() as client:
                return os_packages(layers, _opener(client, repository), cache)

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

    def close(self) -> None:
        """Stop: reads not started are dropped, those under way are waited for."""
        self.pool.shutdown(wait=True, cancel_futures=True)


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
