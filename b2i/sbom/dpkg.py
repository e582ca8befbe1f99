"""The Debian packages of a base image, read from its layer tars as they stream by.

dpkg records what is installed in `var/lib/dpkg/status`; distroless images, which have no
dpkg, keep one file per package in `var/lib/dpkg/status.d/`. Each base layer is streamed
from the registry once (gunzipped on the fly, never extracted), only those files and
`etc/os-release` are kept (bounded), and the result is cached by the layer's digest: a layer
never changes, so later builds on the same base read a few small files from disk instead.
Layers are applied in order (a later layer's file replaces an earlier one's; whiteouts
remove them) to give the image's final package list.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, cast

STATUS = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
MAX_STATUS_BYTES = 64 * 1024 * 1024
MAX_STATUS_FILES = 10_000
MAX_OS_RELEASE_BYTES = 64 * 1024
_CACHE_VERSION = 1
_GZIP_TYPES = ("tar+gzip", "tar.gzip")
_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class DebianPackage:
    """One installed package: name, version, architecture, its source package if named."""

    name: str
    version: str
    architecture: str
    source: str = ""


@dataclass(frozen=True)
class OsPackages:
    """The packages installed in an image and the distribution (os-release ID) they are of."""

    distribution: str
    distribution_version: str
    packages: tuple[DebianPackage, ...]


class Readable(Protocol):
    """A stream of bytes (a file, or a registry's blob stream)."""

    def read(self, size: int = -1, /) -> bytes: ...


LayerOpener = Callable[[str], contextlib.AbstractContextManager[Readable]]

# What one layer holds of interest: file path -> text, and the paths it deletes (whiteouts).
LayerFiles = dict[str, Any]


def parse_status(text: str) -> list[DebianPackage]:
    """Return the installed packages of a dpkg status file (or a status.d file)."""
    packages = []
    for stanza in text.split("\n\n"):
        fields = _stanza_fields(stanza)
        name, version = fields.get("Package"), fields.get("Version")
        status = fields.get("Status", "install ok installed").split()
        if not name or not version or status[-1:] != ["installed"]:
            continue
        source = fields.get("Source", "").split(" ")[0]
        packages.append(DebianPackage(name, version, fields.get("Architecture", ""), source))
    return packages


def _stanza_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line[:1] in (" ", "\t") or ":" not in line:
            continue  # continuation lines (descriptions, conffiles) are not needed
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def parse_os_release(text: str) -> dict[str, str]:
    """Return the KEY=value pairs of an os-release file (quotes removed)."""
    values = {}
    for line in text.splitlines():
        key, separator, value = line.partition("=")
        if separator and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip("\"'")
    return values


def read_layer_files(stream: Readable, media_type: str) -> LayerFiles:
    """Return the dpkg and os-release files a layer holds, reading its tar as a stream.

    The stream is read to its end, so that a verifying stream checks the blob's digest.
    """
    gzipped = any(kind in media_type for kind in _GZIP_TYPES)
    raw = cast(IO[bytes], stream)
    source = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if gzipped else raw
    files: dict[str, str] = {}
    deleted: list[str] = []
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for member in tar:
            name = _normal(member.name)
            gone = _whiteout(name)
            if gone is not None:
                deleted.append(gone)
            elif member.isfile() and _wanted(name) and len(files) < MAX_STATUS_FILES:
                limit = MAX_OS_RELEASE_BYTES if name in OS_RELEASE else MAX_STATUS_BYTES
                handle = tar.extractfile(member)
                if handle is not None and member.size <= limit:
                    files[name] = handle.read(limit).decode("utf-8", "replace")
    while source.read(1024 * 1024):
        pass  # the tar's trailing padding: the digest covers every byte
    return {"files": files, "deleted": deleted}


def _normal(name: str) -> str:
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name


def _whiteout(name: str) -> str | None:
    directory, _, base = name.rpartition("/")
    if base == ".wh..wh..opq":
        return directory + "/"
    if base.startswith(".wh."):
        return f"{directory}/{base[4:]}" if directory else base[4:]
    return None


def _wanted(name: str) -> bool:
    if name == STATUS or name in OS_RELEASE:
        return True
    # status.d holds one file per package, plus .md5sums files beside them (not wanted).
    return (
        name.startswith(STATUS_DIR)
        and "/" not in name[len(STATUS_DIR) :]
        and "." not in (name[len(STATUS_DIR) :])
    )


def merge_layers(layers: Iterable[LayerFiles]) -> OsPackages:
    """Apply the layers in order and return the image's packages and distribution."""
    files: dict[str, str] = {}
    for layer in layers:
        for gone in layer.get("deleted", []):
            for path in [p for p in files if p == gone or p.startswith(gone.rstrip("/") + "/")]:
                del files[path]
        files.update(layer.get("files", {}))
    packages: dict[tuple[str, str], DebianPackage] = {}
    for path in sorted(files):
        if path == STATUS or path.startswith(STATUS_DIR):
            for package in parse_status(files[path]):
                packages[(package.name, package.architecture)] = package
    release = parse_os_release(files.get(OS_RELEASE[0]) or files.get(OS_RELEASE[1]) or "")
    ordered = tuple(sorted(packages.values(), key=lambda p: (p.name, p.architecture)))
    return OsPackages(release.get("ID", "debian"), release.get("VERSION_ID", ""), ordered)


class LayerFilesCache:
    """LayerFiles by layer digest, as JSON files in a directory (written whole, renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, digest: str) -> LayerFiles | None:
        path = self._path(digest)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
            return None
        return {"files": data.get("files", {}), "deleted": data.get("deleted", [])}

    def put(self, digest: str, layer: LayerFiles) -> None:
        path = self._path(digest)
        if path is None:
            return
        with contextlib.suppress(OSError):  # a cache never fails a build
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".put-", dir=self.root)
            with os.fdopen(handle, "w") as out:
                json.dump({"version": _CACHE_VERSION, **layer}, out)
            os.replace(temporary, path)

    def _path(self, digest: str) -> Path | None:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64 or not set(hexdigest) <= _HEX:
            return None  # only digests name files: no path tricks
        return self.root / f"{hexdigest}.json"


def dpkg_cache_in(layer_cache: Path | None) -> LayerFilesCache | None:
    """Return the dpkg cache kept beside the layer cache at LAYER_CACHE (None: no cache)."""
    return LayerFilesCache(layer_cache / "dpkg-by-layer") if layer_cache is not None else None


@dataclass(frozen=True)
class BaseLayer:
    """A base layer to read: its digest and media type."""

    digest: str
    media_type: str


def os_packages(
    layers: Sequence[BaseLayer],
    open_layer: LayerOpener,
    cache: LayerFilesCache | None,
) -> OsPackages:
    """Return the packages of an image with LAYERS (each read through OPEN_LAYER or CACHE)."""
    return merge_layers(_layer_files(layer, open_layer, cache) for layer in layers)


def _layer_files(
    layer: BaseLayer,
    open_layer: LayerOpener,
    cache: LayerFilesCache | None,
) -> LayerFiles:
    known = cache.get(layer.digest) if cache is not None else None
    if known is not None:
        return known
    if "zstd" in layer.media_type:
        return {"files": {}, "deleted": []}  # not readable here (no zstd): nothing found
    with open_layer(layer.digest) as stream:
        files = read_layer_files(stream, layer.media_type)
    if cache is not None:
        cache.put(layer.digest, files)
    return files
