"""What the console asks of a build's supply chain: who built it (the console, by URL and
version) and which run it was (`invocation_id`), for the provenance statement.

The run's identity goes into the provenance only, never into the image, so a rerun of the same
inputs still gives the same digest (issue 17).
"""

from __future__ import annotations

from importlib import metadata

from django.conf import settings

from b2i.sbom.options import SupplyChainOptions
from builders.models import BuildRun

# Without B2I_CONSOLE_URL the console still names itself, as a URN (SLSA wants a URI).
UNNAMED_CONSOLE = "urn:b2i-console"


def console_version() -> str:
    try:
        return metadata.version("b2i-console")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def console_url() -> str:
    return str(settings.B2I_CONSOLE_URL or "").rstrip("/")


def builder_id() -> str:
    """The console as SLSA's `builder.id`: `<console URL>#b2i-console@<version>`."""
    return f"{console_url() or UNNAMED_CONSOLE}#b2i-console@{console_version()}"


def invocation_id(run: BuildRun) -> str:
    """The run's name: its place on the builder's page (`…/imagebuilders/<name>/#run-<n>`)."""
    builder = run.builder
    project = builder.project
    path = f"workspaces/{project.workspace.name}/projects/{project.name}/imagebuilders/"
    path += f"{builder.name}/#run-{run.number}"
    base = console_url()
    return f"{base}/{path}" if base else f"{UNNAMED_CONSOLE}:{path}"


def supply_chain_options(run: BuildRun, artifact_file_name: str) -> SupplyChainOptions | None:
    """The engine's opt-in for RUN; None when B2I_SUPPLY_CHAIN is off."""
    if not settings.B2I_SUPPLY_CHAIN:
        return None
    builder = run.builder
    return SupplyChainOptions(
        builder_id=builder_id(),
        invocation_id=invocation_id(run),
        build_settings={
            "builder": builder.name,
            "project": builder.project.name,
            "workspace": builder.project.workspace.name,
            "run": run.number,
            "tag": run.tag,
            "artifact": artifact_file_name,
            "artifact_kind": builder.artifact_kind,
        },
    )
