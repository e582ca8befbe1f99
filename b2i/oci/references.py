"""Image references: parse, validate and normalise like Docker does.

`parse_reference("nginx")` is `docker.io/library/nginx:latest`; `index.docker.io` is the same
registry as `docker.io`, whose API lives at `registry-1.docker.io` (`Reference.api_host`). The
first path component is a registry when it contains `.` or `:` or is `localhost`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from b2i.oci.errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
HOST_PATTERN = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]{{1,5}})?$")
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


@dataclass(frozen=True)
class Reference:
    """A fully qualified image reference: registry, repository, and a tag and/or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """Return `registry/repository` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """Return the host (with port) that serves the registry API for this reference."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def manifest_reference(self) -> str:
        """Return what goes after /manifests/: the digest if pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        """Return this reference with TAG (and no digest)."""
        check_tag(tag)
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        """Return this reference pinned to DIGEST (the tag is kept for readers)."""
        check_digest(digest)
        return replace(self, digest=digest)


def check_tag(tag: str) -> None:
    """Raise InvalidReferenceError unless TAG is a valid tag."""
    if not _TAG.match(tag):
        raise InvalidReferenceError(
            f"invalid tag {tag!r}: use letters, digits, '_', '.', '-' (max 128, not starting "
            "with '.' or '-')"
        )


def check_digest(digest: str) -> None:
    """Raise InvalidReferenceError unless DIGEST is `sha256:<64 hex>` or `sha512:<128 hex>`."""
    if not _DIGEST.match(digest):
        raise InvalidReferenceError(
            f"invalid digest {digest!r}: expected sha256: followed by 64 lower-case hex digits"
        )


def check_repository(repository: str) -> None:
    """Raise InvalidReferenceError unless REPOSITORY is a valid repository path."""
    if len(repository) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(f"repository name longer than {MAX_NAME_LENGTH} characters")
    if not _REPOSITORY.match(repository):
        hint = " (must be lower case)" if repository.lower() != repository else ""
        raise InvalidReferenceError(
            f"invalid repository {repository!r}{hint}: use lower-case letters, digits and "
            "separators '.', '_', '-' between path components such as team/app"
        )


def normalise_registry(host: str) -> str:
    """Return the canonical registry name (Docker Hub aliases become `docker.io`)."""
    lowered = host.lower()
    return DOCKER_HUB if lowered in DOCKER_HUB_ALIASES else lowered


def _looks_like_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def _split_name(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and _looks_like_registry(first):
        if not HOST_PATTERN.match(first):
            raise InvalidReferenceError(f"invalid registry host {first!r}")
        return normalise_registry(first), rest
    return DOCKER_HUB, name


def _split_tag(remainder: str) -> tuple[str, str | None]:
    # A ':' after the last '/' starts the tag; earlier ones belong to host:port.
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        return remainder[:colon], remainder[colon + 1 :]
    return remainder, None


def parse_reference(text: str) -> Reference:
    """Parse an image reference such as `nginx`, `host:5000/team/app:1.0` or `app@sha256:…`."""
    raw = text.strip()
    if not raw or any(ch.isspace() for ch in raw):
        raise InvalidReferenceError(f"invalid image reference {text!r}: empty or contains spaces")
    if "://" in raw:
        raise InvalidReferenceError(
            f"invalid image reference {text!r}: leave out the scheme (write host/repo:tag)"
        )
    remainder, _, digest = raw.partition("@")
    name, tag = _split_tag(remainder)
    registry, repository = _split_name(name)
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    check_repository(repository)
    if tag is not None:
        check_tag(tag)
    if digest:
        check_digest(digest)
    elif raw.endswith("@"):
        raise InvalidReferenceError(f"invalid image reference {text!r}: empty digest")
    if tag is None and not digest:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest or None)


def _mirror_parts(mirror: str) -> tuple[str, str]:
    text = mirror.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    host, _, prefix = text.partition("/")
    if not HOST_PATTERN.match(host):
        raise InvalidReferenceError(
            f"invalid registry mirror {mirror!r}: expected host[:port][/path]"
        )
    if prefix:
        check_repository(prefix)
    return host.lower(), prefix


def rewrite_with_mirror(ref: Reference, mirror: str | None) -> Reference:
    """Point a docker.io reference at MIRROR (`host[:port][/prefix]`); others stay unchanged."""
    if not mirror or ref.registry != DOCKER_HUB:
        return ref
    host, prefix = _mirror_parts(mirror)
    repository = f"{prefix}/{ref.repository}" if prefix else ref.repository
    return replace(ref, registry=host, repository=repository)
