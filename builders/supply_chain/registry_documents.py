"""A build's documents read back from the registry, for builds that ran elsewhere.

A Kubernetes Job build (`b2i build --sbom` in a pod) pushes its SBOM and provenance as
referrers of the image but cannot hand them to the worker: the Job executor names their
referrer manifests (from the build's log) and the console reads them here, with the push
credentials, under the same address policy and proxy as every registry call. Documents are
bounded; anything unexpected means "no documents", never a failed build.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from b2i.oci.auth import Credentials
from b2i.oci.references import parse_reference
from b2i.oci.registry import RegistryClient
from builders.build_jobs import BuildJob
from builders.proxy_settings import registry_proxy

logger = logging.getLogger(__name__)

# The largest document read back (an SBOM of a huge base is a few MB).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def read_documents(
    job: BuildJob, sbom_manifest: str, provenance_manifest: str, referrers_via: str
) -> dict[str, Any] | None:
    """Return the runner's supply-chain result entry, or None when they cannot be read."""
    try:
        with registry_client(job) as client:
            repository = parse_reference(job.image_reference).repository
            sbom = read_document(client, repository, sbom_manifest)
            provenance = read_document(client, repository, provenance_manifest)
    except Exception:  # the image is pushed either way; the run just shows no SBOM
        logger.warning("the documents of run %s could not be read back", job.run_id, exc_info=True)
        return None
    return {
        "sbom_document": sbom,
        "provenance_document": provenance,
        "sbom_referrer_digest": sbom_manifest,
        "provenance_referrer_digest": provenance_manifest,
        "referrers_via": referrers_via,
    }


def registry_client(job: BuildJob) -> RegistryClient:
    target = job.registry
    return RegistryClient(
        target.host,
        scheme=target.scheme,
        credentials=Credentials(target.username, target.password) if target.username else None,
        verify=target.verify,
        ca_bundle=target.ca_bundle,
        allowed_networks=job.allowed_networks,
        proxy=registry_proxy(),
        retries=2,
        retry_budget=30,
    )


def read_document(client: RegistryClient, repository: str, manifest_digest: str) -> Any:
    """The JSON of a referrer artifact: its manifest's one layer (size and digest checked)."""
    manifest = client.get_manifest(repository, manifest_digest).json()
    layers = manifest.get("layers")
    if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
        raise ValueError(f"{manifest_digest} is not a one-document artifact")
    layer = layers[0]
    size = layer.get("size")
    if not isinstance(size, int) or not 0 < size <= MAX_DOCUMENT_BYTES:
        raise ValueError(f"the document of {manifest_digest} is empty or too large ({size})")
    with client.open_blob(repository, str(layer["digest"])) as blob:
        content = blob.read(size + 1)
        blob.read()  # to the end: the stream checks the digest there
    if len(content) != size:
        raise ValueError(f"the document of {manifest_digest} is not {size} bytes")
    return json.loads(content)
