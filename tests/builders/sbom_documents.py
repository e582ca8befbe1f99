"""Hand-made CycloneDX 1.6 documents as the engine makes them (b2i/sbom), for console tests
that are not about the engine: every component has `b2i:source`, a purl, hashes, licences."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

DIGEST = "sha256:" + "ab" * 32


def maven(group: str, artifact: str, version: str, licence: str = "Apache-2.0") -> dict[str, Any]:
    return component(
        "library", artifact, version, f"pkg:maven/{group}/{artifact}@{version}", group, licence
    )


def deb(name: str, version: str, licence: str = "") -> dict[str, Any]:
    purl = f"pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"
    return component("os", name, version, purl, "", licence, kind="operating-system")


def application(name: str, version: str = "1.0.0") -> dict[str, Any]:
    purl = f"pkg:maven/com.example/{name}@{version}"
    return component("application", name, version, purl, "com.example", "", kind="application")


def component(
    source: str,
    name: str,
    version: str,
    purl: str,
    group: str = "",
    licence: str = "",
    *,
    kind: str = "library",
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "type": kind,
        "bom-ref": purl or f"{name}@{version}",
        "name": name,
        "version": version,
        "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(purl.encode()).hexdigest()}],
        "properties": [{"name": "b2i:source", "value": source}],
    }
    if group:
        found["group"] = group
    if purl:
        found["purl"] = purl
    if licence:
        found["licenses"] = [{"license": {"id": licence}}]
    return found


def cyclonedx(components: list[dict[str, Any]], subject: str = DIGEST) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "component": {"type": "container", "name": "demo/hello", "version": subject},
        },
        "components": components,
    }


def provenance(invocation_id: str = "urn:b2i-console:run") -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "demo/hello", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://b2i.dev/build/v1"},
            "runDetails": {
                "builder": {"id": "urn:b2i-console#b2i-console@0.1.0"},
                "metadata": {"invocationId": invocation_id},
            },
        },
    }


def result_entry(components: list[dict[str, Any]]) -> dict[str, Any]:
    """The runner's supply-chain result entry (builders.engine_adapter.result_fields)."""
    return {
        "sbom_document": cyclonedx(components),
        "provenance_document": provenance(),
        "sbom_referrer_digest": "sha256:" + "01" * 32,
        "provenance_referrer_digest": "sha256:" + "02" * 32,
        "referrers_via": "tag",
    }
