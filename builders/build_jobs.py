"""What the runner hands an executor: one build as plain data, and the executor's protocol.

Shared by the runner (which fills a BuildJob from the database), the in-worker executor
(`builders.engine_adapter`) and the Kubernetes Job executor (`workloads.executor`); it imports
nothing of theirs, so none of them import each other for these types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from b2i.oci.events import Event
from b2i.sbom.options import SupplyChainOptions


class RunCancelled(Exception):
    """The user asked the run to stop; raised between steps or between layer uploads."""


@dataclass(frozen=True)
class RegistryTarget:
    """Where the image goes and how to log in (the password never reaches a log line)."""

    host: str
    scheme: str
    username: str
    password: str = field(repr=False)
    verify: bool
    ca_bundle: str | None


@dataclass(frozen=True)
class BuildJob:
    """Everything an executor needs to build one run, with no database access."""

    run_id: int
    artifact_path: Path
    artifact_file_name: str
    artifact_sha256: str
    artifact_kind: str
    environment: dict[str, Any]
    environment_parameters: dict[str, str]
    image_reference: str
    registry: RegistryTarget
    allowed_networks: tuple[str, ...]
    source: str = ""
    # The project's other registry secrets: a base image on one of those hosts uses them.
    other_registries: tuple[RegistryTarget, ...] = ()
    # Issue 17: ask for an SBOM and a provenance statement (None: neither is made).
    supply_chain: SupplyChainOptions | None = None


class BuildExecutor(Protocol):
    def execute(
        self,
        job: BuildJob,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        """Build and push; return the BuildRun result fields; raise RunCancelled on cancel."""
        ...
