"""Artifact inspection of real JARs, WARs and binaries, judged from the bytes."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from b2i.packaging.errors import ArtifactError
from b2i.packaging.inspection import inspect_artifact
from tests.fixtures import artifacts


def _sha256(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_plain_jar_reports_main_class_java_version_and_recommends_java_17(tmp_path):
    jar = artifacts.build_http_jar(tmp_path)
    inspection = inspect_artifact(jar)
    assert inspection.kind == "jar"
    assert inspection.jar.main_class == "com.example.hello.Server"
    assert inspection.java_release == 17
    assert inspection.recommended_environment == "java-17"
    assert inspection.summary() == "Executable JAR · Java 17 bytecode"
    assert inspection.sha256 == _sha256(jar)
    assert inspection.size == jar.stat().st_size
    assert inspection.warnings == ()


def test_java_8_jar_is_recommended_the_java_8_runtime(tmp_path):
    inspection = inspect_artifact(artifacts.build_http_jar(tmp_path, java_release=8))
    assert inspection.java_release == 8
    assert inspection.recommended_environment == "java-8"


def test_java_21_bytecode_is_recommended_java_21(tmp_path):
    inspection = inspect_artifact(artifacts.build_http_jar(tmp_path, class_major=65))
    assert inspection.java_release == 21
    assert inspection.recommended_environment == "java-21"


def test_spring_boot_jar_is_recognised_with_its_layers_index(tmp_path):
    inspection = inspect_artifact(artifacts.build_spring_boot_jar(tmp_path))
    facts = inspection.jar
    assert facts.spring_boot
    assert facts.start_class == "com.example.boot.Server"
    assert [layer.name for layer in facts.layers_index] == [
        "dependencies",
        "spring-boot-loader",
        "snapshot-dependencies",
        "application",
    ]
    assert "BOOT-INF/lib/commons-cli-1.6.0-SNAPSHOT.jar" in facts.layers_index[2].paths
    assert inspection.summary() == "Spring Boot JAR · Java 17 bytecode"


def test_multi_release_and_signed_jars_are_flagged(tmp_path):
    multi = inspect_artifact(artifacts.build_http_jar(tmp_path, multi_release=True))
    assert multi.jar.multi_release and not multi.jar.signed
    # Java 11 copies under META-INF/versions do not change what the JAR needs.
    assert multi.java_release == 17
    signed = inspect_artifact(artifacts.build_http_jar(tmp_path, name="s.jar", signed=True))
    assert signed.jar.signed
    assert signed.summary() == "Executable JAR · Java 17 bytecode · signed"


def test_inspection_as_dict_is_json_serialisable(tmp_path):
    data = inspect_artifact(artifacts.build_spring_boot_jar(tmp_path)).as_dict()
    decoded = json.loads(json.dumps(data))
    assert decoded["kind"] == "jar"
    assert decoded["summary"] == "Spring Boot JAR · Java 17 bytecode"
    assert decoded["jar"]["layers_index"][0]["name"] == "dependencies"
    assert decoded["java_release"] == 17


def test_jakarta_war_goes_to_tomcat_10_with_context_from_file_name(tmp_path):
    inspection = inspect_artifact(artifacts.build_war(tmp_path, namespace="jakarta"))
    assert inspection.kind == "war"
    assert inspection.servlet_namespace == "jakarta"
    assert inspection.context_path == "shop"
    assert inspection.recommended_environment == "tomcat-10-java-17"
    assert inspection.summary() == "WAR · jakarta.servlet · Java 8 bytecode · served at /shop/"
    assert inspection.war.library_count == 1


def test_javax_war_goes_to_tomcat_9(tmp_path):
    war = artifacts.build_war(tmp_path, namespace="javax", web_xml=False)
    inspection = inspect_artifact(war)
    assert inspection.servlet_namespace == "javax"
    assert inspection.recommended_environment == "tomcat-9-java-8"


def test_war_context_follows_the_upload_name_and_can_be_root(tmp_path):
    war = artifacts.build_war(tmp_path, name="upload-1234.bin")
    assert inspect_artifact(war, filename="Shop Front.war").context_path == "Shop-Front"
    root = inspect_artifact(war, filename="ROOT.war")
    assert root.war.url_path == "/"
    assert inspect_artifact(war, context="api#v1").war.url_path == "/api/v1/"


def test_bad_context_is_refused(tmp_path):
    with pytest.raises(ArtifactError) as error:
        inspect_artifact(artifacts.build_war(tmp_path), context="../etc")
    assert error.value.code == "build:user:bad-context-path"


def test_static_binary_is_recommended_distroless(tmp_path):
    inspection = inspect_artifact(artifacts.build_static_binary(tmp_path))
    assert inspection.kind == "binary"
    assert inspection.binary.linkage == "static"
    assert inspection.binary.architecture == "amd64"
    assert inspection.recommended_environment == "binary-distroless-static"
    assert inspection.summary() == "Static Linux binary · amd64"
    assert inspect_artifact(artifacts.copy_busybox(tmp_path)).binary.linkage == "static"


def test_dynamic_binary_names_its_interpreter_and_needs_debian(tmp_path):
    binary = tmp_path / "ls"
    shutil.copyfile("/bin/ls", binary)
    inspection = inspect_artifact(binary)
    assert inspection.binary.linkage == "dynamic"
    assert inspection.binary.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert inspection.recommended_environment == "binary-debian"


def test_shell_script_is_accepted_as_a_binary(tmp_path):
    inspection = inspect_artifact(artifacts.write_shell_script(tmp_path), expected_kind="binary")
    assert inspection.binary.linkage == "script"
    assert inspection.binary.interpreter == "/bin/sh"
    assert inspection.recommended_environment == "binary-debian"


def test_arm64_binary_is_warned_about_on_an_amd64_image(tmp_path):
    fake = artifacts.write_fake_elf(tmp_path, interpreter="/lib/ld-linux-aarch64.so.1")
    inspection = inspect_artifact(fake)
    assert inspection.binary.architecture == "arm64"
    assert any("exec format error" in warning for warning in inspection.warnings)


def test_kind_comes_from_the_bytes_not_the_file_name(tmp_path):
    jar = artifacts.build_http_jar(tmp_path, name="looks-like.war")
    assert inspect_artifact(jar).kind == "jar"


def _error_of(path, **kwargs):
    with pytest.raises(ArtifactError) as error:
        inspect_artifact(path, **kwargs)
    return error.value


def test_war_uploaded_as_jar_is_a_kind_mismatch(tmp_path):
    error = _error_of(artifacts.build_war(tmp_path), expected_kind="jar")
    assert error.code == "build:user:kind-mismatch"
    assert "this file is a WAR, not a JAR" in error.message


def test_jar_uploaded_as_war_or_binary_is_a_kind_mismatch(tmp_path):
    jar = artifacts.build_http_jar(tmp_path)
    assert "a JAR, not a WAR" in _error_of(jar, expected_kind="war").message
    assert "a JAR, not a Linux binary" in _error_of(jar, expected_kind="binary").message


def test_text_file_as_jar_is_refused(tmp_path):
    error = _error_of(artifacts.write_text_file(tmp_path), expected_kind="jar")
    assert error.code == "build:user:not-an-archive"
    assert "text file" in error.message


def test_jar_without_main_class_is_not_executable(tmp_path):
    error = _error_of(artifacts.build_jar_without_main_class(tmp_path))
    assert error.code == "build:user:not-executable-jar"
    assert "not an executable JAR" in error.message


def test_zip_bomb_is_refused_before_reading(tmp_path):
    error = _error_of(artifacts.build_zip_bomb(tmp_path))
    assert error.code == "build:user:zip-bomb"


@pytest.mark.parametrize("entry", ["../x", "/etc/cron.d/x", "a/../../x", "C:/x"])
def test_unsafe_entry_names_are_refused(tmp_path, entry):
    error = _error_of(artifacts.build_zip_with_entry(tmp_path, entry=entry))
    assert error.code == "build:user:unsafe-path"
    assert repr(entry) in error.message


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_archive_is_refused(tmp_path, keep):
    jar = artifacts.build_spring_boot_jar(tmp_path)
    error = _error_of(artifacts.truncated_copy(jar, tmp_path, keep=keep), expected_kind="jar")
    assert error.code == "build:user:corrupt-archive"


def test_non_elf_binary_is_refused(tmp_path):
    error = _error_of(artifacts.write_non_elf_file(tmp_path), expected_kind="binary")
    assert error.code == "build:user:not-a-linux-binary"


def test_32_bit_arm_binary_is_an_unsupported_architecture(tmp_path):
    error = _error_of(artifacts.write_fake_elf(tmp_path, machine=0x28))
    assert error.code == "build:user:unsupported-architecture"


def test_empty_and_unknown_files_are_refused(tmp_path):
    empty = tmp_path / "empty.jar"
    empty.write_bytes(b"")
    assert _error_of(empty).code == "build:user:empty-file"
    assert _error_of(artifacts.write_text_file(tmp_path)).code == "build:user:unknown-kind"


def test_fully_executable_jar_with_a_launch_script_is_a_jar(tmp_path):
    jar = artifacts.prepend_launch_script(artifacts.build_spring_boot_jar(tmp_path))
    inspection = inspect_artifact(jar, expected_kind="jar")
    assert inspection.kind == "jar" and inspection.jar.spring_boot


def test_a_jar_is_inspected_without_loading_the_war_and_binary_modules(tmp_path):
    # A `b2i` process building a JAR (the usual case) is spared importing them at start-up.
    jar = artifacts.build_http_jar(tmp_path)
    modules = "('b2i.packaging.war', 'b2i.packaging.binary')"
    program = (
        "import sys\n"
        "import b2i.cli\n"
        "from b2i.packaging.inspection import inspect_artifact\n"
        f"print(inspect_artifact({str(jar)!r}).kind)\n"
        f"print([m for m in {modules} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.split("\n")[:2] == ["jar", "[]"]
