"""The engine's request and result types (b2i.engine re-exports them: import them from there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from b2i.oci.auth import Credentials
from b2i.oci.cancel import CancelToken
from b2i.oci.proxy import ProxyConfig
from b2i.packaging.environments import BuildEnvironment
from b2i.sbom.options import SupplyChainOptions, SupplyChainResult


class BuildError(Exception):
    """A build the user can fix (bad option, missing parameter); stable `code`, clear message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RegistryAccess:
    """How to talk to one registry host."""

    scheme: str = "https"
    credentials: Credentials | None = None
    verify: bool = True
    ca_bundle: str | None = None


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs; only `artifact` and `target` are required."""

    artifact: Path
    target: str
    environment: str | BuildEnvironment | None = None
    base_image: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    port: int | None = None
    # "all": a JVM artifact on every linux platform of the base index, pushed as an index.
    platform: str = "linux/amd64"
    filename: str | None = None
    context: str | None = None
    expected_kind: str | None = None
    # Keyed by registry as references name it (`docker.io`, `host:port`).
    registries: Mapping[str, RegistryAccess] = field(default_factory=dict)
    # Consulted for hosts missing from `registries` (e.g. a base known only after inspection).
    access_for: Callable[[str], RegistryAccess] | None = None
    allowed_networks: Sequence[str] = ()
    # An outbound HTTP(S) proxy for every registry (b2i.oci.proxy); None: direct.
    proxy: ProxyConfig | None = None
    mirror: str | None = None
    source: str = ""
    extra_tags: Sequence[str] = ()
    # Issue 4 ships one layer per artifact (False); None lets the environment explode JARs/WARs
    # into Jib-style layers (b2i.packaging.layering), True forces it where possible.
    exploded: bool | None = False
    workdir: Path | None = None
    # A directory for b2i.oci.layer_cache: unchanged layers are neither re-tarred nor
    # re-compressed on a rebuild (shared safely by concurrent builds). None: no cache.
    layer_cache: Path | None = None
    # Setting it cancels the build at once, blocked requests included; None: one of its own,
    # set when `cancel_requested` turns true.
    cancel: CancelToken | None = None
    # Seconds of failed requests and retry waits a registry may cost before the push fails.
    retry_budget: float = 180.0
    # Opt-in (issue 17): a CycloneDX SBOM and an in-toto/SLSA provenance statement, pushed as
    # OCI 1.1 referrers of the image. None: neither is made.
    supply_chain: SupplyChainOptions | None = None


@dataclass(frozen=True)
class BuildResult:
    """What was built and pushed, and what it cost."""

    reference: str
    digest: str
    tags: tuple[str, ...]
    base_reference: str
    environment: str
    compressed_size: int
    # Layers (not the config) uploaded vs already there or mounted, and their compressed bytes.
    layers_pushed: int
    layers_reused: int
    bytes_pushed: int
    bytes_reused: int
    step_timings: dict[str, float]
    inspection: dict[str, Any]
    warnings: tuple[str, ...]
    platforms: tuple[str, ...] = ()
    # With `BuildRequest.supply_chain` (else None / ""): the CycloneDX 1.6 JSON SBOM and the
    # in-toto Statement v1 (SLSA provenance v1), as JSON data, and the digests of the artifact
    # manifests pushed as the image's referrers ("api" or "tag": how they were recorded).
    sbom_document: dict[str, Any] | None = None
    provenance_document: dict[str, Any] | None = None
    sbom_referrer_digest: str | None = None
    provenance_referrer_digest: str | None = None
    referrers_via: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-able data."""
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def with_supply_chain(result: BuildResult, chain: SupplyChainResult | None) -> BuildResult:
    """Return RESULT with the supply-chain documents and referrer digests of CHAIN (if any)."""
    if chain is None:
        return result
    return replace(
        result,
        sbom_document=chain.sbom_document,
        provenance_document=chain.provenance_document,
        sbom_referrer_digest=chain.sbom_referrer_digest,
        provenance_referrer_digest=chain.provenance_referrer_digest,
        referrers_via=chain.referrers_via,
    )
