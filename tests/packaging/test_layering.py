"""Layer plans: Jib-style splits that run like `java -jar`, and small rebuilds."""

import io
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from b2i.oci.layers import write_layer
from b2i.packaging.environments import environment_warnings, get_environment
from b2i.packaging.errors import ArtifactError
from b2i.packaging.inspection import complete_class_scan, inspect_artifact
from b2i.packaging.layering import plan_layers, planned_archive, run_settings
from tests.fixtures import artifacts
from tests.fixtures.processes import free_port

LANG = artifacts.COMMONS_LANG.resolve().name


def _plan(path, environment="java-17", **kwargs):
    return plan_layers(path, inspect_artifact(path), get_environment(environment), **kwargs)


def _paths(plan):
    return {entry.path for entry in plan.entries if entry.kind == "file"}


def test_binary_is_one_executable_layer(tmp_path):
    binary = artifacts.build_static_binary(tmp_path)
    (plan,) = _plan(binary, "binary-debian")
    (entry,) = plan.entries
    assert (entry.path, entry.mode, entry.size) == ("/app/app", 0o755, binary.stat().st_size)
    assert run_settings([plan]) == (None, None, None)


def test_kubesphere_binary_goes_to_its_fixed_path(tmp_path):
    (plan,) = _plan(artifacts.build_static_binary(tmp_path), "kubesphere-binary")
    assert [entry.path for entry in plan.entries] == ["/opt/app-root/src/bin/binary"]


def test_kubesphere_java_keeps_the_jar_packaged_in_deployments(tmp_path):
    (plan,) = _plan(artifacts.build_spring_boot_jar(tmp_path), "kubesphere-java-8")
    assert _paths(plan) == {"/deployments/boot-app.jar"}
    assert plan.entries[0].mode == 0o644
    assert run_settings([plan]) == (None, None, None)


def test_packaged_form_on_request(tmp_path):
    (plan,) = _plan(artifacts.build_http_jar(tmp_path), exploded=False)
    assert _paths(plan) == {"/app/app.jar"}


def test_spring_boot_layers_follow_layers_idx(tmp_path):
    plans = _plan(artifacts.build_spring_boot_jar(tmp_path))
    by_name = {plan.name: _paths(plan) for plan in plans}
    assert [plan.name for plan in plans] == [
        "dependencies",
        "spring-boot-loader",
        "snapshot-dependencies",
        "application",
    ]
    assert by_name["dependencies"] == {f"/app/BOOT-INF/lib/{LANG}"}
    assert by_name["snapshot-dependencies"] == {"/app/BOOT-INF/lib/commons-cli-1.6.0-SNAPSHOT.jar"}
    assert by_name["spring-boot-loader"] == {"/app/org/b2itest/loader/Launcher.class"}
    assert "/app/BOOT-INF/classes/com/example/boot/Greeting.class" in by_name["application"]
    assert "/app/META-INF/MANIFEST.MF" in by_name["application"]
    assert run_settings(plans) == (
        ("java", "-cp", "/app", "org.b2itest.loader.Launcher"),
        (),
        "/app",
    )


def test_spring_boot_without_index_uses_the_default_split(tmp_path):
    jar = artifacts.build_spring_boot_jar(tmp_path, layers_index=False)
    by_name = {plan.name: _paths(plan) for plan in _plan(jar)}
    assert by_name["dependencies"] == {f"/app/BOOT-INF/lib/{LANG}"}
    assert by_name["snapshot-dependencies"] == {"/app/BOOT-INF/lib/commons-cli-1.6.0-SNAPSHOT.jar"}
    assert by_name["spring-boot-loader"] == {"/app/org/b2itest/loader/Launcher.class"}


def _jar_members(entry):
    with zipfile.ZipFile(io.BytesIO(entry.source.read_whole())) as jar:
        assert jar.testzip() is None  # every copied member inflates to its CRC
        return {info.filename for info in jar.infolist() if not info.is_dir()}


def test_shaded_jar_splits_on_the_main_class_package_prefix_into_two_jars(tmp_path):
    jar = artifacts.build_http_jar(tmp_path, shade=[artifacts.COMMONS_LANG])
    plans = _plan(jar)
    assert [plan.name for plan in plans] == ["dependencies", "application"]
    (dependencies,), (application,) = (plan.entries for plan in plans)
    assert (application.path, dependencies.path) == ("/app/app.jar", "/app/lib/dependencies.jar")
    assert _jar_members(application) == {
        "META-INF/MANIFEST.MF",
        "com/example/hello/Greeting.class",
        "com/example/hello/Server.class",
    }
    assert "org/apache/commons/lang3/StringUtils.class" in _jar_members(dependencies)
    assert run_settings(plans) == (None, None, None)  # the environment's `java -jar` runs it


@pytest.mark.parametrize("variant", [{"multi_release": True}, {"signed": True}])
def test_multi_release_and_signed_jars_stay_packaged(tmp_path, variant):
    (plan,) = _plan(artifacts.build_http_jar(tmp_path, **variant))
    assert _paths(plan) == {"/app/app.jar"}
    assert run_settings([plan]) == (None, None, None)


def test_war_is_exploded_into_webapps_with_libraries_apart(tmp_path):
    plans = _plan(artifacts.build_war(tmp_path), "tomcat-10-java-17")
    by_name = {plan.name: _paths(plan) for plan in plans}
    root = "/usr/local/tomcat/webapps/shop"
    assert by_name["dependencies"] == {f"{root}/WEB-INF/lib/{LANG}"}
    assert f"{root}/WEB-INF/classes/com/example/web/HelloServlet.class" in by_name["application"]
    assert f"{root}/index.html" in by_name["application"]
    assert run_settings(plans) == (None, None, None)  # Tomcat's own command stays


def test_war_context_can_be_root(tmp_path):
    plans = _plan(artifacts.build_war(tmp_path), "tomcat-10-java-17", context="ROOT")
    assert "/usr/local/tomcat/webapps/ROOT/index.html" in _paths(plans[-1])


def _digests(plans, out):
    return {plan.name: write_layer(plan.entries, out) for plan in plans}


@pytest.mark.parametrize("kind", ["spring-boot", "shaded"])
def test_one_changed_class_changes_only_the_small_application_layer(tmp_path, kind):
    def build(directory, message):
        directory.mkdir()
        if kind == "spring-boot":
            return artifacts.build_spring_boot_jar(directory, message)
        return artifacts.build_http_jar(directory, message, shade=[artifacts.COMMONS_LANG])

    before = build(tmp_path / "v1", "version one")
    after = build(tmp_path / "v2", "version two")
    first = _digests(_plan(before), tmp_path / "l1")
    second = _digests(_plan(after), tmp_path / "l2")
    changed = [name for name in first if first[name].digest != second[name].digest]
    assert changed == ["application"]
    assert second["application"].size < 0.01 * after.stat().st_size


def _extract(plans, out, root):
    for plan in plans:
        with tarfile.open(write_layer(plan.entries, out).path) as layer:
            layer.extractall(root, filter="data")


def http_answer(command, cwd=None):
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                    return reply.read()
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{command} never answered")
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("kind", ["spring-boot", "shaded", "launch-script"])
def test_exploded_layout_answers_like_java_minus_jar(tmp_path, kind):
    if kind == "spring-boot":
        jar = artifacts.build_spring_boot_jar(tmp_path, "from boot")
    elif kind == "launch-script":
        jar = artifacts.build_spring_boot_jar(tmp_path, "from boot")
        jar = artifacts.prepend_launch_script(jar)
    else:
        jar = artifacts.build_http_jar(tmp_path, "from shaded", shade=[artifacts.COMMONS_LANG])
    plans = _plan(jar)
    root = tmp_path / "rootfs"
    _extract(plans, tmp_path / "layers", root)
    entrypoint, _, workdir = run_settings(plans)
    if entrypoint is None:  # split JARs: the environment's own command
        entrypoint, workdir = get_environment("java-17").entrypoint, "/app"
    assert entrypoint is not None and workdir is not None
    # The entrypoint names /app; run it against the extracted copy of /app.
    command = [str(root) + part if part.startswith("/app") else part for part in entrypoint]
    exploded = http_answer(command, cwd=Path(str(root) + workdir))
    assert exploded == http_answer(["java", "-jar", str(jar)])
    assert exploded.decode().strip() in ("from boot", "from shaded")


_DIGESTS_PROGRAM = """
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


def test_layered_jar_gives_the_same_digests_in_two_processes(tmp_path):
    jar = artifacts.build_spring_boot_jar(tmp_path)
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DIGESTS_PROGRAM, str(jar), str(tmp_path / f"out{n}")],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        ).stdout.split()
        for n in (1, 2)
    ]
    assert len(runs[0]) == 4
    assert runs[0] == runs[1]
    local = [write_layer(plan.entries, tmp_path / "here").digest for plan in _plan(jar)]
    assert local == runs[0]


def test_an_unsafe_context_override_is_a_user_error(tmp_path):
    with pytest.raises(ArtifactError) as error:
        _plan(artifacts.build_war(tmp_path), "tomcat-10-java-17", context="../../etc")
    assert error.value.code == "build:user:bad-context-path"


# A dependency class needing Java 21 (major 65) among Java 17 application classes.
_JAVA_21_CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x41" + bytes(24)


def _jar_with_a_java_21_dependency(tmp_path):
    extra = {"org/dependency/Later.class": _JAVA_21_CLASS}
    return artifacts.build_http_jar(tmp_path, shade=[artifacts.COMMONS_LANG], extra_members=extra)


def test_class_versions_are_taken_from_the_layer_writers_reads(tmp_path, monkeypatch):
    jar = _jar_with_a_java_21_dependency(tmp_path)
    full = inspect_artifact(jar)
    deferred = inspect_artifact(jar, scan_classes=False)
    assert full.java_release == 21
    assert deferred.java_release is None
    assert "not read yet" in deferred.summary()
    plans = plan_layers(jar, deferred, get_environment("java-17"))
    for plan in plans:
        write_layer(plan.entries, tmp_path / "layers")
    archive = planned_archive(plans)

    def read_again(*_args):
        raise AssertionError("a class the layer writer read was read again")

    monkeypatch.setattr(archive, "read_prefix", read_again)
    done = complete_class_scan(deferred, archive)
    assert done.java_release == 21
    assert done.summary() == full.summary()
    assert done.warnings == full.warnings
    assert done.recommended_environment == full.recommended_environment == "java-21"


def test_completing_the_class_scan_reads_the_classes_no_writer_read(tmp_path):
    # E.g. every layer came from the layer cache: nothing was inflated while writing.
    jar = _jar_with_a_java_21_dependency(tmp_path)
    deferred = inspect_artifact(jar, scan_classes=False)
    plans = plan_layers(jar, deferred, get_environment("java-17"))
    done = complete_class_scan(deferred, planned_archive(plans))
    assert done.java_release == 21
    assert any(
        "Java 21 bytecode" in warning
        for warning in environment_warnings(done, get_environment("java-17"))
    )
