"""Maven coordinates inside a JAR or WAR: the application and every library it embeds.

Read from the archive in place (b2i.packaging.archives.SafeArchive: checked central directory,
bounded member reads), never extracted to disk:
- `META-INF/maven/<group>/<artifact>/pom.properties` of the artifact itself (a shaded JAR has
  several: one component each);
- each `BOOT-INF/lib/*.jar` and `WEB-INF/lib/*.jar` with its sha-256 and its own
  pom.properties, else its manifest's Implementation-* / Bundle-* fields, else its file name.
  A stored nested jar (Spring Boot stores them so) is opened as a window onto the outer file;
  a deflated one is inflated into memory when it is small enough, else only hashed.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Protocol

from b2i.packaging.archives import SafeArchive
from b2i.packaging.jar import BOOT_LIB, MANIFEST, parse_manifest
from b2i.packaging.war import WEB_INF_LIB
from b2i.sbom.nested_zip import ReadAt, wanted_members

POM_PREFIX = "META-INF/maven/"
# Bounds for what one artifact may make us read (a crafted archive cannot make us read more).
MAX_NESTED_JARS = 5000
MAX_POMS_PER_JAR = 64
MAX_POM_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 256 * 1024
MAX_NESTED_ENTRIES = 200_000
# A deflated nested jar up to this size is inflated in memory to read its coordinates.
MAX_INFLATED_NESTED = 64 * 1024 * 1024
_HASH_CHUNK = 4 * 1024 * 1024
_FILENAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d[\w.+~-]*)$")


@dataclass(frozen=True)
class MavenComponent:
    """One Maven artifact found in an archive, and how it was identified."""

    group: str | None
    name: str
    version: str | None
    # Hex sha-256 of the jar file itself; None for what has no file of its own (shaded).
    sha256: str | None
    # Where it was found: "BOOT-INF/lib/x.jar", "META-INF/maven/g/a/pom.properties", …
    path: str
    # "pom.properties", "manifest" or "filename".
    evidence: str

    @property
    def purl(self) -> str | None:
        """Return `pkg:maven/group/name@version`; None without a group (no valid purl)."""
        if not self.group:
            return None
        version = f"@{_purl_escape(self.version)}" if self.version else ""
        return f"pkg:maven/{_purl_escape(self.group)}/{_purl_escape(self.name)}{version}"


@dataclass(frozen=True)
class ArchiveComponents:
    """The artifact's own coordinates (if known) and the libraries inside it."""

    application: MavenComponent | None
    libraries: tuple[MavenComponent, ...]
    # (index in `libraries`, member): stored nested jars whose sha-256 is left to
    # `with_hashes` (the layer writer may have computed it already: see components_of_archive).
    unhashed: tuple[tuple[int, zipfile.ZipInfo], ...] = ()


def _purl_escape(text: str) -> str:
    # purl percent-encodes anything outside its safe characters in each segment.
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~+"
    return "".join(char if char in safe else f"%{ord(char):02X}" for char in text)


def parse_pom_properties(text: str) -> dict[str, str]:
    """Return the key=value pairs of a pom.properties (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, separator, value = line.partition("=")
        if separator:
            values[key.strip()] = value.strip()
    return values


def components_of_archive(
    archive: SafeArchive,
    filename: str,
    lib_dirs: tuple[str, ...] = (BOOT_LIB, WEB_INF_LIB),
    *,
    hash_stored: bool = True,
) -> ArchiveComponents:
    """Return the application's coordinates and every library found in ARCHIVE.

    With `hash_stored=False` a stored nested jar (Spring Boot stores them all) is not hashed
    here: its component's sha256 stays None, listed in `unhashed`, for `with_hashes`. The layer
    writer hashes the same bytes for its cache key; the engine hands those digests over."""
    own = list(_poms_of(archive, ""))
    manifest = _manifest_of(archive)
    application = _pick_application(own, manifest, filename)
    libraries = [pom for pom in own if pom is not application]
    unhashed: list[tuple[int, zipfile.ZipInfo]] = []
    nested = [info for info in archive.files if _is_nested_jar(info.filename, lib_dirs)]
    for info in nested[:MAX_NESTED_JARS]:
        found = _nested_components(archive, info, hash_stored)
        if found[0].sha256 is None:  # the first carries the jar's own hash
            unhashed.append((len(libraries), info))
        libraries.extend(found)
    return ArchiveComponents(application, tuple(libraries), tuple(unhashed))


def with_hashes(
    components: ArchiveComponents, sha256_of: Callable[[zipfile.ZipInfo], str]
) -> ArchiveComponents:
    """Return COMPONENTS with the sha-256 of each unhashed nested jar filled in by SHA256_OF."""
    libraries = list(components.libraries)
    for index, info in components.unhashed:
        libraries[index] = replace(libraries[index], sha256=sha256_of(info))
    return ArchiveComponents(components.application, tuple(libraries))


def stored_member_sha256(archive: SafeArchive, info: zipfile.ZipInfo) -> str:
    """Return the hex sha-256 of a stored member (a nested jar), read in place."""
    start, length = archive.raw_range(info)
    return _hash_stream(_Window(archive, start, length))


def _is_nested_jar(name: str, lib_dirs: tuple[str, ...]) -> bool:
    if not name.endswith(".jar"):
        return False
    return any(name.startswith(lib) and "/" not in name[len(lib) :] for lib in lib_dirs)


def _pick_application(
    poms: list[MavenComponent], manifest: dict[str, str], filename: str
) -> MavenComponent | None:
    """Return the pom.properties that describes the artifact itself, if one does.

    A shaded JAR carries its dependencies' pom.properties beside its own: its own is the one
    the file is named after (`artifact-version*.jar`), else the one its manifest names.
    """
    stem = PurePosixPath(filename).stem
    for pom in poms:
        if stem.startswith(f"{pom.name}-{pom.version}") or stem == pom.name:
            return pom
    title = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName")
    for pom in poms:
        if title and pom.name == title.split(";")[0].strip():
            return pom
    return poms[0] if len(poms) == 1 else None


def _poms_of(archive: SafeArchive, where: str) -> Iterator[MavenComponent]:
    count = 0
    for info in archive.iter_files(POM_PREFIX):
        if not info.filename.endswith("/pom.properties") or count >= MAX_POMS_PER_JAR:
            continue
        count += 1
        text = archive.read(info.filename, MAX_POM_BYTES).decode("utf-8", "replace")
        component = _from_pom(text, f"{where}{info.filename}", None)
        if component is not None:
            yield component


def _from_pom(text: str, path: str, sha256: str | None) -> MavenComponent | None:
    values = parse_pom_properties(text)
    name = values.get("artifactId")
    if not name:
        return None
    group, version = values.get("groupId") or None, values.get("version") or None
    return MavenComponent(group, name, version, sha256, path, "pom.properties")


def _manifest_of(archive: SafeArchive) -> dict[str, str]:
    if not archive.has(MANIFEST):
        return {}
    return parse_manifest(archive.read(MANIFEST, MAX_MANIFEST_BYTES).decode("utf-8", "replace"))


def _nested_components(
    archive: SafeArchive, info: zipfile.ZipInfo, hash_stored: bool = True
) -> list[MavenComponent]:
    """Return the coordinates of one nested jar (several when it is itself shaded); the first
    is the jar's own, with its sha-256 (None when HASH_STORED is False and it is stored)."""
    sha256, read_at, size = _open_nested(archive, info, hash_stored)
    found: list[MavenComponent] = []
    manifest: dict[str, str] = {}
    members = wanted_members(read_at, size, MAX_POM_BYTES, MAX_POMS_PER_JAR) if read_at else None
    if members is not None:
        found, manifest = _from_members(members, info.filename)
    elif read_at is not None and (opened := _as_zip(_ReadAtFile(read_at, size))) is not None:
        with opened:  # what the quick path leaves (zip64, a prefix): zipfile reads it all
            found, manifest = _read_nested(opened, info.filename)
    own = _pick_application(found, manifest, info.filename)
    if own is not None:
        own_with_hash = MavenComponent(
            own.group, own.name, own.version, sha256, info.filename, own.evidence
        )
        return [own_with_hash, *(pom for pom in found if pom is not own)]
    return [_fallback(manifest, info.filename, sha256), *found]


def _from_members(
    members: dict[str, bytes], where: str
) -> tuple[list[MavenComponent], dict[str, str]]:
    manifest: dict[str, str] = {}
    found: list[MavenComponent] = []
    for name in sorted(members):
        text = members[name].decode("utf-8", "replace")
        if name == MANIFEST:
            manifest = parse_manifest(text[:MAX_MANIFEST_BYTES])
            continue
        component = _from_pom(text, f"{where}!/{name}", None)
        found += [component] if component is not None else []
    return found, manifest


def _read_nested(
    nested: zipfile.ZipFile, where: str
) -> tuple[list[MavenComponent], dict[str, str]]:
    infos = nested.infolist()
    if len(infos) > MAX_NESTED_ENTRIES:
        return [], {}
    found: list[MavenComponent] = []
    manifest: dict[str, str] = {}
    for info in infos:
        name = info.filename
        if name == MANIFEST and info.file_size <= MAX_MANIFEST_BYTES:
            manifest = parse_manifest(_read_bounded(nested, info, MAX_MANIFEST_BYTES))
        elif _is_pom(name) and len(found) < MAX_POMS_PER_JAR and info.file_size <= MAX_POM_BYTES:
            text = _read_bounded(nested, info, MAX_POM_BYTES)
            component = _from_pom(text, f"{where}!/{name}", None)
            found += [component] if component is not None else []
    return found, manifest


def _is_pom(name: str) -> bool:
    return name.startswith(POM_PREFIX) and name.endswith("/pom.properties")


def _read_bounded(nested: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> str:
    try:
        with nested.open(info) as member:
            return member.read(limit + 1)[:limit].decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return ""  # a damaged member of a library: its coordinates fall back to the name


def _fallback(manifest: dict[str, str], path: str, sha256: str | None) -> MavenComponent:
    """Identify a jar without pom.properties by its manifest, else by its file name."""
    title = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName")
    version = manifest.get("Implementation-Version") or manifest.get("Bundle-Version")
    if title and version:
        group = manifest.get("Implementation-Vendor-Id") or None
        name = title.split(";")[0].strip()
        return MavenComponent(group, name, version, sha256, path, "manifest")
    stem = PurePosixPath(path).stem
    match = _FILENAME_VERSION.match(stem)
    name, version = (match["name"], match["version"]) if match else (stem, None)
    return MavenComponent(None, name, version, sha256, path, "filename")


def _open_nested(
    archive: SafeArchive, info: zipfile.ZipInfo, hash_stored: bool = True
) -> tuple[str | None, ReadAt | None, int]:
    """Return the nested jar's sha-256 and, when it can be read in place, a reader and size."""
    if info.compress_type == zipfile.ZIP_STORED:
        start, length = archive.raw_range(info)
        sha256 = stored_member_sha256(archive, info) if hash_stored else None
        return sha256, _bounded_reader(archive, start, length), length
    if info.file_size <= MAX_INFLATED_NESTED:
        data = archive.read(info.filename, MAX_INFLATED_NESTED)
        return hashlib.sha256(data).hexdigest(), lambda at, n: data[at : at + n], len(data)
    with archive.open_member(info) as member:
        return _hash_stream(member), None, 0


def _bounded_reader(archive: SafeArchive, start: int, length: int) -> ReadAt:
    def read_at(offset: int, count: int) -> bytes:
        count = max(0, min(count, length - offset))
        return archive.pread(count, start + offset) if count and offset >= 0 else b""

    return read_at


class _ReadAtFile(io.RawIOBase):
    """A seekable file over a ReadAt (for zipfile, the slow path)."""

    def __init__(self, read_at: ReadAt, size: int) -> None:
        super().__init__()
        self._read_at, self._size, self._position = read_at, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    # io passes a memoryview; typeshed's parameter is its wider buffer protocol type.
    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read_at(self._position, len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _hash_stream(stream: _Readable) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _as_zip(raw: io.RawIOBase) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BufferedReader(raw, 64 * 1024))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None  # not a readable zip: the file name still names it


class _Window(io.RawIOBase):
    """A seekable read-only view of LENGTH bytes at START of an archive's file."""

    def __init__(self, archive: SafeArchive, start: int, length: int) -> None:
        super().__init__()
        self._archive, self._start, self._length, self._position = archive, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    # io passes a memoryview; typeshed's parameter is its wider buffer protocol type.
    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self._length - self._position))
        data = self._archive.pread(count, self._start + self._position) if count else b""
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def read(self, size: int | None = -1, /) -> bytes:
        size = -1 if size is None else size
        count = self._length - self._position if size < 0 else size
        count = max(0, min(count, self._length - self._position))
        data = self._archive.pread(count, self._start + self._position) if count else b""
        self._position += len(data)
        return data
