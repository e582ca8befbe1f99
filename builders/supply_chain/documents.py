"""The engine's documents as the console keeps them: component rows and packed JSON bytes.

The SBOM is CycloneDX 1.6 JSON made by the engine (`b2i.sbom`). Every component carries the
property `b2i:source` (application, library or os), usually a purl, a version, hashes and
licences. Nested components (a shaded JAR's) are read too. Values are bounded so that a
hostile artifact's coordinates cannot grow a row past its column.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from builders.models import ComponentSource

SOURCE_PROPERTY = "b2i:source"
# Documents above this many bytes of JSON are stored gzip-compressed (an SBOM with a Debian
# base's few hundred packages is ~100-300 KB and compresses about tenfold).
COMPRESS_ABOVE = 64 * 1024
# The most components of one run the console keeps rows for (the document keeps them all).
MAX_COMPONENTS = 20_000
# Nesting deeper than this is not read (CycloneDX allows any depth; real SBOMs use 1-3).
MAX_DEPTH = 8
MAX_LICENSES = 16
FIELD_LIMITS = {"name": 255, "group": 255, "version": 255, "purl": 1024, "licence": 200}


@dataclass(frozen=True)
class Component:
    """One component as stored and compared: identity names the package without its version."""

    source: str
    name: str
    group: str = ""
    version: str = ""
    purl: str = ""
    licenses: tuple[str, ...] = field(default=())
    sha256: str = ""

    @property
    def identity(self) -> str:
        return package_identity(self.purl) or f"{self.source}:{self.group}/{self.name}"


def package_identity(purl: str) -> str:
    """Return the purl without version, qualifiers, subpath: `pkg:maven/g/a@1?x=y` -> `…/g/a`.

    The version starts at the last `@` before any `?`/`#` (a namespace may hold an encoded `@`
    as %40, never a bare one, in a valid purl)."""
    if not purl.startswith("pkg:"):
        return ""
    head = purl.split("#", 1)[0].split("?", 1)[0]
    name, at, _version = head.rpartition("@")
    return name if at and "/" in name else head


def components_of(sbom: Mapping[str, Any]) -> list[Component]:
    """Return the SBOM's components (nested ones included), at most MAX_COMPONENTS."""
    found: list[Component] = []
    for raw in _walk(sbom.get("components"), depth=0):
        component = _component(raw)
        if component is not None:
            found.append(component)
            if len(found) >= MAX_COMPONENTS:
                break
    return found


def _walk(components: Any, depth: int) -> Iterator[Mapping[str, Any]]:
    if not isinstance(components, list) or depth > MAX_DEPTH:
        return
    for raw in components:
        if isinstance(raw, Mapping):
            yield raw
            yield from _walk(raw.get("components"), depth + 1)


def _component(raw: Mapping[str, Any]) -> Component | None:
    name = _text(raw.get("name"), "name")
    if not name:
        return None
    return Component(
        source=_source(raw),
        name=name,
        group=_text(raw.get("group"), "group"),
        version=_text(raw.get("version"), "version"),
        purl=_purl(raw.get("purl")),
        licenses=_licenses(raw.get("licenses")),
        sha256=_sha256(raw.get("hashes")),
    )


def _text(value: Any, limit_name: str) -> str:
    return value[: FIELD_LIMITS[limit_name]] if isinstance(value, str) else ""


def _purl(value: Any) -> str:
    # A purl cut short would name another package: one too long is dropped, not truncated.
    if not isinstance(value, str) or len(value) > FIELD_LIMITS["purl"]:
        return ""
    return value


def _source(raw: Mapping[str, Any]) -> str:
    properties = raw.get("properties")
    for prop in properties if isinstance(properties, list) else []:
        named = isinstance(prop, Mapping) and prop.get("name") == SOURCE_PROPERTY
        if named and prop.get("value") in ComponentSource.values:
            return str(prop["value"])
    # No property: the purl's type says enough (an OS package is a deb/apk/rpm).
    purl = raw.get("purl") if isinstance(raw.get("purl"), str) else ""
    if str(purl).startswith(("pkg:deb/", "pkg:apk/", "pkg:rpm/")):
        return ComponentSource.OS
    return ComponentSource.APPLICATION if raw.get("type") == "application" else "library"


def _licenses(value: Any) -> tuple[str, ...]:
    """CycloneDX licences: `{"license": {"id" | "name"}}` or `{"expression": ...}` entries."""
    names: list[str] = []
    for entry in value if isinstance(value, list) else []:
        if not isinstance(entry, Mapping):
            continue
        licence = entry.get("license")
        text = entry.get("expression")
        if isinstance(licence, Mapping):
            text = licence.get("id") or licence.get("name")
        if isinstance(text, str) and text and text not in names:
            names.append(text[: FIELD_LIMITS["licence"]])
    return tuple(names[:MAX_LICENSES])


def _sha256(value: Any) -> str:
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, Mapping) and entry.get("alg") == "SHA-256":
            content = entry.get("content")
            if isinstance(content, str) and len(content) == 64:
                return content.lower()
    return ""


# --- packed documents -----------------------------------------------------------------------


def pack(document: Mapping[str, Any]) -> tuple[bytes, bool]:
    """Return (bytes, compressed): compact JSON, gzip-compressed above COMPRESS_ABOVE bytes."""
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    if len(raw) <= COMPRESS_ABOVE:
        return raw, False
    # mtime=0: the same document always packs to the same bytes.
    return gzip.compress(raw, compresslevel=6, mtime=0), True


def unpack(data: bytes | memoryview, compressed: bool) -> bytes:
    """Return the document's JSON bytes as the engine made them (modulo whitespace)."""
    raw = bytes(data)
    return gzip.decompress(raw) if compressed else raw
