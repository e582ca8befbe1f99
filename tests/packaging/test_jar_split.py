"""Split JARs: a plain or shaded JAR's dependencies copied, not re-compressed, into a JAR of their
own; the application JAR names it in its manifest's Class-Path (java -jar runs it unchanged)."""

import hashlib
import io
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from b2i.oci.layers import write_layer
from b2i.packaging.archives import SafeArchive
from b2i.packaging.environments import get_environment
from b2i.packaging.inspection import complete_class_scan, inspect_artifact
from b2i.packaging.jar import parse_manifest
from b2i.packaging.layering import plan_layers, planned_archive
from tests.fixtures import artifacts

_JAVA_21_CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + bytes(24)


def _plan(jar, **kwargs):
    return plan_layers(jar, inspect_artifact(jar, **kwargs), get_environment("java-17"))


def _shaded(directory, message="hello", **kwargs):
    directory.mkdir(exist_ok=True)
    return artifacts.build_http_jar(directory, message, shade=[artifacts.COMMONS_LANG], **kwargs)


def _split(jar):
    plans = _plan(jar)
    assert [plan.name for plan in plans] == ["dependencies", "application"]
    return plans, plans[0].entries[0], plans[1].entries[0]


def test_split_jars_hold_their_declared_bytes_and_keep_the_manifest(tmp_path):
    jar = _shaded(tmp_path)
    _, dependencies, application = _split(jar)
    for entry in (dependencies, application):
        data = entry.source.read_whole()
        assert len(data) == entry.size
        # The identity is the sha256 of the bytes, learnt while they were read.
        assert entry.source.identity() == "sha256:" + hashlib.sha256(data).hexdigest()
        with zipfile.ZipFile(io.BytesIO(data)) as written:
            assert written.testzip() is None
    with zipfile.ZipFile(io.BytesIO(application.source.read_whole())) as app:
        manifest = parse_manifest(app.read("META-INF/MANIFEST.MF").decode())
    with zipfile.ZipFile(jar) as original:
        before = parse_manifest(original.read("META-INF/MANIFEST.MF").decode())
        originals = {info.filename: original.read(info) for info in original.infolist()}
    assert manifest == {**before, "Class-Path": "lib/dependencies.jar"}
    with zipfile.ZipFile(io.BytesIO(dependencies.source.read_whole())) as deps:
        copied = {info.filename: deps.read(info) for info in deps.infolist()}
    assert copied == {name: originals[name] for name in copied}  # byte-equal content
    assert len(copied) > 300


def _repacked(source: Path, target: Path) -> Path:
    """Re-pack SOURCE with other entry times and data descriptors (an unseekable writer)."""

    class Pipe:
        def __init__(self, out):
            self.out = out

        def write(self, data):
            return self.out.write(data)

        def flush(self):
            self.out.flush()

    with zipfile.ZipFile(source) as original, target.open("wb") as out:
        archive = zipfile.ZipFile(Pipe(out), "w")
        for info in original.infolist():
            member = zipfile.ZipInfo(info.filename, (2024, 5, 6, 7, 8, 10))
            member.compress_type = info.compress_type
            archive.writestr(member, original.read(info))
        archive.close()
    return target


def test_unchanged_dependencies_give_the_same_layer_however_the_jar_was_repacked(tmp_path):
    jar = _shaded(tmp_path / "a")
    again = _repacked(jar, tmp_path / "repacked.jar")
    with zipfile.ZipFile(again) as check:
        assert all(info.flag_bits & 0x8 for info in check.infolist())  # data descriptors
    first, second = (
        [write_layer(plan.entries, tmp_path / f"out{n}").digest for plan in _split(path)[0]]
        for n, path in ((1, jar), (2, again))
    )
    assert first[0] == second[0]


def test_one_changed_class_changes_only_a_tiny_application_layer(tmp_path):
    before, after = _shaded(tmp_path / "v1", "version one"), _shaded(tmp_path / "v2", "two")
    first = [write_layer(p.entries, tmp_path / "l1") for p in _split(before)[0]]
    second = [write_layer(p.entries, tmp_path / "l2") for p in _split(after)[0]]
    assert first[0].digest == second[0].digest
    assert first[1].digest != second[1].digest
    assert second[1].size < 0.01 * after.stat().st_size


_DIGESTS = """
import sys
from pathlib import Path
from b2i.oci.layers import write_layer
from b2i.packaging.environments import get_environment
from b2i.packaging.inspection import inspect_artifact
from b2i.packaging.layering import plan_layers
jar, out = Path(sys.argv[1]), Path(sys.argv[2])
plans = plan_layers(jar, inspect_artifact(jar), get_environment("java-17"))
print(" ".join(write_layer(plan.entries, out).digest for plan in plans))
"""


def test_split_layers_have_the_same_digests_in_two_processes(tmp_path):
    jar = _shaded(tmp_path)
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DIGESTS, str(jar), str(tmp_path / f"out{n}")],
            check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
        ).stdout.split()
        for n in (1, 2)
    ]  # fmt: skip
    assert len(runs[0]) == 2
    assert runs[0] == runs[1]


def test_class_versions_come_from_the_first_bytes_of_the_copied_classes(tmp_path, monkeypatch):
    jar = _shaded(tmp_path, extra_members={"org/dependency/Later.class": _JAVA_21_CLASS})
    deferred = inspect_artifact(jar, scan_classes=False)
    plans = plan_layers(jar, deferred, get_environment("java-17"))
    archive = planned_archive(plans)
    assert isinstance(archive, SafeArchive)

    def refused(*_args):
        raise AssertionError("a member was read again or inflated whole")

    monkeypatch.setattr(archive, "read_small_member", refused)
    for plan in plans:
        write_layer(plan.entries, tmp_path / "layers")
    monkeypatch.setattr(archive, "read_prefix", refused)
    assert complete_class_scan(deferred, archive).java_release == 21


def test_a_jar_with_nothing_to_split_off_goes_in_whole(tmp_path):
    jar = artifacts.build_http_jar(tmp_path)
    (plan,) = _plan(jar)
    assert [entry.path for entry in plan.entries] == ["/app/app.jar"]
    assert plan.entries[0].size == jar.stat().st_size


@pytest.mark.parametrize(
    "manifest",
    [b"Manifest-Version: 1.0\r\n 1\r\nMain-Class: com.example.hello.Server\r\n\r\n",
     b"Main-Class: com.example.hello.Server"],
    ids=["continued-first-line", "no-line-end"],
)  # fmt: skip
def test_a_manifest_the_class_path_cannot_safely_join_keeps_the_exploded_layout(tmp_path, manifest):
    jar = _shaded(tmp_path)
    odd = tmp_path / "odd.jar"
    with zipfile.ZipFile(jar) as original, zipfile.ZipFile(odd, "w") as target:
        for info in original.infolist():
            data = manifest if info.filename == "META-INF/MANIFEST.MF" else original.read(info)
            target.writestr(info, data)
    plans = _plan(odd)
    assert any(entry.path == "/app/com/example/hello/Server.class" for entry in plans[-1].entries)


def test_members_bigger_than_a_read_window_are_copied_in_pieces(tmp_path, monkeypatch):
    # Small windows here stand for a 1 GiB bundled file against 8 MiB windows: never read whole.
    monkeypatch.setattr("b2i.packaging.jar_split._WINDOW", 4096)
    big = random.Random(7).randbytes(51_200)  # incompressible: about 13 windows
    jar = _shaded(tmp_path, extra_members={"data/big.bin": big})
    reads: list[int] = []
    _, dependencies, _ = _split(jar)
    archive = dependencies.source.archive
    original = archive.read_raw
    monkeypatch.setattr(archive, "read_raw", lambda o, n: reads.append(n) or original(o, n))
    with zipfile.ZipFile(io.BytesIO(dependencies.source.read_whole())) as deps:
        assert deps.testzip() is None
        assert deps.read("data/big.bin") == big
    assert reads and max(reads) <= 4096
