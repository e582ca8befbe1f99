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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from builders.packaging.errors import (
    CORRUPT_ARCHIVE,
    ENCRYPTED_ARCHIVE,
    NOT_AN_ARCHIVE,
    TOO_MANY_ENTRIES,
    UNSAFE_PATH,
    ZIP_BOMB,
    ArtifactError,
)

MiB = 1024 * 1024
GiB = 1024 * MiB
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_END_RECORD = struct.Struct("<4s4H2LH")
_SMALL_MEMBER = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


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
    if ".." in re.split(r"[/\\]", name):
        return "contains '..'"
    return None


class SafeArchive:
    """A zip archive whose central directory passed the safety checks; read members from it."""

    def __init__(self, path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self.file_size = path.stat().st_size
        if not _ends_with_end_record(path, self.file_size):
            raise _not_a_complete_zip(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise _not_a_complete_zip(path) from error
        try:
            self.infos = self.zip.infolist()
            self._check_directory()
        except BaseException:
            self.zip.close()
            raise
        self.files = [info for info in self.infos if not info.is_dir()]
        self.names = {info.filename for info in self.infos}
        self.duplicates = len(self.infos) - len(self.names)
        # A descriptor of our own for os.pread: positionless reads are safe from several
        # threads (layers are written in parallel) without zipfile's seek-and-lock dance.
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._lock = threading.Lock()
        self._content_ids: dict[int, str] | None = None
        self._offsets: dict[int, int] = {}

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
        self.zip.close()
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

    def open_member(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """Return a stream of a member's bytes; small members are inflated and CRC-checked here."""
        fast = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        if not fast or info.file_size > _SMALL_MEMBER or info.compress_size > _SMALL_MEMBER:
            return self.zip.open(info)
        raw = os.pread(self._fd, info.compress_size, self._data_offset(info))
        try:
            data = raw if info.compress_type == zipfile.ZIP_STORED else _inflate(raw, info)
        except zlib.error as error:
            raise _corrupt_member(info.filename, error) from error
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise _corrupt_member(info.filename, ValueError("size or CRC mismatch"))
        return io.BytesIO(data)

    def member_content_id(self, info: zipfile.ZipInfo) -> str:
        """Return a digest of the member's method, CRC, size and raw stored bytes (no inflating)."""
        # Equal raw bytes with an equal method always inflate to equal content, so this is a
        # collision-safe content identity for cache keys, ~5x cheaper than hashing the content.
        with self._lock:
            if self._content_ids is None:
                self._content_ids = self._scan_content_ids()
        return self._content_ids[info.header_offset]

    def _scan_content_ids(self) -> dict[int, str]:
        # One sequential pass in offset order through a large read buffer: a few syscalls per
        # 100 MB instead of two per member (a fat jar has 70,000 members).
        identities: dict[int, str] = {}
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
                identities[info.header_offset] = _raw_identity(handle, info)
        return identities

    def _check_directory(self) -> None:
        if len(self.infos) > self.limits.max_entries:
            raise ArtifactError(
                TOO_MANY_ENTRIES,
                f"the archive has {len(self.infos)} entries; the limit is "
                f"{self.limits.max_entries}. Remove unused files or dependencies.",
            )
        total = 0
        for info in self.infos:
            _check_member(info, self.limits, self.file_size)
            total += info.file_size
        _check_totals(total, self.file_size, self.limits)

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
        info = self.zip.getinfo(name)
        chunks: list[bytes] = []
        read = 0
        try:
            with self.zip.open(info) as member:
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

    def read_prefix(self, info: zipfile.ZipInfo, length: int) -> bytes:
        """Return up to `length` first bytes of a member, inflating only what is needed."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            with self.zip.open(info) as member:
                return member.read(length)
        # Opening a member through zipfile costs ~30 us; reading the local header directly is
        # several times faster, which matters when scanning the class headers of a fat jar.
        count = min(info.compress_size, 4096 + length)
        raw = os.pread(self._fd, count, self._data_offset(info))
        if info.compress_type == zipfile.ZIP_STORED:
            return raw[:length]
        try:
            return zlib.decompressobj(-15).decompress(raw, length)
        except zlib.error as error:
            raise _corrupt_member(info.filename, error) from error


def _raw_identity(handle: IO[bytes], info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256(f"{info.compress_type}:{info.CRC}:{info.file_size}:".encode())
    remaining = info.compress_size
    while remaining > 0:
        chunk = handle.read(min(remaining, MiB))
        if not chunk:
            raise _corrupt_member(info.filename, EOFError("truncated member data"))
        digest.update(chunk)
        remaining -= len(chunk)
    return "zip-sha256:" + digest.hexdigest()


def _inflate(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    # Ask for one byte more than declared: getting it means the declared size lied.
    return zlib.decompressobj(-15).decompress(raw, info.file_size + 1)


def _ends_with_end_record(path: Path, file_size: int) -> bool:
    # zipfile accepts the last end-of-central-directory signature within 64 KiB of the end,
    # even when bytes follow it that are not its comment. A truncated Spring Boot jar then
    # "opens" as the nested (stored) jar whose end record survived: insist the record (plus
    # its declared comment) ends exactly at the end of the file.
    tail_size = min(file_size, _END_RECORD.size + 0xFFFF)
    with path.open("rb") as handle:
        handle.seek(file_size - tail_size)
        tail = handle.read(tail_size)
    start = tail.rfind(b"PK\x05\x06")
    while start >= 0:
        if start + _END_RECORD.size <= len(tail):
            comment_length = _END_RECORD.unpack_from(tail, start)[-1]
            if start + _END_RECORD.size + comment_length == len(tail):
                return True
        start = tail.rfind(b"PK\x05\x06", 0, start)
    return False


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
