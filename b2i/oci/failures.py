"""What a registry's refusal means: an HTTP status and the distribution spec's error codes turned
into an OciError whose code and message say what to do (wrong password, not allowed to push,
unknown manifest...), not "401 to HEAD blob"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from b2i.oci.errors import (
    AuthFailedError,
    BlobUnknownError,
    DigestMismatchError,
    ManifestUnknownError,
    OciError,
    PullDeniedError,
    PushDeniedError,
    RegistryRequestError,
)

Access = Literal["pull", "push"]


@dataclass(frozen=True)
class FailedRequest:
    host: str
    status: int
    codes: tuple[str, ...]  # the error codes of the registry's JSON body
    text: str  # "<host> answered <status> to <what>: <detail>"
    access: Access


def classify_failure(failed: FailedRequest, username: str | None, *, bearer: bool) -> OciError:
    """The OciError for FAILED, made by USERNAME (None: anonymous) over Basic or Bearer auth."""
    status, codes, text, access = failed.status, failed.codes, failed.text, failed.access
    user = "anonymous" if username is None else username
    if status == 401 and username is None:
        return AuthFailedError(f"{text} (the registry requires credentials)")
    if status == 401 and not bearer:
        # The meaning first: a build log's reader should not have to decode "401 to HEAD blob".
        return AuthFailedError(
            f"{failed.host} rejected the username or password of {user} "
            f"(check the password or token; {text})"
        )
    if status in (401, 403) or "DENIED" in codes:
        denied = PushDeniedError if access == "push" else PullDeniedError
        return denied(f"{text} ({user} may not {access} here)")
    if "MANIFEST_UNKNOWN" in codes or "NAME_UNKNOWN" in codes:
        return ManifestUnknownError(text)
    if "BLOB_UNKNOWN" in codes:
        return BlobUnknownError(text)
    if "DIGEST_INVALID" in codes:
        return DigestMismatchError(text)
    if "MANIFEST_INVALID" in codes or "MANIFEST_BLOB_UNKNOWN" in codes:
        return RegistryRequestError(text, code="registry:manifest-invalid")
    return RegistryRequestError(text)
