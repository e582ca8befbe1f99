"""Reproducible layers: contents read back with tarfile, digests, streaming, two processes."""

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from b2i.oci.layers import (
    DOCKER_LAYER_GZIP,
    LayerEntry,
    LayerError,
    bytes_entry,
    directory_entry,
    file_entry,
    symlink_entry,
    tar_header,
    write_layer,
    write_layers,
    zip_member_entry,
)


def _sample_entries(tmp_path: Path) -> list[LayerEntry]:
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    script.chmod(0o700)
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 100)
    data.chmod(0o600)
    return [
        file_entry("/opt/app/run.sh", script),
        file_entry("/opt/app/data.bin", data),
        symlink_entry("/usr/local/bin/run", "/opt/app/run.sh"),
        bytes_entry("/etc/app.properties", b"port=8080\n"),
        directory_entry("/var/empty"),
    ]


def _members(blob_path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(blob_path, "r:gz") as archive:
        return archive.getmembers()


def test_layer_members_are_sorted_with_explicit_parents(tmp_path):
    blob = write_layer(_sample_entries(tmp_path), tmp_path / "out")
    names = [member.name for member in _members(blob.path)]
    assert names == [
        "etc",
        "etc/app.properties",
        "opt",
        "opt/app",
        "opt/app/data.bin",
        "opt/app/run.sh",
        "usr",
        "usr/local",
        "usr/local/bin",
        "usr/local/bin/run",
        "var",
        "var/empty",
    ]


def test_layer_members_have_fixed_owner_time_and_modes(tmp_path):
    blob = write_layer(_sample_entries(tmp_path), tmp_path / "out")
    members = {member.name: member for member in _members(blob.path)}
    for member in members.values():
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1
        assert member.pax_headers == {}
    assert members["opt/app/run.sh"].mode == 0o755
    assert members["opt/app/data.bin"].mode == 0o644
    assert members["opt"].isdir() and members["opt"].mode == 0o755
    assert members["usr/local/bin/run"].issym()
    assert members["usr/local/bin/run"].linkname == "/opt/app/run.sh"


def test_layer_file_contents_round_trip(tmp_path):
    blob = write_layer(_sample_entries(tmp_path), tmp_path / "out")
    with tarfile.open(blob.path, "r:gz") as archive:
        data = archive.extractfile("opt/app/data.bin")
        assert data is not None and data.read() == bytes(range(256)) * 100
        props = archive.extractfile("etc/app.properties")
        assert props is not None and props.read() == b"port=8080\n"


def test_layer_digests_and_size_describe_the_written_bytes(tmp_path):
    blob = write_layer(_sample_entries(tmp_path), tmp_path / "out", media_type=DOCKER_LAYER_GZIP)
    compressed = blob.path.read_bytes()
    assert blob.size == len(compressed)
    assert blob.digest == "sha256:" + hashlib.sha256(compressed).hexdigest()
    assert blob.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(compressed)).hexdigest()
    assert blob.media_type == DOCKER_LAYER_GZIP
    assert blob.path.name == blob.digest.removeprefix("sha256:") + ".tar.gz"


def test_gzip_header_has_zero_mtime_and_no_file_name(tmp_path):
    blob = write_layer(_sample_entries(tmp_path), tmp_path / "out")
    header = blob.path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0, "FNAME flag set"
    assert header[4:8] == b"\0\0\0\0"


def test_zip_members_are_streamed_into_the_layer(tmp_path):
    archive_path = tmp_path / "app.jar"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("com/example/App.class", b"\xca\xfe\xba\xbe" + b"x" * 5000)
        archive.writestr("lib/dep.jar", b"PK-not-really" * 100, compress_type=zipfile.ZIP_STORED)
    with zipfile.ZipFile(archive_path) as archive:
        entries = [
            zip_member_entry("/app/" + info.filename, archive, info) for info in archive.infolist()
        ]
        blob = write_layer(entries, tmp_path / "out")
        identities = {entry.content_identity() for entry in entries}
    with tarfile.open(blob.path, "r:gz") as layer:
        app_class = layer.extractfile("app/com/example/App.class")
        assert app_class is not None
        assert app_class.read() == b"\xca\xfe\xba\xbe" + b"x" * 5000
    assert len(identities) == 2 and all(i.startswith("zip-sha256:") for i in identities)


def test_same_entries_give_the_same_digest_in_another_process(tmp_path):
    first = write_layer(_sample_entries(tmp_path), tmp_path / "one")
    program = (
        "import sys; from pathlib import Path; from tests.oci.test_layers import _sample_entries;"
        "from b2i.oci.layers import write_layer;"
        "b = write_layer(_sample_entries(Path(sys.argv[1])), Path(sys.argv[1]) / 'two');"
        "print(b.digest, b.diff_id)"
    )
    other = tmp_path / "other"
    other.mkdir()
    output = subprocess.run(
        [sys.executable, "-c", program, str(other)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.split()
    assert output == [first.digest, first.diff_id]


def test_parallel_layers_equal_serial_layers(tmp_path):
    groups = [_sample_entries(tmp_path)[:2], _sample_entries(tmp_path)[2:]]
    serial = write_layers(groups, tmp_path / "serial", workers=1)
    parallel = write_layers(groups, tmp_path / "parallel", workers=2)
    assert [b.digest for b in serial] == [b.digest for b in parallel]
    assert serial[0].digest != serial[1].digest


def test_large_file_is_streamed_not_read_whole(tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(48):
            out.write(hashlib.sha256(out.tell().to_bytes(8, "big")).digest() * 32768)
    tracemalloc.start()
    try:
        blob = write_layer([file_entry("/big.bin", big)], tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size > 0
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 48 MiB file"


@pytest.mark.parametrize("bad_path", ["../etc/passwd", "/a/../../b", "", "/"])
def test_unsafe_or_empty_paths_are_refused(bad_path):
    with pytest.raises(LayerError, match="unsafe or empty path"):
        directory_entry(bad_path)


def test_the_same_path_twice_is_refused(tmp_path):
    entries = [bytes_entry("/a/x", b"1"), bytes_entry("/a/x", b"2")]
    with pytest.raises(LayerError, match="appears twice"):
        write_layer(entries, tmp_path)


def test_a_file_cannot_be_a_parent_directory(tmp_path):
    entries = [bytes_entry("/a", b"1"), bytes_entry("/a/x", b"2")]
    with pytest.raises(LayerError, match="parent"):
        write_layer(entries, tmp_path)


def test_a_source_shorter_than_declared_fails_cleanly(tmp_path):
    lying = LayerEntry(path="/x", kind="file", size=100, opener=lambda: io.BytesIO(b"short"))
    with pytest.raises(LayerError, match="cannot read /x"):
        write_layer([lying], tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_long_and_non_ascii_names_round_trip_through_tar_readers(tmp_path):
    deep = "/opt/" + "/".join(f"directory-{i:02d}" for i in range(20)) + "/file.txt"
    single = "/a/" + "n" * 180
    entries = [
        bytes_entry(deep, b"deep"),
        bytes_entry(single, b"single"),
        bytes_entry("/opt/ünïcødé.txt", b"accents"),
        symlink_entry("/opt/link", "/" + "t" * 150),
    ]
    blob = write_layer(entries, tmp_path / "out")
    with tarfile.open(blob.path, "r:gz") as archive:
        names = {member.name: member for member in archive.getmembers()}
        assert archive.extractfile(deep.lstrip("/")).read() == b"deep"
        assert archive.extractfile(single.lstrip("/")).read() == b"single"
        assert archive.extractfile("opt/ünïcødé.txt").read() == b"accents"
    assert names["opt/link"].linkname == "/" + "t" * 150
    assert all(set(m.pax_headers) <= {"path", "linkpath"} for m in names.values())
    listing = subprocess.run(
        ["tar", "-tzf", str(blob.path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert deep.lstrip("/") in listing and single.lstrip("/") in listing


def test_a_big_lying_source_fails_cleanly_and_stops_the_compression_thread(tmp_path):
    import threading

    before = threading.active_count()
    declared = 16 * 1024 * 1024
    lying = LayerEntry(
        path="/big", kind="file", size=declared, opener=lambda: io.BytesIO(bytes(declared - 1))
    )
    with pytest.raises(LayerError, match="declared size"):
        write_layer([lying], tmp_path / "out")
    assert threading.active_count() == before
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("length", [1, 2, 50, 99, 100])
@pytest.mark.parametrize("size", [0, 1, 512, 123_456_789, 8**11 - 1])
@pytest.mark.parametrize("mode", [0o644, 0o755])
def test_plain_file_headers_are_valid_ustar_as_tarfile_reads_them(length, size, mode):
    name = ("d/" * 60 + "x")[-length:].lstrip("/") or "x"
    entry = LayerEntry(path="/" + name, kind="file", size=size, mode=mode, opener=io.BytesIO)
    header = tar_header(entry)
    assert len(header) == 512
    info = tarfile.TarInfo.frombuf(header, "utf-8", "strict")  # checks the checksum too
    assert (info.name, info.size, info.mode, info.mtime) == (name, size, mode, 1)
    assert (info.uid, info.gid, info.uname, info.gname, info.type) == (0, 0, "", "", b"0")
    assert header[257:265] == b"ustar\x0000"


def test_the_checkpoint_runs_about_every_mib_and_what_it_raises_abandons_the_layer(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * (5 * 4096))  # 5 MiB
    entries = [file_entry("/opt/data.bin", data)]
    calls: list[int] = []
    write_layer(entries, tmp_path / "whole", checkpoint=lambda: calls.append(1))
    assert len(calls) >= 5

    class Cancelled(Exception):
        pass

    def cancel_at_the_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise Cancelled

    calls.clear()
    with pytest.raises(Cancelled):
        write_layer(entries, tmp_path / "cut", checkpoint=cancel_at_the_third)
    assert list((tmp_path / "cut").iterdir()) == []
