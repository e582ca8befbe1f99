"""The supply-chain opt-in of a build request, and what such a build hands back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SBOM_ARTIFACT_TYPE = "application/vnd.cyclonedx+json"
PROVENANCE_ARTIFACT_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class SupplyChainOptions:
    """Ask a build for an SBOM and a provenance statement, pushed as referrers of the image.

    `builder_id`: who built it, a URI (the console's URL with its version, or the `b2i`
    command's version). `invocation_id`: the caller's name for this run (e.g. the run's URL);
    it goes into the provenance only, never into the image, so identical inputs still give an
    identical image. `build_settings`: extra JSON-able settings the provenance records beside
    the engine's own (environment, base, platform, env, port).
    """

    builder_id: str
    invocation_id: str = ""
    build_settings: Mapping[str, Any] = field(default_factory=dict)
    # False: the documents are made and returned, but not pushed to the registry.
    push_referrers: bool = True


@dataclass(frozen=True)
class SupplyChainResult:
    """The documents of one build and the digests of their referrer manifests."""

    sbom_document: dict[str, Any]
    provenance_document: dict[str, Any]
    # Digests of the artifact manifests pushed as referrers (None: not pushed).
    sbom_referrer_digest: str | None = None
    provenance_referrer_digest: str | None = None
    # How the referrers were recorded: "api" (the registry lists them itself), "tag" (the
    # referrers tag schema, `sha256-<hex>`), or "" (not pushed).
    referrers_via: str = ""


@dataclass(frozen=True)
class BuildFacts:
    """What the build decided, for the provenance: environment, settings, variables."""

    environment: str
    settings: Mapping[str, Any]
    env_names: Sequence[str]
    tags: Sequence[str]
