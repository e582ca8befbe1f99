"""A Go binary's build information (module path, version, dependencies), read from its ELF.

The Go linker (1.18 and later) writes a 32-byte header into the `.go.buildinfo` section: the
14-byte magic `\\xff Go buildinf:`, the pointer size, a flags byte (bit 1: the strings follow
inline), then two length-prefixed (unsigned varint) strings: the Go version and the module
information. The module information is framed by 16 sentinel bytes on each side and holds
tab-separated lines: `path`, `mod` (the main module), `dep` (a dependency), `=>` (the
replacement of the line before) and `build` settings. Older binaries (pointer format) and
binaries without module information yield nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAGIC = b"\xff Go buildinf:"
_HEADER_SIZE = 32
_FLAG_INLINE = 0x2
_SECTION_NAME = b".go.buildinfo"
_MAX_SECTIONS = 4096
_MAX_INFO = 4 * 1024 * 1024  # module information far bigger than any real one: refused
_SCAN_LIMIT = 256 * 1024 * 1024  # without a section table, this much is searched for the magic
_SCAN_CHUNK = 4 * 1024 * 1024
_SENTINEL = 16


@dataclass(frozen=True)
class GoModule:
    """One Go module: the main one or a dependency (after its replacement, if any)."""

    path: str
    version: str
    checksum: str = ""

    @property
    def purl(self) -> str:
        """Return `pkg:golang/<module path>@<version>` (version left out when unknown)."""
        version = "" if self.version in ("", "(devel)") else f"@{self.version}"
        return f"pkg:golang/{self.path}{version}"


@dataclass(frozen=True)
class GoBuildInfo:
    """What a Go binary says about how it was built."""

    go_version: str
    path: str
    main: GoModule | None
    dependencies: tuple[GoModule, ...]
    settings: tuple[tuple[str, str], ...]


def read_go_build_info(path: Path) -> GoBuildInfo | None:
    """Return the build information of the Go binary at PATH; None when it has none."""
    with path.open("rb") as handle:
        start = _buildinfo_offset(handle)
        if start is None:
            return None
        handle.seek(start)
        header = handle.read(_HEADER_SIZE)
        if len(header) < _HEADER_SIZE or not header.startswith(MAGIC):
            return None
        if not header[15] & _FLAG_INLINE:
            return None  # Go before 1.18 (pointers into the data segment): not read
        version = _read_string(handle)
        info = _read_string(handle)
    if version is None or info is None:
        return None
    return parse_module_info(version.decode("utf-8", "replace"), info)


def parse_module_info(go_version: str, framed: bytes) -> GoBuildInfo:
    """Parse the module-information text (with or without its sentinel frame)."""
    text = framed
    if len(framed) >= 2 * _SENTINEL + 1 and framed[-_SENTINEL - 1 : -_SENTINEL] == b"\n":
        text = framed[_SENTINEL:-_SENTINEL]
    path, main, settings = "", None, []
    dependencies: list[GoModule] = []
    for line in text.decode("utf-8", "replace").splitlines():
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "path":
            path = rest
        elif kind == "mod" and fields[0]:
            main = _module(fields)
        elif kind == "dep" and fields[0]:
            dependencies.append(_module(fields))
        elif kind == "=>" and dependencies and fields[0] and not _is_directory(fields[0]):
            dependencies[-1] = _module(fields)  # the replacement is what was built in
        elif kind == "build":
            key, _, value = rest.partition("=")
            settings.append((key, value))
    return GoBuildInfo(go_version, path, main, tuple(dependencies), tuple(settings))


def _is_directory(path: str) -> bool:
    # A replacement by a local directory keeps the module's own path and version as its name.
    return path.startswith((".", "/"))


def _module(fields: list[str]) -> GoModule:
    version = fields[1] if len(fields) > 1 else ""
    checksum = fields[2] if len(fields) > 2 else ""
    return GoModule(fields[0], version, checksum)


def _read_string(handle: BinaryIO) -> bytes | None:
    length, shift = 0, 0
    for _ in range(10):
        byte = handle.read(1)
        if not byte:
            return None
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    if length > _MAX_INFO:
        return None
    data = handle.read(length)
    return data if len(data) == length else None


def _buildinfo_offset(handle: BinaryIO) -> int | None:
    """Return the file offset of the build-info header: its section, else a bounded search."""
    ident = handle.read(64)
    if len(ident) < 52 or not ident.startswith(b"\x7fELF"):
        return None
    section = _section_offset(handle, ident)
    return section if section is not None else _search_magic(handle)


def _section_offset(handle: BinaryIO, ident: bytes) -> int | None:
    is64 = ident[4] == 2
    order = "<" if ident[5] == 1 else ">"
    if is64:
        shoff, shentsize, shnum, shstrndx = struct.unpack_from(order + "Q10xHHH", ident, 40)
    else:
        shoff, shentsize, shnum, shstrndx = struct.unpack_from(order + "I10xHHH", ident, 32)
    if not shoff or shnum == 0 or shnum > _MAX_SECTIONS or shstrndx >= shnum:
        return None
    handle.seek(shoff)
    table = handle.read(shentsize * shnum)
    if len(table) < shentsize * shnum:
        return None
    # (name offset, file offset, size) of each section header.
    entry = order + ("I20xQQ" if is64 else "I12xII")
    sections = [struct.unpack_from(entry, table, i * shentsize) for i in range(shnum)]
    _, names_at, names_size = sections[shstrndx]
    handle.seek(names_at)
    names = handle.read(min(names_size, 1024 * 1024))
    for section in sections:
        name_at = section[0]
        if names[name_at : name_at + len(_SECTION_NAME) + 1] == _SECTION_NAME + b"\0":
            return int(section[1])
    return None


def _search_magic(handle: BinaryIO) -> int | None:
    # The header is 16-byte aligned; chunks overlap by the magic's length.
    position = 0
    handle.seek(0)
    while position < _SCAN_LIMIT:
        handle.seek(position)
        chunk = handle.read(_SCAN_CHUNK + len(MAGIC))
        if len(chunk) < len(MAGIC):
            return None
        found = chunk.find(MAGIC)
        while found >= 0:
            if (position + found) % 16 == 0:
                return position + found
            found = chunk.find(MAGIC, found + 1)
        position += _SCAN_CHUNK
    return None
