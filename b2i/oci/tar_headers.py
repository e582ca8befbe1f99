"""Reproducible ustar headers for layer entries (PAX records only for long or non-ASCII names).

Our own writer: tarfile spends ~90 us per member on PAX checks and copies, which dominated
layers of fat jars (30,000 small classes). Every field that could vary between machines is
fixed: uid/gid 0, empty user and group names, mtime LAYER_MTIME, no device numbers.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b2i.oci.layers import LayerEntry

LAYER_MTIME = 1

BLOCK = 512
RECORD = 20 * BLOCK
_TYPE_FLAGS = {"file": b"0", "dir": b"5", "symlink": b"2"}


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _split_ustar_name(name: bytes) -> tuple[bytes, bytes] | None:
    """Return (prefix, name) fitting ustar's 155 + 100 bytes, or None when it cannot fit."""
    if len(name) <= 100:
        return b"", name
    cut = name.find(b"/", len(name) - 101)
    while 0 < cut <= 155:
        if len(name) - cut - 1 <= 100:
            return name[:cut], name[cut + 1 :]
        cut = name.find(b"/", cut + 1)
    return None


def _pax_record(key: str, value: str) -> bytes:
    payload = f" {key}={value}\n".encode()
    length = len(payload) + 1
    while len(str(length)) + len(payload) != length:
        length = len(str(length)) + len(payload)
    return str(length).encode() + payload


_USTAR = struct.Struct("100s8s8s8s12s12s8sc100s8s32s32s8s8s155s12x")
_ZERO_FIELD = _octal(0, 8)
_MTIME_FIELD = _octal(LAYER_MTIME, 12)
# uid, gid, mtime, the checksum as spaces, magic and version, devmajor, devminor.
_FIXED_SUM = 4 * sum(_ZERO_FIELD) + sum(_MTIME_FIELD) + sum(b" " * 8) + sum(b"ustar\x0000")


def _header_block(
    name: bytes, prefix: bytes, kind: bytes, mode: int, size: int, link: bytes
) -> bytes:
    mode_field, size_field = _octal(mode, 8), _octal(size, 12)
    block = _USTAR.pack(
        name,
        mode_field,
        _ZERO_FIELD,  # uid
        _ZERO_FIELD,  # gid
        size_field,
        _MTIME_FIELD,
        b" " * 8,  # the checksum is computed with its own field as spaces
        kind,
        link,
        b"ustar\x0000",
        b"",  # uname
        b"",  # gname
        _ZERO_FIELD,  # devmajor
        _ZERO_FIELD,  # devminor
        prefix,
    )
    # The checksum is the sum of all bytes: the fixed fields' sum is precomputed (~3x faster
    # than summing 512 bytes per member of a fat jar). Over-long fields are cut by pack: sum it.
    fits = len(name) <= 100 and len(prefix) <= 155 and len(link) <= 100 and len(kind) == 1
    if fits and len(mode_field) == 8 and len(size_field) == 12:
        checksum = _FIXED_SUM + sum(name) + sum(prefix) + kind[0] + sum(link)
        checksum += sum(mode_field) + sum(size_field)
    else:
        checksum = sum(block)
    return block[:148] + b"%06o\0 " % checksum + block[156:]


# What follows the size field in a plain header (no link, no prefix): mtime, then after the
# checksum and type flag, the empty link name, magic, user and group names, devices, prefix.
_PLAIN_TAIL = (
    _ZERO_FIELD * 2,  # uid, gid
    _MTIME_FIELD,
    bytes(100) + b"ustar\x0000" + bytes(64) + _ZERO_FIELD * 2 + bytes(155 + 12),
)
_PLAIN_FIXED_SUM = _FIXED_SUM  # the same constant fields, all in the tail


def _plain_file_header(name: bytes, mode: int, size: int) -> bytes:
    """Return the ustar header of a file with an ASCII name of at most 100 bytes."""
    # A fat jar's ~26,000 classes take this path: one join, no struct packing.
    mode_field, size_field = b"%07o\0" % mode, b"%011o\0" % size
    checksum = _PLAIN_FIXED_SUM + sum(name) + sum(mode_field) + sum(size_field) + 0x30
    ids, mtime, tail = _PLAIN_TAIL
    padded = name + bytes(100 - len(name))
    return b"".join((padded, mode_field, ids, size_field, mtime, b"%06o\0 " % checksum, b"0", tail))


def tar_header(entry: LayerEntry) -> bytes:
    """Return the reproducible tar header block(s) of an entry (a PAX record for long names)."""
    if entry.kind == "file" and len(entry.path) <= 101 and entry.size < 0o77777777777:
        raw = entry.path[1:].encode()
        if len(raw) <= 100 and raw.isascii() and entry.mode <= 0o7777777:
            return _plain_file_header(raw, entry.mode, entry.size)
    name = entry.tar_name + ("/" if entry.kind == "dir" else "")
    raw_name, raw_link = name.encode(), entry.link_target.encode()
    records = b""
    split = _split_ustar_name(raw_name) if raw_name.isascii() else None
    if split is None:
        records += _pax_record("path", name)
        split = (b"", raw_name[-100:].lstrip(b"/") or b"_")
    if len(raw_link) > 100 or not raw_link.isascii():
        records += _pax_record("linkpath", entry.link_target)
        raw_link = raw_link[:100]
    size = entry.size if entry.kind == "file" else 0
    header = _header_block(split[1], split[0], _TYPE_FLAGS[entry.kind], entry.mode, size, raw_link)
    if not records:
        return header
    pax_name = b"PaxHeaders/" + split[1][-80:]
    pax = _header_block(pax_name, b"", b"x", 0o644, len(records), b"")
    return pax + _padded(records) + header


ZEROS = bytes(BLOCK)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)
