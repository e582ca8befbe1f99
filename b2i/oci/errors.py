"""Errors of the OCI engine: each carries a stable `code` and a message a person can act on.

Codes starting with `registry:` or `reference:` are meant to be shown to users as they are; the
console maps them to 4xx answers, never to a 500.
"""

from __future__ import annotations

import ssl


class OciError(Exception):
    """Base error of b2i.oci: `code` is stable, `message` says what to do about it."""

    code = "registry:error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status
        # Error codes from the registry's JSON body (e.g. DIGEST_INVALID), if any.
        self.registry_codes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidReferenceError(OciError):
    """An image reference or registry address that cannot be parsed or is not allowed."""

    code = "reference:invalid"


class BlockedAddressError(OciError):
    """A host resolving to a link-local/metadata address, or a private one not allowed."""

    code = "registry:blocked-address"


class UnreachableError(OciError):
    """DNS failure, refused connection, reset: the registry could not be talked to."""

    code = "registry:unreachable"


class RegistryTimeoutError(UnreachableError):
    """The registry did not answer in time."""

    code = "registry:timeout"


class InvalidProxyError(OciError):
    """The proxy setting is not an http(s) URL (operator configuration, shown redacted)."""

    code = "registry:proxy-invalid"


class ProxyUnreachableError(UnreachableError):
    """The proxy could not be connected to (refused, DNS failure, reset)."""

    code = "registry:proxy-unreachable"


class ProxyAuthError(OciError):
    """The proxy answered 407: its credentials are missing or wrong."""

    code = "registry:proxy-auth-failed"


class ProxyRefusedError(OciError):
    """The proxy refused to connect to the registry (its policy, e.g. 403 to CONNECT)."""

    code = "registry:proxy-refused"


class TlsError(OciError):
    """The TLS handshake failed (unknown CA, wrong host name, plain http on an https port...)."""

    code = "registry:tls"


class AuthFailedError(OciError):
    """The registry (or its token service) refused the credentials."""

    code = "registry:auth-failed"


class PushDeniedError(OciError):
    """The credentials are valid but may not push to this repository."""

    code = "registry:push-denied"


class PullDeniedError(OciError):
    """The credentials may not read this repository (or it does not exist for them)."""

    code = "registry:pull-denied"


class ManifestUnknownError(OciError):
    """The manifest (tag or digest) does not exist in the repository."""

    code = "registry:manifest-unknown"


class BlobUnknownError(OciError):
    """The blob does not exist in the repository."""

    code = "registry:blob-unknown"


class DigestMismatchError(OciError):
    """Bytes did not match their digest (ours or the registry's Docker-Content-Digest)."""

    code = "registry:digest-mismatch"


class ProtocolError(OciError):
    """The registry answered something the distribution spec does not allow."""

    code = "registry:protocol"


class RegistryRequestError(OciError):
    """Any other non-success answer of the registry (kept with its HTTP status and codes)."""

    code = "registry:request-failed"


def is_tls_failure(exc: BaseException) -> bool:
    """Tell whether a connection error (or what caused it) is a TLS handshake failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return any(word in text for word in ("certificate", "ssl", "tls", "wrong version number"))
