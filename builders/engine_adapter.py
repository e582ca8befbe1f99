"""Glue between a BuildJob (console data) and the framework-free engine (`b2i.engine`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from b2i.engine import BuildCancelled, BuildRequest, BuildResult, RegistryAccess, build_image
from b2i.oci.auth import Credentials
from b2i.oci.events import Event
from b2i.packaging.environments import BuildEnvironment
from builders.build_jobs import BuildJob, RegistryTarget, RunCancelled
from builders.proxy_settings import registry_proxy
from builders.registry_mirror import effective_mirror
from builders.supply_chain.store import RESULT_KEY


def registry_access(target: RegistryTarget) -> RegistryAccess:
    credentials = Credentials(target.username, target.password) if target.username else None
    return RegistryAccess(
        scheme=target.scheme,
        credentials=credentials,
        verify=target.verify,
        ca_bundle=target.ca_bundle,
    )


def build_request(job: BuildJob) -> BuildRequest:
    """Translate the job; bases on other registries are pulled anonymously over https."""
    return BuildRequest(
        artifact=job.artifact_path,
        target=job.image_reference,
        environment=BuildEnvironment.from_dict(job.environment),
        env=dict(job.environment_parameters),
        filename=job.artifact_file_name,
        expected_kind=job.artifact_kind,
        registries={
            **{other.host: registry_access(other) for other in job.other_registries},
            job.registry.host: registry_access(job.registry),
        },
        access_for=lambda host: RegistryAccess(),
        allowed_networks=job.allowed_networks,
        proxy=registry_proxy(),
        mirror=effective_mirror(),  # the admin's setting, else B2I_REGISTRY_MIRROR
        source=job.source,
        layer_cache=settings.B2I_LAYER_CACHE_DIR,  # unchanged layers are not rewritten
        retry_budget=settings.B2I_REGISTRY_RETRY_BUDGET,
        # Issue 5: JARs/WARs in Jib-style layers where the environment allows it (a one-class
        # change re-pushes a small layer); KubeSphere-style environments keep the packaged file.
        exploded=None,
        supply_chain=job.supply_chain,
    )


def result_fields(result: BuildResult) -> dict[str, Any]:
    """Return the BuildRun fields recorded from an engine result, and its supply-chain documents
    under RESULT_KEY (the runner stores those apart: `builders.supply_chain.store`)."""
    fields: dict[str, Any] = {
        "image_reference": result.reference,
        "digest": result.digest,
        "compressed_size": result.compressed_size,
        "layers_pushed": result.layers_pushed,
        "layers_reused": result.layers_reused,
        "bytes_pushed": result.bytes_pushed,
        "bytes_reused": result.bytes_reused,
        "pull_command": f"docker pull {result.reference}",
        "step_timings": dict(result.step_timings),
    }
    if result.sbom_document is not None:
        fields[RESULT_KEY] = {
            "sbom_document": result.sbom_document,
            "provenance_document": result.provenance_document,
            "sbom_referrer_digest": result.sbom_referrer_digest,
            "provenance_referrer_digest": result.provenance_referrer_digest,
            "referrers_via": result.referrers_via,
        }
    return fields


def run_engine(
    job: BuildJob, on_event: Callable[[Event], None], cancel_requested: Callable[[], bool]
) -> dict[str, Any]:
    """Build and push with the engine in this process; a cancel becomes RunCancelled."""
    try:
        result = build_image(build_request(job), on_event, cancel_requested)
    except BuildCancelled as exc:
        raise RunCancelled() from exc
    return result_fields(result)
