"""Make a blob present in a target repository at the lowest cost.

Order: HEAD on the target (already there: "reused"), cross-repository mount when source and
target are the same registry ("mounted"; any refusal, 202 or 401 included, falls back), else
stream it from the source registry straight into the upload ("uploaded"), never via disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from b2i.oci.events import Event
from b2i.oci.registry import RegistryClient
from b2i.oci.transport import CheckpointedBody, ReadableBody

BlobOutcome = Literal["reused", "mounted", "uploaded"]


class BlobRef(Protocol):
    """Anything with a digest and a size (e.g. b2i.oci.image.Descriptor)."""

    @property
    def digest(self) -> str: ...

    @property
    def size(self) -> int: ...


def same_registry(a: RegistryClient, b: RegistryClient) -> bool:
    """Tell whether two clients talk to the same registry (so a mount can work)."""
    return a.base_url == b.base_url


def ensure_blob(
    target: RegistryClient,
    target_repo: str,
    descriptor: BlobRef,
    *,
    source: RegistryClient,
    source_repo: str,
    checkpoint: Callable[[], None] = lambda: None,
) -> BlobOutcome:
    """Make DESCRIPTOR's blob exist in TARGET_REPO: reuse, mount, or stream from the source."""
    digest, size = descriptor.digest, descriptor.size
    if target.blob_exists(target_repo, digest) is not None:
        target.on_event(Event("blob-reused", step="blob", bytes=size, digest=digest))
        return "reused"
    if same_registry(target, source) and target.mount_blob(target_repo, digest, source_repo):
        message = f"mounted from {source_repo}"
        target.on_event(
            Event("blob-reused", step="blob", message=message, bytes=size, digest=digest)
        )
        return "mounted"

    def open_body() -> ReadableBody:
        # Checked as it streams: a cancel stops a big cross-registry copy within a read.
        return CheckpointedBody(source.fetch_blob(source_repo, digest), checkpoint)

    target.upload_blob(target_repo, digest, size, open_body)
    return "uploaded"
