"""Image values: descriptors, media-type families, platform selection and composition.

`compose_image` extends a base image (its manifest and config, already fetched) with new layers
and container settings and returns the exact bytes to push: the config blob and the manifest.
Everything here is pure (no I/O), and the same inputs give the same bytes in any process:

- the output keeps the base's media-type family (OCI or Docker schema 2) for the manifest, the
  config and the new layers; annotations exist only in OCI manifests;
- the base config is kept, then Entrypoint/Cmd/Env/ExposedPorts/WorkingDir/User/Labels are set;
- `history` gets one entry per added layer and one `empty_layer` entry for the config changes,
  so the non-empty entries still match `rootfs.diff_ids` one to one;
- labels (and OCI annotations) name the base (`org.opencontainers.image.base.digest`/`.name`),
  the artifact (`.title`, `.source`) and its sha256 (`ARTIFACT_SHA256_LABEL`) — never the run
  that built it, so identical inputs give an identical digest;
- `created` is fixed (1970-01-01T00:00:01Z by default) so digests stay reproducible; real build
  times belong in the database, not in the image;
- JSON is serialised with sorted keys and no spaces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from b2i.oci.errors import OciError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# Registry 2.8 answers 404 for an OCI manifest requested without the OCI type in Accept.
ACCEPT_MANIFESTS = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)

FIXED_CREATED = "1970-01-01T00:00:01Z"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
BASE_NAME_LABEL = "org.opencontainers.image.base.name"
TITLE_LABEL = "org.opencontainers.image.title"
SOURCE_LABEL = "org.opencontainers.image.source"
ARTIFACT_SHA256_LABEL = "io.b2i.artifact.sha256"
HISTORY_AUTHOR = "b2i"


class ImageError(OciError):
    """A base image that cannot be extended (bad JSON, unknown media type, no such platform)."""

    code = "image:invalid-base"


@dataclass(frozen=True)
class MediaFamily:
    """The media types of one family: an image uses one family throughout."""

    name: str
    index: str
    manifest: str
    config: str
    layer_gzip: str
    annotations: bool


OCI_FAMILY = MediaFamily("oci", OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP, True)
DOCKER_FAMILY = MediaFamily(
    "docker", DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER_GZIP, False
)


def family_of(media_type: str) -> MediaFamily:
    """Return the family of a manifest or index media type."""
    if media_type in (OCI_MANIFEST, OCI_INDEX):
        return OCI_FAMILY
    if media_type in (DOCKER_MANIFEST, DOCKER_LIST):
        return DOCKER_FAMILY
    raise ImageError(f"unsupported manifest media type {media_type!r}", code="image:unsupported")


def sha256_digest(data: bytes) -> str:
    """Return the `sha256:<hex>` digest of DATA."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Serialise VALUE deterministically: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: media type, digest and size (plus optional extras)."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] | None = None
    platform: Mapping[str, Any] | None = None
    urls: Sequence[str] | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Descriptor:
        """Parse a descriptor object, refusing one without digest or size."""
        try:
            return cls(
                media_type=str(value.get("mediaType", "")),
                digest=str(value["digest"]),
                size=int(value["size"]),
                annotations=value.get("annotations"),
                platform=value.get("platform"),
                urls=value.get("urls"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ImageError(f"malformed descriptor in base image: {value!r}") from error

    def to_json(self) -> dict[str, Any]:
        """Return the descriptor as a JSON object (extras only when present)."""
        value: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.urls:
            value["urls"] = list(self.urls)
        if self.annotations:
            value["annotations"] = dict(self.annotations)
        if self.platform:
            value["platform"] = dict(self.platform)
        return value


@dataclass(frozen=True)
class Platform:
    """An OS/architecture[/variant] pair, e.g. linux/amd64 or linux/arm64/v8."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse `os/arch[/variant]`, with a clear error for anything else."""
        parts = text.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ImageError(
                f"platform {text!r} is not OS/ARCH[/VARIANT], e.g. linux/amd64",
                code="build:user:invalid-platform",
            )
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        """Tell whether an index entry's `platform` object is this platform."""
        if entry.get("os") != self.os or entry.get("architecture") != self.architecture:
            return False
        wanted = self.variant or ("v8" if self.architecture == "arm64" else "")
        found = str(entry.get("variant") or ("v8" if self.architecture == "arm64" else ""))
        return not wanted or found == wanted


def is_attestation(entry: Descriptor) -> bool:
    """Tell whether an index entry is a BuildKit attestation rather than an image."""
    annotations = entry.annotations or {}
    platform = entry.platform or {}
    return (
        annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        or platform.get("os") == "unknown"
    )


def select_platform(index: Mapping[str, Any], platform: Platform) -> Descriptor:
    """Return the index entry for PLATFORM, skipping attestation entries."""
    entries = [Descriptor.from_json(item) for item in index.get("manifests") or []]
    images = [entry for entry in entries if not is_attestation(entry)]
    for entry in images:
        if platform.matches(entry.platform or {}):
            return entry
    offered = ", ".join(str(Platform.parse(describe_platform(e))) for e in images) or "none"
    raise ImageError(
        f"the base image has no {platform} variant (it offers: {offered}); "
        "choose another platform or base",
        code="build:user:platform-unavailable",
    )


def describe_platform(entry: Descriptor) -> str:
    """Return `os/arch[/variant]` of an index entry (unknown parts as `unknown`)."""
    platform = entry.platform or {}
    parts = [str(platform.get("os") or "unknown"), str(platform.get("architecture") or "unknown")]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


@dataclass(frozen=True)
class BaseImage:
    """A resolved, digest-pinned base: its manifest and config as fetched from the registry."""

    name: str
    digest: str
    manifest: Mapping[str, Any]
    config: Mapping[str, Any]
    media_type: str

    @property
    def family(self) -> MediaFamily:
        """Return whether the base is an OCI or a Docker image (new manifests follow it)."""
        return family_of(self.media_type)

    @property
    def layers(self) -> list[Descriptor]:
        """Return the base's layer descriptors, in order."""
        return [Descriptor.from_json(item) for item in self.manifest.get("layers") or []]

    @property
    def pinned_name(self) -> str:
        """Return `name@digest` (the tag, if any, dropped)."""
        return f"{strip_tag_and_digest(self.name)}@{self.digest}"


def strip_tag_and_digest(name: str) -> str:
    """Return a reference without its `@digest` and `:tag` parts."""
    repository = name.split("@", 1)[0]
    last_slash = repository.rfind("/")
    colon = repository.rfind(":")
    return repository[:colon] if colon > last_slash else repository


def parse_base(name: str, digest: str, manifest_bytes: bytes, config_bytes: bytes) -> BaseImage:
    """Parse a fetched base manifest and config into a `BaseImage`."""
    manifest = _load_json(manifest_bytes, "manifest")
    config = _load_json(config_bytes, "config")
    media_type = str(manifest.get("mediaType") or "")
    if not media_type:
        config_type = str((manifest.get("config") or {}).get("mediaType") or "")
        media_type = DOCKER_MANIFEST if config_type == DOCKER_CONFIG else OCI_MANIFEST
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise ImageError(f"base {name} is a {media_type}, not an image manifest")
    rootfs = config.get("rootfs") or {}
    if len(rootfs.get("diff_ids") or []) != len(manifest.get("layers") or []):
        raise ImageError(f"base {name}: config diff_ids do not match the manifest's layers")
    return BaseImage(name, digest, manifest, config, media_type)


def _load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImageError(f"the base image's {what} is not valid JSON") from error
    if not isinstance(value, dict):
        raise ImageError(f"the base image's {what} is not a JSON object")
    return value


@dataclass(frozen=True)
class NewLayer:
    """A layer to add: its compressed digest/size, uncompressed diff_id and what made it."""

    digest: str
    diff_id: str
    size: int
    created_by: str


@dataclass(frozen=True)
class ContainerSettings:
    """Run settings to set on the image; None keeps the base's value."""

    entrypoint: Sequence[str] | None = None
    cmd: Sequence[str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: Sequence[str] = ()
    working_dir: str | None = None
    user: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageMetadata:
    """What the image says about where it came from (labels and OCI annotations)."""

    title: str
    artifact_sha256: str
    source: str = ""
    created: str = FIXED_CREATED

    def labels(self, base: BaseImage) -> dict[str, str]:
        """Return the provenance labels for an image built on BASE."""
        values = {
            BASE_DIGEST_LABEL: base.digest,
            BASE_NAME_LABEL: base.name,
            TITLE_LABEL: self.title,
            ARTIFACT_SHA256_LABEL: self.artifact_sha256,
        }
        if self.source:
            values[SOURCE_LABEL] = self.source
        return values


@dataclass(frozen=True)
class ComposedImage:
    """The bytes to push: config blob, manifest, and every layer the manifest names."""

    manifest_bytes: bytes
    media_type: str
    config_bytes: bytes
    config: Descriptor
    layers: tuple[Descriptor, ...]
    added_layers: tuple[Descriptor, ...]

    @property
    def digest(self) -> str:
        """Return the manifest digest: the image's identity once pushed."""
        return sha256_digest(self.manifest_bytes)

    @property
    def compressed_size(self) -> int:
        """Return the bytes a pull transfers: manifest, config and every layer."""
        layers = sum(layer.size for layer in self.layers)
        return len(self.manifest_bytes) + self.config.size + layers


def merge_env(base_env: Sequence[str], updates: Mapping[str, str]) -> list[str]:
    """Return the base `K=V` list with UPDATES applied: replaced in place, new ones appended."""
    merged: dict[str, str] = {}
    for item in base_env:
        key, _, value = item.partition("=")
        merged[key] = value
    merged.update(updates)
    return [f"{key}={value}" for key, value in merged.items()]


def normalise_port(port: str | int) -> str:
    """Return a port as `N/tcp` (or `N/udp` when given so), refusing nonsense."""
    text = str(port).strip().lower()
    number, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if not number.isdigit() or not 1 <= int(number) <= 65535 or protocol not in ("tcp", "udp"):
        raise ImageError(
            f"port {port!r} is not a number 1-65535 (optionally /tcp or /udp)",
            code="build:user:invalid-port",
        )
    return f"{int(number)}/{protocol}"


def apply_settings(
    base_settings: Mapping[str, Any], settings: ContainerSettings, labels: Mapping[str, str]
) -> dict[str, Any]:
    """Return the base's container config with SETTINGS and LABELS set on top."""
    result = dict(base_settings)
    if settings.entrypoint is not None:
        result["Entrypoint"] = list(settings.entrypoint)
        if settings.cmd is None:
            # A new entrypoint with the base's Cmd would pass the base's arguments to our app.
            result["Cmd"] = None
    if settings.cmd is not None:
        result["Cmd"] = list(settings.cmd)
    if settings.env:
        result["Env"] = merge_env(result.get("Env") or [], settings.env)
    if settings.exposed_ports:
        ports = dict(result.get("ExposedPorts") or {})
        ports.update({normalise_port(port): {} for port in settings.exposed_ports})
        result["ExposedPorts"] = ports
    if settings.working_dir is not None:
        result["WorkingDir"] = settings.working_dir
    if settings.user is not None:
        result["User"] = settings.user
    result["Labels"] = {**(result.get("Labels") or {}), **settings.labels, **labels}
    return {key: value for key, value in result.items() if value is not None}


def describe_settings(settings: ContainerSettings) -> str:
    """Return a Dockerfile-like line describing the config-only changes (for history)."""
    parts = []
    if settings.entrypoint is not None:
        parts.append(f"ENTRYPOINT {json.dumps(list(settings.entrypoint))}")
    if settings.cmd is not None:
        parts.append(f"CMD {json.dumps(list(settings.cmd))}")
    parts += [f"ENV {key}={value}" for key, value in settings.env.items()]
    parts += [f"EXPOSE {normalise_port(port)}" for port in settings.exposed_ports]
    if settings.working_dir is not None:
        parts.append(f"WORKDIR {settings.working_dir}")
    if settings.user is not None:
        parts.append(f"USER {settings.user}")
    parts.append("LABEL provenance")
    return "b2i: " + " ".join(parts)


def base_history(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the base's history, padded so its non-empty entries match its diff_ids."""
    history = [dict(entry) for entry in config.get("history") or []]
    layer_entries = sum(1 for entry in history if not entry.get("empty_layer"))
    missing = len((config.get("rootfs") or {}).get("diff_ids") or []) - layer_entries
    # Some bases ship no history at all; tools that pair history with diff_ids break unless
    # every layer has an entry, so pad with anonymous ones.
    return [{"created_by": "base layer"} for _ in range(max(missing, 0))] + history


def compose_config(
    base: BaseImage,
    new_layers: Sequence[NewLayer],
    settings: ContainerSettings,
    metadata: ImageMetadata,
) -> dict[str, Any]:
    """Return the new image config: base config, settings, diff_ids and matching history."""
    config = dict(base.config)
    config["created"] = metadata.created
    config["config"] = apply_settings(config.get("config") or {}, settings, metadata.labels(base))
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), *(layer.diff_id for layer in new_layers)]
    config["rootfs"] = rootfs
    history = base_history(base.config)
    for layer in new_layers:
        history.append(
            {"created": metadata.created, "created_by": layer.created_by, "author": HISTORY_AUTHOR}
        )
    history.append(
        {
            "created": metadata.created,
            "created_by": describe_settings(settings),
            "author": HISTORY_AUTHOR,
            "empty_layer": True,
        }
    )
    config["history"] = history
    for stale in ("container", "container_config", "docker_version"):
        # Left over from `docker commit` of the base: they describe the base's build container,
        # not this image, and Docker shows `config` anyway.
        config.pop(stale, None)
    return config


def compose_image(
    base: BaseImage,
    new_layers: Sequence[NewLayer],
    settings: ContainerSettings,
    metadata: ImageMetadata,
) -> ComposedImage:
    """Extend BASE with NEW_LAYERS and SETTINGS; return the config and manifest bytes."""
    family = base.family
    config_bytes = canonical_json(compose_config(base, new_layers, settings, metadata))
    config = Descriptor(family.config, sha256_digest(config_bytes), len(config_bytes))
    added = tuple(Descriptor(family.layer_gzip, layer.digest, layer.size) for layer in new_layers)
    layers = (*base.layers, *added)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": family.manifest,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if family.annotations:
        manifest["annotations"] = metadata.labels(base)
    return ComposedImage(
        canonical_json(manifest), family.manifest, config_bytes, config, layers, added
    )
