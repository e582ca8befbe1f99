"""The few members an SBOM needs from a nested jar, found without parsing its whole directory.

A library jar has thousands of entries; parsing each into a ZipInfo costs Python time per
entry, for the two kinds we want (the manifest, `META-INF/maven/**/pom.properties`). So the
central directory is read as bytes and searched for those names (in C); only their headers
are decoded, and only their data is read and inflated, each bounded. Anything unusual
(zip64, data before the archive, a bad signature) returns None: the caller then uses zipfile.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

MANIFEST = b"META-INF/MANIFEST.MF"
POM_PREFIX = b"META-INF/maven/"
POM_SUFFIX = b"/pom.properties"
MAX_DIRECTORY = 64 * 1024 * 1024
_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_CENTRAL_SIZE = 46
_EOCD_SIZE = 22
_TAIL = _EOCD_SIZE + 65535  # the end record and the longest comment it may carry

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> bytes of the nested jar


def wanted_members(read_at: ReadAt, size: int, limit: int, most: int) -> dict[str, bytes] | None:
    """Return {name: bytes} of the manifest and up to MOST pom.properties (each ≤ LIMIT bytes)."""
    directory = _central_directory(read_at, size)
    if directory is None:
        return None
    found: dict[str, bytes] = {}
    for entry in _wanted_entries(directory, most):
        name, method, compressed, length, offset = entry
        if length > limit or compressed > limit + 1024:
            continue
        data = _member_data(read_at, offset, method, compressed, limit)
        if data is None:
            return None
        found[name] = data
    return found


def _central_directory(read_at: ReadAt, size: int) -> bytes | None:
    tail_at = max(0, size - _TAIL)
    tail = read_at(tail_at, size - tail_at)
    end = tail.rfind(_EOCD)
    if end < 0 or len(tail) - end < _EOCD_SIZE:
        return None
    directory_size, directory_at = struct.unpack_from("<II", tail, end + 12)
    if directory_at == 0xFFFFFFFF or directory_size > MAX_DIRECTORY:
        return None  # zip64, or absurd
    if directory_at + directory_size != tail_at + end:
        return None  # data before the archive (offsets would be shifted)
    directory = read_at(directory_at, directory_size)
    return directory if len(directory) == directory_size else None


def _wanted_entries(directory: bytes, most: int) -> list[tuple[str, int, int, int, int]]:
    entries = []
    poms = 0
    for needle in (MANIFEST, POM_PREFIX):
        position = directory.find(needle)
        while position >= 0:
            entry = _entry_at(directory, position)
            if entry is not None and (needle == MANIFEST or poms < most):
                poms += needle == POM_PREFIX
                entries.append(entry)
            position = directory.find(needle, position + 1)
    return entries


def _entry_at(directory: bytes, name_at: int) -> tuple[str, int, int, int, int] | None:
    header = name_at - _CENTRAL_SIZE
    if header < 0 or directory[header : header + 4] != _CENTRAL:
        return None  # the bytes were inside another entry's name, extra field or comment
    (method,) = struct.unpack_from("<H", directory, header + 10)
    compressed, length, name_length = struct.unpack_from("<IIH", directory, header + 20)
    (offset,) = struct.unpack_from("<I", directory, header + 42)
    name = directory[name_at : name_at + name_length]
    wanted = name == MANIFEST or (name.startswith(POM_PREFIX) and name.endswith(POM_SUFFIX))
    if not wanted:
        return None
    return name.decode("utf-8", "replace"), method, compressed, length, offset


def _member_data(
    read_at: ReadAt, offset: int, method: int, compressed: int, limit: int
) -> bytes | None:
    local = read_at(offset, 30)
    if len(local) < 30 or local[:4] != _LOCAL:
        return None
    name_length, extra_length = struct.unpack_from("<HH", local, 26)
    raw = read_at(offset + 30 + name_length + extra_length, compressed)
    if method == 0:
        return raw[:limit]
    if method != 8:
        return b""  # a method we do not inflate: as if empty (the file name still names it)
    try:
        return zlib.decompressobj(-15).decompress(raw, limit)
    except zlib.error:
        return b""
