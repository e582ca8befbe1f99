"""Safe zip reading: limits checked up front, bytes counted while reading."""

import struct
import zipfile

import pytest

from b2i.packaging.archives import DEFAULT_LIMITS, SafeArchive, ZipLimits, unsafe_name_reason
from b2i.packaging.errors import ArtifactError
from tests.fixtures import artifacts


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _code(path, limits=DEFAULT_LIMITS):
    with pytest.raises(ArtifactError) as error:
        SafeArchive(path, limits).close()
    return error.value.code


def test_too_many_entries_are_refused_before_reading(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"f{i}": b"x" for i in range(20)})
    assert _code(archive, ZipLimits(max_entries=10)) == "build:user:too-many-entries"


def test_declared_total_over_the_limit_is_refused(tmp_path):
    archive = _zip(tmp_path / "big.zip", {"a": b"a" * 600_000, "b": b"b" * 600_000})
    limits = ZipLimits(max_total_size=1_000_000)
    assert _code(archive, limits) == "build:user:zip-bomb"


def test_high_ratio_is_harmless_below_the_floor(tmp_path):
    archive = _zip(tmp_path / "zeros.zip", {"zeros": bytes(4 * 1024 * 1024)})
    with SafeArchive(archive) as safe:
        assert safe.read("zeros", 8 * 1024 * 1024) == bytes(4 * 1024 * 1024)


def test_reading_counts_bytes_against_the_limit(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"data": b"x" * 10_000})
    with SafeArchive(archive) as safe, pytest.raises(ArtifactError) as error:
        safe.read("data", max_bytes=1000)
    assert error.value.code == "build:user:zip-bomb"


def _understate_size(path, name, declared):
    # Rewrite the uncompressed size in the local header and the central directory: the
    # member then inflates to more than it declares, as a forged archive would.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    central = data.rfind(b"PK\x01\x02")  # the archive has one member
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_a_member_inflating_past_its_declared_size_is_refused(tmp_path):
    archive = _zip(tmp_path / "liar.zip", {"data": b"y" * 100_000})
    _understate_size(archive, "data", 100)
    with SafeArchive(archive) as safe:
        assert safe.zip.getinfo("data").file_size == 100
        with pytest.raises(ArtifactError) as error:
            safe.read("data")
    assert error.value.code == "build:user:corrupt-archive"


def test_encrypted_members_are_refused(tmp_path):
    archive = _zip(tmp_path / "enc.zip", {"secret": b"s"})
    data = bytearray(archive.read_bytes())
    struct.pack_into("<H", data, 6, 1)  # local header flag bits
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, 1)
    archive.write_bytes(bytes(data))
    assert _code(archive) == "build:user:encrypted-archive"


def test_prefix_reads_match_full_reads_for_stored_and_deflated_members(tmp_path):
    jar = artifacts.build_spring_boot_jar(tmp_path)
    with SafeArchive(jar) as safe:
        for info in safe.files:
            expected = safe.read(info.filename, 64 * 1024 * 1024)[:8]
            assert safe.read_prefix(info, 8) == expected, info.filename


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a/b/C.class", True),
        ("..foo/bar", True),
        ("../x", False),
        ("a/../../x", False),
        ("a\\..\\x", False),
        ("/abs", False),
        ("C:/x", False),
        ("a\0b", False),
    ],
)
def test_unsafe_name_rules(name, safe):
    assert (unsafe_name_reason(name) is None) is safe
