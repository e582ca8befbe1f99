"""The provenance of one image: an in-toto Statement v1 with a SLSA provenance v1 predicate.

It names the builder (the caller's `builder_id`: the console's URL and version, or the `b2i`
command's version), the inputs (the artifact's sha-256, the base image's digest, the build
environment and settings) and the run (the caller's invocation id, start and end times).
Environment variables are recorded by name only: their values may be secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:b2i:build-type:image:v1"
DISTRIBUTION = "b2i-console"


@dataclass(frozen=True)
class ProvenanceInputs:
    """What went into one build, and who ran it when."""

    image_repository: str
    image_digest: str
    builder_id: str
    invocation_id: str
    artifact_name: str
    artifact_sha256: str  # "sha256:<hex>"
    base_reference: str  # pinned: name@sha256:…
    base_digest: str
    environment: str
    settings: Mapping[str, Any]
    env_names: Sequence[str]
    started_on: str
    finished_on: str
    tags: Sequence[str] = ()
    extra_settings: Mapping[str, Any] = field(default_factory=dict)


def engine_version() -> str:
    """Return the installed b2i version (the package's), "unknown" when not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance_statement(inputs: ProvenanceInputs) -> dict[str, Any]:
    """Return the in-toto statement (SLSA provenance v1) of one build as JSON data."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": inputs.image_repository, "digest": _digest_set(inputs.image_digest)},
        ],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": _external_parameters(inputs),
                "internalParameters": {"engine": f"b2i {engine_version()}"},
                "resolvedDependencies": [
                    {"name": inputs.artifact_name, "digest": _digest_set(inputs.artifact_sha256)},
                    {
                        "uri": f"oci://{inputs.base_reference}",
                        "digest": _digest_set(inputs.base_digest),
                    },
                ],
            },
            "runDetails": {
                "builder": {"id": inputs.builder_id, "version": {"b2i": engine_version()}},
                "metadata": _run_metadata(inputs),
            },
        },
    }


def _external_parameters(inputs: ProvenanceInputs) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "artifact": inputs.artifact_name,
        "environment": inputs.environment,
        "envNames": sorted(inputs.env_names),
        "settings": dict(inputs.settings),
        "tags": list(inputs.tags),
    }
    if inputs.extra_settings:
        parameters["buildSettings"] = dict(inputs.extra_settings)
    return parameters


def _run_metadata(inputs: ProvenanceInputs) -> dict[str, str]:
    run = {"startedOn": inputs.started_on, "finishedOn": inputs.finished_on}
    if inputs.invocation_id:
        run["invocationId"] = inputs.invocation_id
    return run


def _digest_set(digest: str) -> dict[str, str]:
    algorithm, _, value = digest.partition(":")
    return {algorithm: value}
