"""The CycloneDX 1.6 JSON SBOM of one image, made with cyclonedx-python-lib.

The image (pkg:oci/…@sha256:…) is the subject (`metadata.component`); the components are the
application, the libraries inside it and the base's OS packages, each with a `b2i:source`
property (`application`, `library`, `os`) that the console groups by. The document depends on
its inputs only: the serial number is a name-based UUID of the image digest and the
timestamp is the image's own (fixed) creation time, so identical inputs give identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from b2i.sbom.dpkg import OsPackages
from b2i.sbom.gobuildinfo import GoBuildInfo
from b2i.sbom.maven import ArchiveComponents, MavenComponent

SOURCE_PROPERTY = "b2i:source"
APPLICATION, LIBRARY, OS = "application", "library", "os"
# The namespace of the name-based serial numbers (any fixed UUID; this one is ours).
_SERIAL_NAMESPACE = uuid.UUID("0b2e5b0a-7d4f-4c2e-9a17-000000000017")


@dataclass(frozen=True)
class ImageSubject:
    """The image an SBOM describes: its repository (`host/path`) and manifest digest."""

    repository: str
    digest: str

    @property
    def purl(self) -> PackageURL:
        """Return `pkg:oci/<name>@sha256:…?repository_url=<host/path>`."""
        name = self.repository.rsplit("/", 1)[-1]
        qualifiers = {"repository_url": self.repository}
        return PackageURL(type="oci", name=name, version=self.digest, qualifiers=qualifiers)


@dataclass(frozen=True)
class SbomInputs:
    """Everything an SBOM is made of (all read before, by the collector)."""

    subject: ImageSubject
    artifact_name: str
    artifact_sha256: str  # "sha256:<hex>"
    created: str  # the image's creation time (RFC 3339)
    archive: ArchiveComponents | None = None
    go: GoBuildInfo | None = None
    os: OsPackages | None = None


def sbom_document(inputs: SbomInputs) -> dict[str, Any]:
    """Return the CycloneDX 1.6 JSON document of INPUTS as JSON data."""
    document: dict[str, Any] = json.loads(sbom_json(inputs))
    return document


def sbom_json(inputs: SbomInputs) -> str:
    """Return the CycloneDX 1.6 JSON document of INPUTS as text.

    The base's OS packages (most of the components, the same for every build on that base)
    are serialized by the library once per package list and kept: serializing ~150
    components costs the library ~100 ms, more than the rest of the build's SBOM work.
    """
    refs = _References()
    image = Component(
        name=inputs.subject.repository,
        version=inputs.subject.digest,
        type=ComponentType.CONTAINER,
        purl=inputs.subject.purl,
        bom_ref=refs.unique(inputs.subject.purl.to_string()),
    )
    application = _application(inputs, refs)
    libraries = _libraries(inputs, refs)
    metadata = BomMetaData(component=image, timestamp=_timestamp(inputs.created))
    serial = uuid.uuid5(_SERIAL_NAMESPACE, f"{inputs.subject.digest}")
    bom = Bom(components=[application, *libraries], metadata=metadata)
    bom.serial_number = serial
    bom.register_dependency(image, [application])
    bom.register_dependency(application, libraries)
    document = json.loads(_serialize(bom))
    _add_os_components(document, str(image.bom_ref), os_components_json(inputs.os))
    return json.dumps(document, separators=(",", ":"))


def _serialize(bom: Bom) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's advice on graphs it cannot know
        return JsonV1Dot6(bom).output_as_string()


_OS_SERIALIZED: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
_OS_SERIALIZED_KEPT = 16  # base images a long-lived worker builds on
_OS_LOCK = threading.Lock()


def os_components_json(packages: OsPackages | None) -> list[dict[str, Any]]:
    """Return the OS package components as the library serializes them (kept per list)."""
    if packages is None or not packages.packages:
        return []
    key = hashlib.sha256(repr(packages).encode()).hexdigest()
    with _OS_LOCK:
        known = _OS_SERIALIZED.get(key)
        if known is not None:
            _OS_SERIALIZED.move_to_end(key)
            return known
    components = _os_components(packages, _References())
    made: list[dict[str, Any]] = json.loads(_serialize(Bom(components=components)))["components"]
    with _OS_LOCK:
        _OS_SERIALIZED[key] = made
        while len(_OS_SERIALIZED) > _OS_SERIALIZED_KEPT:
            _OS_SERIALIZED.popitem(last=False)
    return made


def _add_os_components(
    document: dict[str, Any], image_ref: str, components: list[dict[str, Any]]
) -> None:
    """Add the OS components to DOCUMENT: listed, and depended on by the image."""
    if not components:
        return
    refs = [component["bom-ref"] for component in components]
    document["components"] = [*document.get("components", []), *components]
    dependencies = document.setdefault("dependencies", [])
    for entry in dependencies:
        if entry.get("ref") == image_ref:
            entry["dependsOn"] = sorted([*entry.get("dependsOn", []), *refs])
    dependencies.extend({"ref": ref} for ref in refs)


class _References:
    """Unique bom-refs, stable for the same inputs (a purl, suffixed on repeats)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def unique(self, base: str) -> str:
        count = self.seen.get(base, 0)
        self.seen[base] = count + 1
        return base if count == 0 else f"{base}#{count + 1}"


def _property(name: str, value: str) -> Property:
    return Property(name=name, value=value)


def _sha256(hex_digest: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=hex_digest.removeprefix("sha256:"))


def _application(inputs: SbomInputs, refs: _References) -> Component:
    name, version, group, purl = PurePosixPath(inputs.artifact_name).stem, None, None, None
    own = inputs.archive.application if inputs.archive is not None else None
    if own is not None:
        name, version, group = own.name, own.version, own.group
        purl = _maven_purl(own)
    go = inputs.go
    properties = [_property(SOURCE_PROPERTY, APPLICATION)]
    properties.append(_property("b2i:file", inputs.artifact_name))
    if go is not None and go.main is not None:
        name, version = go.main.path, (None if go.main.version == "(devel)" else go.main.version)
        purl = PackageURL.from_string(go.main.purl)
        properties.append(_property("b2i:go-version", go.go_version))
    bom_ref = refs.unique(purl.to_string() if purl else f"application:{name}")
    return Component(
        name=name, version=version, group=group, purl=purl, type=ComponentType.APPLICATION,
        hashes=[_sha256(inputs.artifact_sha256)], properties=properties, bom_ref=bom_ref,
    )  # fmt: skip


def _maven_purl(component: MavenComponent) -> PackageURL | None:
    if not component.group:
        return None
    return PackageURL(
        type="maven", namespace=component.group, name=component.name, version=component.version
    )


def _libraries(inputs: SbomInputs, refs: _References) -> list[Component]:
    found: list[Component] = []
    if inputs.archive is not None:
        found += [_maven_library(lib, refs) for lib in inputs.archive.libraries]
    if inputs.go is not None:
        for module in inputs.go.dependencies:
            purl = PackageURL.from_string(module.purl)
            properties = [_property(SOURCE_PROPERTY, LIBRARY)]
            properties += [_property("b2i:go-sum", module.checksum)] if module.checksum else []
            found.append(Component(
                name=module.path, version=module.version or None, purl=purl,
                type=ComponentType.LIBRARY, properties=properties,
                bom_ref=refs.unique(purl.to_string()),
            ))  # fmt: skip
    return found


def _maven_library(library: MavenComponent, refs: _References) -> Component:
    purl = _maven_purl(library)
    properties = [
        _property(SOURCE_PROPERTY, LIBRARY),
        _property("b2i:path", library.path),
        _property("b2i:evidence", library.evidence),
    ]
    base = purl.to_string() if purl else f"library:{library.path}"
    return Component(
        name=library.name, version=library.version, group=library.group, purl=purl,
        type=ComponentType.LIBRARY, properties=properties, bom_ref=refs.unique(base),
        hashes=[_sha256(library.sha256)] if library.sha256 else [],
    )  # fmt: skip


def _os_components(packages: OsPackages | None, refs: _References) -> list[Component]:
    if packages is None or not packages.packages:
        return []
    distribution = packages.distribution or "debian"
    found = [
        Component(
            name=distribution, version=packages.distribution_version or None,
            type=ComponentType.OPERATING_SYSTEM, properties=[_property(SOURCE_PROPERTY, OS)],
            bom_ref=refs.unique(f"os:{distribution}"),
        )
    ]  # fmt: skip
    for package in packages.packages:
        qualifiers = {"arch": package.architecture} if package.architecture else {}
        if packages.distribution_version:
            qualifiers["distro"] = f"{distribution}-{packages.distribution_version}"
        purl = PackageURL(
            type="deb", namespace=distribution, name=package.name, version=package.version,
            qualifiers=qualifiers,
        )  # fmt: skip
        properties = [_property(SOURCE_PROPERTY, OS)]
        properties += [_property("b2i:deb-source", package.source)] if package.source else []
        found.append(Component(
            name=package.name, version=package.version, purl=purl, type=ComponentType.LIBRARY,
            properties=properties, bom_ref=refs.unique(purl.to_string()),
        ))  # fmt: skip
    return found


def _timestamp(created: str) -> datetime:
    return datetime.fromisoformat(created.replace("Z", "+00:00"))
