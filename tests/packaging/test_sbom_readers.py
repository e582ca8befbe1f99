"""The SBOM readers on their own: Maven fallbacks and bounds, dpkg layers, Go build info."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from b2i.packaging.archives import SafeArchive
from b2i.sbom import maven
from b2i.sbom.dpkg import merge_layers, parse_status, read_layer_files
from b2i.sbom.gobuildinfo import parse_module_info, read_go_build_info
from tests.fixtures import artifacts

STANZA = "Package: {name}\nStatus: {status}\nArchitecture: amd64\nVersion: {version}\n"


def _zip(path: Path, members: dict[str, bytes], stored: bool = False) -> Path:
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _components(jar: Path) -> maven.ArchiveComponents:
    with SafeArchive(jar) as archive:
        return maven.components_of_archive(archive, jar.name)


def _boot_jar_with(tmp_path: Path, libs: dict[str, bytes], stored: bool = True) -> Path:
    members = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\nMain-Class: a.B\n\n"}
    members.update({f"BOOT-INF/lib/{name}": data for name, data in libs.items()})
    return _zip(tmp_path / "app.jar", members, stored=stored)


def _pom_path(group: str, name: str) -> str:
    return f"META-INF/maven/{group}/{name}/pom.properties"


def _pom(group: str, name: str, version: str) -> bytes:
    return f"groupId={group}\nartifactId={name}\nversion={version}\n".encode()


def _jar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_nested_jar_without_pom_is_named_by_its_manifest_then_by_its_file_name(
    tmp_path: Path,
) -> None:
    manifest = b"Implementation-Title: tool\nImplementation-Version: 2.0\n"
    manifest += b"Implementation-Vendor-Id: org.example\n\n"
    with_manifest = _jar_bytes({"META-INF/MANIFEST.MF": manifest})
    bare = _jar_bytes({"x/Y.class": b"\xca\xfe\xba\xbe"})
    jar = _boot_jar_with(tmp_path, {"tool-2.0.jar": with_manifest, "bare-lib-3.4.5.jar": bare})
    found = {c.name: c for c in _components(jar).libraries}
    assert found["tool"].purl == "pkg:maven/org.example/tool@2.0"
    assert found["tool"].evidence == "manifest"
    assert (found["bare-lib"].version, found["bare-lib"].evidence) == ("3.4.5", "filename")
    assert found["bare-lib"].purl is None  # no group: no purl is invented
    assert found["bare-lib"].sha256 == hashlib.sha256(bare).hexdigest()


def test_a_shaded_nested_jar_gives_one_component_per_pom_and_its_hash_to_its_own(
    tmp_path: Path,
) -> None:
    nested = _jar_bytes({_pom_path("org.x", "shaded"): _pom("org.x", "shaded", "1"),
                         _pom_path("org.y", "inner"): _pom("org.y", "inner", "7")})  # fmt: skip
    jar = _boot_jar_with(tmp_path, {"shaded-1.jar": nested}, stored=False)  # deflated: inflated
    found = {c.purl: c for c in _components(jar).libraries}
    assert set(found) == {"pkg:maven/org.x/shaded@1", "pkg:maven/org.y/inner@7"}
    assert found["pkg:maven/org.x/shaded@1"].sha256 == hashlib.sha256(nested).hexdigest()
    assert found["pkg:maven/org.y/inner@7"].sha256 is None


def test_a_big_deflated_nested_jar_is_hashed_streaming_and_not_inflated_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = _jar_bytes({"META-INF/maven/a/b/pom.properties": b"groupId=a\nartifactId=b\n"})
    jar = _boot_jar_with(tmp_path, {"big-1.0.jar": nested}, stored=False)
    monkeypatch.setattr(maven, "MAX_INFLATED_NESTED", 16)
    (library,) = _components(jar).libraries
    assert (library.name, library.evidence) == ("big", "filename")
    assert library.sha256 == hashlib.sha256(nested).hexdigest()


def test_a_nested_file_that_is_not_a_zip_falls_back_to_its_name(tmp_path: Path) -> None:
    jar = _boot_jar_with(tmp_path, {"broken-1.2.jar": b"not a zip at all"})
    (library,) = _components(jar).libraries
    assert (library.name, library.version, library.evidence) == ("broken", "1.2", "filename")


def test_the_application_is_the_pom_its_file_is_named_after(tmp_path: Path) -> None:
    members = {_pom_path("org.lib", "dep"): _pom("org.lib", "dep", "9"),
               _pom_path("com.acme", "svc"): _pom("com.acme", "svc", "2.1")}  # fmt: skip
    jar = artifacts.build_http_jar(tmp_path, name="svc-2.1.jar", extra_members=members)
    components = _components(jar)
    assert components.application is not None
    assert components.application.purl == "pkg:maven/com.acme/svc@2.1"
    assert [c.purl for c in components.libraries] == ["pkg:maven/org.lib/dep@9"]


def _layer(files: dict[str, bytes]) -> io.BytesIO:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return io.BytesIO(gzip.compress(raw.getvalue()))


def test_dpkg_layers_apply_in_order_with_whiteouts() -> None:
    status = STANZA.format(name="curl", status="install ok installed", version="7.88")
    status += "\n" + STANZA.format(name="gone", status="deinstall ok config-files", version="1")
    distroless = STANZA.format(name="tzdata", status="install ok installed", version="2024a")
    gz = "application/vnd.oci.image.layer.v1.tar+gzip"
    first = read_layer_files(_layer({
        "./var/lib/dpkg/status": status.encode(),
        "var/lib/dpkg/status.d/tzdata": distroless.encode(),
        "var/lib/dpkg/status.d/tzdata.md5sums": b"abc  x\n",
    }), gz)  # fmt: skip
    assert [p.name for p in merge_layers([first]).packages] == ["curl", "tzdata"]
    removed = read_layer_files(_layer({"var/lib/dpkg/.wh.status": b""}), gz)
    assert [p.name for p in merge_layers([first, removed]).packages] == ["tzdata"]
    opaque = read_layer_files(_layer({"var/lib/dpkg/status.d/.wh..wh..opq": b""}), gz)
    assert [p.name for p in merge_layers([first, opaque]).packages] == ["curl"]


def test_status_keeps_installed_packages_only() -> None:
    text = STANZA.format(name="a", status="install ok installed", version="1:2.0-1")
    text += "\n" + STANZA.format(name="b", status="purge ok not-installed", version="1")
    assert [(p.name, p.version) for p in parse_status(text)] == [("a", "1:2.0-1")]


def test_a_binary_without_go_build_info_has_none(tmp_path: Path) -> None:
    assert read_go_build_info(artifacts.build_static_binary(tmp_path)) is None


def test_module_info_takes_replacements_but_keeps_local_directories_named_by_the_module() -> None:
    sentinel = b"0" * 16
    text = (
        "path\texample.com/cmd\nmod\texample.com/cmd\tv1.0.0\th1:x\n"
        "dep\tgolang.org/x/text\tv0.3.0\th1:a\n=>\tgithub.com/fork/text\tv0.3.1\th1:b\n"
        "dep\texample.com/local\tv0.0.0\n=>\t../local\t\n"
    )
    info = parse_module_info("go1.19.8", sentinel + text.encode() + sentinel)
    assert [m.purl for m in info.dependencies] == [
        "pkg:golang/github.com/fork/text@v0.3.1",
        "pkg:golang/example.com/local@v0.0.0",
    ]
    assert info.main is not None and info.main.purl == "pkg:golang/example.com/cmd@v1.0.0"


def test_a_nested_jar_with_a_launch_script_before_it_is_read_by_the_slow_path(
    tmp_path: Path,
) -> None:
    # The quick directory search refuses shifted offsets; zipfile then reads the whole jar.
    nested = b"#!/bin/sh\nexec java -jar $0\n" + _jar_bytes(
        {_pom_path("o.p", "q"): _pom("o.p", "q", "3")}
    )
    jar = _boot_jar_with(tmp_path, {"q-3.jar": nested})
    (library,) = _components(jar).libraries
    assert (library.purl, library.evidence) == ("pkg:maven/o.p/q@3", "pom.properties")
    assert library.sha256 == hashlib.sha256(nested).hexdigest()
