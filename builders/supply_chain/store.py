"""A run's supply-chain documents in the database: saving them after a build, reading them back.

Saved once, as the run ends Successful (`record_documents`), with one row per component and
the counts of what changed since the builder's previous run that has an SBOM, so the run list
shows its one-line summary without a query per row. A failure here is logged, never the
build's outcome: the image is pushed and its referrers are in the registry either way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from b2i_console.errors import UserError
from builders.models import BuildRun, BuildState, RunComponent, RunSupplyChain
from builders.supply_chain.diff import Changes, compare
from builders.supply_chain.documents import Component, components_of, pack, unpack

logger = logging.getLogger(__name__)

# The engine result's keys the runner hands to `record_documents` (not BuildRun fields).
RESULT_KEY = "supply_chain"


@dataclass(frozen=True)
class Documents:
    """What the engine made for one build (`b2i.engine.BuildResult`'s supply-chain fields)."""

    sbom: Mapping[str, Any]
    provenance: Mapping[str, Any]
    sbom_referrer_digest: str = ""
    provenance_referrer_digest: str = ""
    referrers_via: str = ""

    @classmethod
    def from_result(cls, data: Mapping[str, Any] | None) -> Documents | None:
        """Read the runner's result entry; None when the build made no documents."""
        if not data or not isinstance(data.get("sbom_document"), Mapping):
            return None
        provenance = data.get("provenance_document")
        return cls(
            sbom=data["sbom_document"],
            provenance=provenance if isinstance(provenance, Mapping) else {},
            sbom_referrer_digest=data.get("sbom_referrer_digest") or "",
            provenance_referrer_digest=data.get("provenance_referrer_digest") or "",
            referrers_via=data.get("referrers_via") or "",
        )


def record_documents(run: BuildRun, documents: Documents) -> RunSupplyChain:
    """Store the run's documents and components; compare with the previous run with an SBOM."""
    components = components_of(documents.sbom)
    previous = previous_run_with_sbom(run)
    changes = compare(stored_components(previous), components) if previous else Changes()
    added, removed, upgraded = changes.counts
    sbom, sbom_compressed = pack(documents.sbom)
    provenance, provenance_compressed = pack(documents.provenance)
    with transaction.atomic():
        record = RunSupplyChain.objects.create(
            run=run,
            sbom=sbom,
            sbom_compressed=sbom_compressed,
            provenance=provenance,
            provenance_compressed=provenance_compressed,
            component_count=len(components),
            sbom_referrer_digest=documents.sbom_referrer_digest[:80],
            provenance_referrer_digest=documents.provenance_referrer_digest[:80],
            referrers_via=documents.referrers_via[:8],
            compared_with=previous,
            added=added,
            removed=removed,
            upgraded=upgraded,
        )
        RunComponent.objects.bulk_create(
            (component_row(run, component) for component in components), batch_size=1000
        )
    return record


def record_documents_safely(run: BuildRun, documents: Documents | None) -> bool:
    """`record_documents`, logging instead of raising: the build succeeded regardless."""
    if documents is None:
        return False
    try:
        record_documents(run, documents)
    except Exception:
        logger.exception("the SBOM of run %s could not be stored", run.pk)
        return False
    return True


def component_row(run: BuildRun, component: Component) -> RunComponent:
    return RunComponent(
        run=run,
        source=component.source,
        name=component.name,
        group=component.group,
        version=component.version,
        purl=component.purl,
        identity=component.identity[:1024],
        licenses=list(component.licenses),
        sha256=component.sha256,
    )


def previous_run_with_sbom(run: BuildRun) -> BuildRun | None:
    """The builder's latest successful run before RUN that has an SBOM (what "changed" means)."""
    return (
        BuildRun.objects.filter(
            builder_id=run.builder_id,
            number__lt=run.number,
            state=BuildState.SUCCESSFUL,
            supply_chain__isnull=False,
        )
        .order_by("-number")
        .first()
    )


def stored_components(run: BuildRun | None) -> list[Component]:
    """A run's components as rows read back into `Component`s (one query)."""
    if run is None:
        return []
    rows = RunComponent.objects.filter(run=run).values_list(
        "source", "name", "group", "version", "purl", "licenses", "sha256"
    )
    return [
        Component(source, name, group, version, purl, tuple(licenses or ()), sha256)
        for source, name, group, version, purl, licenses, sha256 in rows
    ]


def changes_between(older: BuildRun, newer: BuildRun) -> Changes:
    """What changed from OLDER's components to NEWER's (two queries)."""
    return compare(stored_components(older), stored_components(newer))


# --- reading back ---------------------------------------------------------------------------


def supply_chain_of(run: BuildRun) -> RunSupplyChain:
    """The run's record; `sbom:none` (404) when the run has no SBOM (failed, older, or off)."""
    record = RunSupplyChain.objects.filter(run=run).first()
    if record is None:
        raise UserError(
            "sbom:none",
            f"Run #{run.number} has no SBOM: only successful builds made with the supply chain "
            "on (B2I_SUPPLY_CHAIN) have one.",
            status=404,
        )
    return record


def sbom_bytes(record: RunSupplyChain) -> bytes:
    return unpack(record.sbom, record.sbom_compressed)


def provenance_bytes(record: RunSupplyChain) -> bytes:
    return unpack(record.provenance, record.provenance_compressed)


def search_components(run: BuildRun, text: str = "", source: str = "") -> QuerySet[RunComponent]:
    """The run's components whose name, group or purl contains TEXT, of one SOURCE if given."""
    components = RunComponent.objects.filter(run=run)
    if source:
        components = components.filter(source=source)
    if text:
        components = components.filter(
            Q(name__icontains=text) | Q(group__icontains=text) | Q(purl__icontains=text)
        )
    return components.order_by("source", "group", "name", "version", "pk")
