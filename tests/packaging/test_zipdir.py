"""The fast central-directory reader gives exactly zipfile's entries, and leaves everything
unusual (zip64, malformed records) to zipfile."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from b2i.packaging.archives import SafeArchive
from b2i.packaging.zipdir import END_RECORD, end_record, read_directory
from tests.fixtures import artifacts

FIELDS = [name for name in zipfile.ZipInfo.__slots__ if name != "_end_offset"]


def _unusual_zip(tmp_path: Path) -> Path:
    # UTF-8 and cp437 names, a NUL-free comment, an extra field, a stored and a deflated entry.
    path = tmp_path / "unusual.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = b"archive comment"
        info = zipfile.ZipInfo("d\u00e9j\u00e0/vu.txt", (2021, 3, 4, 5, 6, 8))
        info.comment, info.extra = b"entry comment", b"\xfe\xca\x00\x00" + b"\x99\x99\x02\x00ab"
        archive.writestr(info, b"deflated " * 100, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("plain/stored.bin", bytes(range(256)), compress_type=zipfile.ZIP_STORED)
        archive.writestr("dir/", b"")
    return path


ARCHIVES: dict[str, Callable[[Path], Path]] = {
    "shaded jar": lambda d: artifacts.build_http_jar(d, shade=[artifacts.COMMONS_LANG]),
    "spring boot jar": lambda d: artifacts.build_spring_boot_jar(d),
    "launch-script jar": lambda d: artifacts.prepend_launch_script(
        artifacts.build_spring_boot_jar(d)
    ),
    "war": lambda d: artifacts.build_war(d),
    "names, comments, extras": _unusual_zip,
}


def _located(path: Path) -> tuple[bytes, bytes, int]:
    """Return the central directory's bytes, the end record and where the directory starts."""
    found = end_record(path, path.stat().st_size)
    assert found is not None
    tail, start = found
    size = END_RECORD.unpack_from(tail, start)[5]
    at = path.stat().st_size - len(tail) + start - size
    return path.read_bytes()[at : at + size], tail[start : start + END_RECORD.size], at


@pytest.mark.parametrize("make", list(ARCHIVES.values()), ids=list(ARCHIVES))
def test_entries_equal_zipfiles_attribute_for_attribute(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    ours = read_directory(*_located(path))
    assert ours is not None
    with zipfile.ZipFile(path) as archive:
        theirs = archive.infolist()
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            for field in FIELDS:
                assert getattr(mine, field) == getattr(reference, field), (field, mine)
            with archive.open(mine) as member, archive.open(reference) as same:
                assert member.read() == same.read()  # zipfile reads members by our entries


def test_zip64_marks_and_malformed_records_are_left_to_zipfile(tmp_path: Path) -> None:
    path = _unusual_zip(tmp_path)
    directory, end, at = _located(path)
    zip64 = bytearray(directory)
    zip64[20:24] = b"\xff\xff\xff\xff"  # compressed size: "see the zip64 extra field"
    assert read_directory(bytes(zip64), end, at) is None
    foreign = bytearray(directory)
    foreign[0:4] = b"PK\x09\x09"  # not a central directory record
    assert read_directory(bytes(foreign), end, at) is None
    assert read_directory(directory[:-3], end, at) is None  # cut short


def test_a_zip64_archive_still_opens_through_zipfile(tmp_path: Path) -> None:
    path = tmp_path / "zip64.zip"
    with zipfile.ZipFile(path, "w") as archive, archive.open("f.bin", "w", force_zip64=True) as f:
        f.write(b"x" * 10)
    with SafeArchive(path) as archive:
        assert [info.filename for info in archive.infos] == ["f.bin"]
        assert archive.read("f.bin") == b"x" * 10
