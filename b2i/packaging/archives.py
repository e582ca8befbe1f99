"""Safe zip reading: limits checked from the central directory before any member is read.

Checked up front: entry count, declared uncompressed total, compression ratio (whole archive and
per member), unsafe names (`..`, absolute, drive letters, NUL), encryption, and members whose
declared data would lie beyond the end of the file (a truncated or forged archive). While
reading, bytes are counted, because declared sizes can lie. Nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple, cast

from isal import isal_zlib

from b2i.packaging.errors import (
    CORRUPT_ARCHIVE,
    ENCRYPTED_ARCHIVE,
    NOT_AN_ARCHIVE,
    TOO_MANY_ENTRIES,
    UNSAFE_PATH,
    ZIP_BOMB,
    ArtifactError,
)
from b2i.packaging.zipdir import END_RECORD, end_record, read_directory

MiB = 1024 * 1024
GiB = 1024 * MiB
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_SMALL_MEMBER = 1024 * 1024
_CLASS_MAGIC = b"\xca\xfe\xba\xbe"
_WINDOW = 256 * 1024
_WINDOWS_KEPT = 8  # 2 MiB per reading thread
# Compressed patched data and strong encryption: ZipFile.open refuses them too.
_UNSUPPORTED_FLAGS = 0x20 | 0x40
_DRIVE = re.compile(r"^[A-Za-z]:")
# isal's stubs declare its exception class as an instance.
_InflateError: type[Exception] = isal_zlib.error  # type: ignore[assignment]


@dataclass(frozen=True)
class ZipLimits:
    """Bounds an archive must respect before it is read."""

    max_entries: int = 200_000
    max_total_size: int = 4 * GiB
    max_ratio: int = 200
    # Ratios only matter for big expansions: a 2 MiB text file compressing 500:1 is harmless.
    ratio_floor: int = 32 * MiB
    max_member_read: int = 16 * MiB


DEFAULT_LIMITS = ZipLimits()


def is_zip(path: Path) -> bool:
    """Return True when the file starts with a zip local-header or empty-archive signature."""
    with path.open("rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def is_prefixed_zip(path: Path) -> bool:
    """Return True for a zip behind a prefix, e.g. Spring Boot's "fully executable" jar script."""
    size = path.stat().st_size
    return not is_zip(path) and _ends_with_end_record(path, size)


def unsafe_name_reason(name: str) -> str | None:
    """Return why a member name is unsafe to place in a file system, or None when it is safe."""
    if "\0" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "is an absolute path"
    # The substring test first: a fat jar has ~26,000 names, almost none with "..".
    if ".." in name and ".." in re.split(r"[/\\]", name):
        return "contains '..'"
    return None


@dataclass(frozen=True)
class _Directory:
    """A parsed central directory that passed the checks of one set of limits."""

    infos: list[zipfile.ZipInfo]
    files: list[zipfile.ZipInfo]
    by_name: dict[str, zipfile.ZipInfo]
    duplicates: int


# The last checked directory, keyed by a digest of the bytes it was parsed from: inspection and
# layer planning open the same archive one after the other, and parsing + checking a fat jar's
# 26,000 entries costs ~0.3 s. Keyed by content (not path or mtime), a rewritten file can never
# be served a stale directory; member bytes are still verified (local header, CRC) on read.
_RECENT: dict[tuple[bytes, int, ZipLimits], _Directory] = {}
_RECENT_LOCK = threading.Lock()
# Bounds what stays in memory between builds (~400 bytes per entry).
_CACHED_ENTRIES_MAX = 100_000


class SafeArchive:
    """A zip archive whose central directory passed the safety checks; read members from it."""

    def __init__(self, path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self.file_size = path.stat().st_size
        self._zip: zipfile.ZipFile | None = None
        directory = self._load_directory()
        self.infos = directory.infos
        self.files = directory.files
        self._by_name = directory.by_name
        self.names = directory.by_name.keys()
        self.duplicates = directory.duplicates
        # A descriptor of our own for os.pread: positionless reads are safe from several
        # threads (layers are written in parallel) without zipfile's seek-and-lock dance.
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._lock = threading.Lock()
        self._content_ids: dict[int, bytes] | None = None
        self._offsets: dict[int, int] = {}
        self._seen: dict[int, bytes] = {}  # raw-bytes digests of members read whole
        # Class-file major versions of the members read whole, by local header offset: the
        # layer writer reads every class anyway, so the version scan need not read them again.
        self.class_majors: dict[int, int] = {}
        self._windows = threading.local()  # per thread: layers are written in parallel

    def _load_directory(self) -> _Directory:
        raw = _directory_fingerprint(self.path, self.file_size)
        fingerprint = raw.fingerprint if raw is not None else b""
        key = (fingerprint, self.file_size, self.limits)
        with _RECENT_LOCK:
            known = _RECENT.get(key) if fingerprint else None
        if known is not None:
            return known
        infos = None
        if raw is not None:
            infos = read_directory(raw.directory, raw.end_record, raw.directory_at)
        if infos is None:
            infos = self._zipfile_directory()
        try:
            _check_directory(infos, self.limits, self.file_size)
        except BaseException:
            if self._zip is not None:
                self._zip.close()
            raise
        by_name = {info.filename: info for info in infos}  # the last of duplicates wins
        files = [info for info in infos if not info.is_dir()]
        directory = _Directory(infos, files, by_name, len(infos) - len(by_name))
        if fingerprint and len(infos) <= _CACHED_ENTRIES_MAX:
            with _RECENT_LOCK:
                _RECENT.clear()
                _RECENT[key] = directory
        return directory

    def _zipfile_directory(self) -> list[zipfile.ZipInfo]:
        # zip64 and anything unusual: zipfile's own parser (slower, handles every variant).
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise _not_a_complete_zip(self.path) from error
        return self._zip.infolist()

    @property
    def zip(self) -> zipfile.ZipFile:
        """Return the archive as a zipfile (opened on first use: only big members need it)."""
        with self._lock:
            if self._zip is None:
                try:
                    self._zip = zipfile.ZipFile(self.path)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
                    raise _not_a_complete_zip(self.path) from error
            return self._zip

    def __enter__(self) -> SafeArchive:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying zip file."""
        if self._zip is not None:
            self._zip.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        known = self._offsets.get(info.header_offset)
        if known is not None:
            return known
        header = os.pread(self._fd, _LOCAL_HEADER.size, info.header_offset)
        if len(header) != _LOCAL_HEADER.size:
            raise _corrupt_member(info.filename, EOFError("short local header"))
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if signature != b"PK\x03\x04":
            raise _corrupt_member(info.filename, ValueError("bad local header signature"))
        offset: int = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        return offset

    def raw_range(self, info: zipfile.ZipInfo) -> tuple[int, int]:
        """Return (offset, length) of a member's raw (stored or compressed) bytes in the file."""
        return self._data_offset(info), info.compress_size

    def pread(self, size: int, offset: int) -> bytes:
        """Read SIZE bytes at OFFSET of the file (positionless: safe from several threads)."""
        return os.pread(self._fd, size, offset)

    def open_member(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """Return a stream of a member's bytes; small members are inflated and CRC-checked here."""
        if not _is_small(info):
            return self._stream(info)
        return io.BytesIO(self.read_small_member(info))

    @staticmethod
    def is_small_member(info: zipfile.ZipInfo) -> bool:
        """Return True when `read_small_member` may read the member (whole, in memory)."""
        return _is_small(info)

    def read_small_member(self, info: zipfile.ZipInfo) -> bytes:
        """Return a small member's bytes, inflated and checked against its size and CRC."""
        if not _is_small(info):
            raise ValueError(f"{info.filename} is too big to be read whole")
        raw = self._raw_prefix(info, info.compress_size)
        try:
            data = raw if info.compress_type == zipfile.ZIP_STORED else _inflate(raw, info)
        except _InflateError as error:
            raise _corrupt_member(info.filename, error) from error
        if len(data) != info.file_size or isal_zlib.crc32(data) != info.CRC:
            raise _corrupt_member(info.filename, ValueError("size or CRC mismatch"))
        if data[:4] == _CLASS_MAGIC and len(data) >= 8:
            self.class_majors[info.header_offset] = int.from_bytes(data[6:8], "big")
        if len(raw) == info.compress_size:
            # The raw bytes are at hand: their digest now spares the cache key a second read.
            self._seen[info.header_offset] = hashlib.sha256(raw).digest()
        return data

    def _stream(self, info: zipfile.ZipInfo) -> IO[bytes]:
        # zipfile's own member reader (inflating, size- and CRC-checked) on a handle of ours
        # at the data: ZipFile.open would need a second parse of the central directory.
        if info.flag_bits & _UNSUPPORTED_FLAGS:
            raise _corrupt_member(info.filename, ValueError("unsupported zip features"))
        handle = open(self.path, "rb")  # noqa: SIM115 - closed by the ZipExtFile
        try:
            handle.seek(self._data_offset(info))
            return cast(IO[bytes], zipfile.ZipExtFile(handle, "r", info, None, True))
        except BaseException:
            handle.close()
            raise

    def member_content_id(self, info: zipfile.ZipInfo) -> str:
        """Return a digest of the member's method, CRC, size and raw stored bytes (no inflating)."""
        # Equal raw bytes with an equal method always inflate to equal content, so this is a
        # collision-safe content identity for cache keys, ~5x cheaper than hashing the content.
        seen = self._seen.get(info.header_offset)
        if seen is not None:
            return _identity(info, seen)
        with self._lock:
            # Most members already read (a layer was written first): identify the rest alone.
            if self._content_ids is None and len(self._seen) < len(self.files) // 2:
                self._content_ids = self._scan_content_ids()
        if self._content_ids is not None:
            return _identity(info, self._content_ids[info.header_offset])
        with open(self.path, "rb") as handle:
            handle.seek(self._data_offset(info))
            digest = _raw_digest(handle, info)
        # Kept: the SBOM states a stored nested jar's sha-256, which is this very digest.
        self._seen[info.header_offset] = digest
        return _identity(info, digest)

    def known_raw_digest(self, info: zipfile.ZipInfo) -> bytes | None:
        """Return the sha-256 of a member's raw bytes if this archive already computed it.

        For a stored member the raw bytes are the member itself: an SBOM takes a nested jar's
        sha-256 from here rather than hashing the jar a second time in the same build."""
        seen = self._seen.get(info.header_offset)
        if seen is not None:
            return seen
        identities = self._content_ids
        return identities.get(info.header_offset) if identities is not None else None

    def _scan_content_ids(self) -> dict[int, bytes]:
        # One sequential pass in offset order through a large read buffer: a few syscalls per
        # 100 MB instead of two per member (a fat jar has 70,000 members).
        identities: dict[int, bytes] = {}
        with open(self.path, "rb", buffering=8 * MiB) as handle:
            for info in sorted(self.files, key=lambda member: member.header_offset):
                handle.seek(info.header_offset)
                signature, name_length, extra_length = _LOCAL_HEADER.unpack(
                    handle.read(_LOCAL_HEADER.size).ljust(_LOCAL_HEADER.size, b"\0")
                )
                if signature != b"PK\x03\x04":
                    raise _corrupt_member(info.filename, ValueError("bad local header"))
                handle.seek(name_length + extra_length, os.SEEK_CUR)
                self._offsets[info.header_offset] = handle.tell()
                identities[info.header_offset] = _raw_digest(handle, info)
        return identities

    def has(self, name: str) -> bool:
        """Return True when the archive holds a member with exactly this name."""
        return name in self.names

    def has_prefix(self, prefix: str) -> bool:
        """Return True when any member name starts with `prefix` (e.g. "WEB-INF/")."""
        return any(name.startswith(prefix) for name in self.names)

    def iter_files(self, prefix: str = "") -> Iterator[zipfile.ZipInfo]:
        """Yield the file members (not directories) whose names start with `prefix`."""
        return (info for info in self.files if info.filename.startswith(prefix))

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """Return a member's bytes, counting them: more than `max_bytes` is refused."""
        limit = self.limits.max_member_read if max_bytes is None else max_bytes
        info = self._by_name.get(name)
        if info is None:
            raise KeyError(f"there is no item named {name!r} in the archive")
        if _is_small(info) and info.file_size <= limit:
            # Inflated in one go, capped at the declared size + 1 and CRC-checked.
            return self.open_member(info).read()
        chunks: list[bytes] = []
        read = 0
        try:
            with self._stream(info) as member:
                while chunk := member.read(64 * 1024):
                    read += len(chunk)
                    if read > limit:
                        raise ArtifactError(
                            ZIP_BOMB, f"{name} inflates to more than {limit} bytes; refused"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise _corrupt_member(name, error) from error
        return b"".join(chunks)

    def _read_at(self, offset: int, size: int) -> bytes:
        # Layers read members in path order, which in a jar is close to file order but not
        # equal to it: aligned windows kept per thread (a few, least recently used out) serve
        # ~100 small members per pread. One pread each cost ~4x more in a build than alone:
        # every call drops the GIL and waits to get it back from the compressing thread.
        if size > _WINDOW:
            return os.pread(self._fd, size, offset)
        first, last = offset // _WINDOW, (offset + size - 1) // _WINDOW
        start = offset - first * _WINDOW
        if first == last:
            return self._window(first)[start : start + size]
        return (self._window(first)[start:] + self._window(last))[:size]

    def _window(self, index: int) -> bytes:
        windows: OrderedDict[int, bytes] = self._windows.__dict__.setdefault("cache", OrderedDict())
        data = windows.get(index)
        if data is None:
            data = windows[index] = os.pread(self._fd, _WINDOW, index * _WINDOW)
            if len(windows) > _WINDOWS_KEPT:
                windows.popitem(last=False)
        else:
            windows.move_to_end(index)
        return data

    def _raw_prefix(self, info: zipfile.ZipInfo, count: int) -> bytes:
        # One pread for the local header and the data: the local extra field is usually as
        # long as the central one, else (rare) the data is read again at its real offset.
        name = info.orig_filename
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        name_length = len(name) if name.isascii() else len(name.encode(encoding, "replace"))
        guess = _LOCAL_HEADER.size + name_length + len(info.extra)
        block = self._read_at(info.header_offset, guess + count)
        if len(block) < _LOCAL_HEADER.size:
            raise _corrupt_member(info.filename, EOFError("short local header"))
        signature, local_name, local_extra = _LOCAL_HEADER.unpack_from(block)
        if signature != b"PK\x03\x04":
            raise _corrupt_member(info.filename, ValueError("bad local header signature"))
        start = _LOCAL_HEADER.size + local_name + local_extra
        if start == guess:
            return block[start:]
        return os.pread(self._fd, count, info.header_offset + start)

    def read_raw(self, offset: int, size: int) -> bytes:
        """Return up to SIZE bytes of the file at OFFSET, as stored (short at its end)."""
        return os.pread(self._fd, size, offset)

    def read_prefix(self, info: zipfile.ZipInfo, length: int) -> bytes:
        """Return up to `length` first bytes of a member, inflating only what is needed."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            with self._stream(info) as member:
                return member.read(length)
        # Opening a member through zipfile costs ~30 us; reading the local header directly is
        # several times faster, which matters when scanning the class headers of a fat jar.
        raw = self._raw_prefix(info, min(info.compress_size, 4096 + length))
        if info.compress_type == zipfile.ZIP_STORED:
            return raw[:length]
        try:
            # zlib here: igzip's inflate state costs more to set up than 8 bytes are worth.
            return zlib.decompressobj(-15).decompress(raw, length)
        except zlib.error as error:
            raise _corrupt_member(info.filename, error) from error


def _is_small(info: zipfile.ZipInfo) -> bool:
    """Return True for a stored or deflated member read whole (in memory) rather than streamed."""
    fast = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    return fast and info.file_size <= _SMALL_MEMBER and info.compress_size <= _SMALL_MEMBER


def _identity(info: zipfile.ZipInfo, raw_digest: bytes) -> str:
    """Return a member's content identity: its method, CRC, size and raw bytes' sha256."""
    return f"zip-sha256:{info.compress_type}:{info.CRC}:{info.file_size}:{raw_digest.hex()}"


def _raw_digest(handle: IO[bytes], info: zipfile.ZipInfo) -> bytes:
    digest = hashlib.sha256()
    remaining = info.compress_size
    while remaining > 0:
        chunk = handle.read(min(remaining, MiB))
        if not chunk:
            raise _corrupt_member(info.filename, EOFError("truncated member data"))
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.digest()


def _inflate(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    # Ask for one byte more than declared: getting it means the declared size lied. igzip's
    # inflate is ~2x zlib's and, like any correct inflater, yields exactly the same bytes.
    return isal_zlib.decompressobj(-15).decompress(raw, info.file_size + 1)


def _ends_with_end_record(path: Path, file_size: int) -> bool:
    return end_record(path, file_size) is not None


class _RawDirectory(NamedTuple):
    """A central directory as read from the file, with the end record that locates it."""

    fingerprint: bytes  # a digest of every byte zipfile parses the directory from
    directory: bytes
    end_record: bytes
    directory_at: int


def _directory_fingerprint(path: Path, file_size: int) -> _RawDirectory | None:
    """Return the central directory's bytes and digest; None for zip64."""
    found = end_record(path, file_size)
    if found is None:
        raise _not_a_complete_zip(path)
    tail, start = found
    entries, directory_size, directory_offset = END_RECORD.unpack_from(tail, start)[4:7]
    record_at = file_size - len(tail) + start
    directory_at = record_at - directory_size
    zip64 = 0xFFFF in (entries,) or 0xFFFFFFFF in (directory_size, directory_offset)
    if zip64 or directory_at < 0 or tail[max(start - 20, 0) : start].startswith(b"PK\x06\x07"):
        return None  # zipfile reads zip64 records too: not worth fingerprinting, just parse
    digest = hashlib.sha256(tail[start:])
    with path.open("rb") as handle:
        handle.seek(directory_at)
        directory = handle.read(directory_size)
    digest.update(directory)
    record = tail[start : start + END_RECORD.size]
    return _RawDirectory(digest.digest(), directory, record, directory_at)


def _check_directory(infos: list[zipfile.ZipInfo], limits: ZipLimits, file_size: int) -> None:
    if len(infos) > limits.max_entries:
        raise ArtifactError(
            TOO_MANY_ENTRIES,
            f"the archive has {len(infos)} entries; the limit is "
            f"{limits.max_entries}. Remove unused files or dependencies.",
        )
    total = 0
    for info in infos:
        _check_member(info, limits, file_size)
        total += info.file_size
    _check_totals(total, file_size, limits)


def _check_member(info: zipfile.ZipInfo, limits: ZipLimits, file_size: int) -> None:
    reason = unsafe_name_reason(info.filename)
    if reason is not None:
        raise ArtifactError(
            UNSAFE_PATH,
            f"the archive entry {info.filename!r} {reason}; such entries could write outside "
            "the application directory. Rebuild the archive without it.",
        )
    if info.flag_bits & 0x1:
        raise ArtifactError(
            ENCRYPTED_ARCHIVE,
            f"the archive entry {info.filename!r} is encrypted; upload it unencrypted.",
        )
    if info.header_offset + _LOCAL_HEADER.size + info.compress_size > file_size:
        raise _not_a_complete_zip(None)
    expands = info.file_size > limits.ratio_floor
    if expands and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise ArtifactError(
            ZIP_BOMB,
            f"the archive entry {info.filename!r} expands {info.compress_size} bytes to "
            f"{info.file_size} (more than {limits.max_ratio}:1); refused as a zip bomb.",
        )


def _check_totals(total: int, file_size: int, limits: ZipLimits) -> None:
    if total > limits.max_total_size:
        raise ArtifactError(
            ZIP_BOMB,
            f"the archive declares {total / GiB:.1f} GiB uncompressed; the limit is "
            f"{limits.max_total_size / GiB:.1f} GiB.",
        )
    if total > limits.ratio_floor and total > limits.max_ratio * max(file_size, 1):
        raise ArtifactError(
            ZIP_BOMB,
            f"the archive expands {file_size} bytes to {total} (more than "
            f"{limits.max_ratio}:1); refused as a zip bomb.",
        )


def _not_a_complete_zip(path: Path | None) -> ArtifactError:
    if path is not None and not is_zip(path):
        return ArtifactError(NOT_AN_ARCHIVE, "the file is not a zip archive (JAR or WAR).")
    return ArtifactError(
        CORRUPT_ARCHIVE,
        "the archive is incomplete or corrupt (was the upload or download cut short?); "
        "upload the complete file again.",
    )


def _corrupt_member(name: str, error: BaseException) -> ArtifactError:
    return ArtifactError(
        CORRUPT_ARCHIVE, f"the archive entry {name!r} cannot be read ({error}); it is corrupt."
    )
