"""Built-in build environments: the catalogue, serialisation, mirrors, recommendations, warnings."""

import json

import pytest

from b2i.packaging.environments import (
    BUILTIN_ENVIRONMENTS,
    BuildEnvironment,
    check_environment_accepts,
    environment_warnings,
    get_environment,
    rewrite_docker_hub_reference,
)
from b2i.packaging.errors import ArtifactError
from b2i.packaging.inspection import inspect_artifact
from tests.fixtures import artifacts

REQUIRED = {
    "java-8": "eclipse-temurin:8-jre",
    "java-11": "eclipse-temurin:11-jre",
    "java-17": "eclipse-temurin:17-jre",
    "java-21": "eclipse-temurin:21-jre",
    "tomcat-9-java-8": "tomcat:9.0-jre8",
    "tomcat-9-java-11": "tomcat:9.0-jre11",
    "tomcat-9-java-17": "tomcat:9.0-jre17",
    "tomcat-10-java-17": "tomcat:10.1-jre17",
    "tomcat-10-java-21": "tomcat:10.1-jre21",
    "binary-debian": "debian:bookworm-slim",
    "binary-distroless-static": "gcr.io/distroless/static-debian12",
    "kubesphere-java-8": "kubesphere/java-8-centos7:v3.2.0",
    "kubesphere-java-11": "kubesphere/java-11-centos7:v3.2.0",
    "kubesphere-tomcat85-java-8": "kubesphere/tomcat85-java8-centos7:v3.2.0",
    "kubesphere-tomcat85-java-11": "kubesphere/tomcat85-java11-centos7:v3.2.0",
    "kubesphere-binary": "kubesphere/s2i-binary:v3.2.0",
}


def test_every_required_environment_ships_with_its_base_image():
    shipped = {env.name: env.base_image for env in BUILTIN_ENVIRONMENTS}
    for name, base in REQUIRED.items():
        assert shipped.get(name) == base, name
    assert len(shipped) == len(BUILTIN_ENVIRONMENTS), "environment names must be unique"


@pytest.mark.parametrize("environment", BUILTIN_ENVIRONMENTS, ids=lambda env: env.name)
def test_environment_round_trips_through_json(environment):
    data = json.loads(json.dumps(environment.as_dict()))
    assert BuildEnvironment.from_dict(data) == environment


def test_tomcat_places_the_war_by_context_and_keeps_the_base_command():
    tomcat = get_environment("tomcat-10-java-17")
    assert tomcat.target_path(context="shop") == "/usr/local/tomcat/webapps/shop.war"
    assert tomcat.keep_base_command and tomcat.port == 8080
    assert tomcat.servlet_namespace == "jakarta"


def test_kubesphere_environments_place_like_kubesphere():
    java = get_environment("kubesphere-java-8")
    assert java.target_path(filename="my app.jar") == "/deployments/my-app.jar"
    assert java.keep_base_command and not java.allows_exploded
    binary = get_environment("kubesphere-binary")
    assert binary.target_path() == "/opt/app-root/src/bin/binary"
    assert [parameter.key for parameter in binary.parameters] == ["ARGS"]


def test_java_environment_runs_the_jar_with_java_minus_jar():
    java = get_environment("java-17")
    assert java.entrypoint == ("java", "-jar", "/app/app.jar")
    assert java.target_path() == "/app/app.jar"


def test_unknown_environment_names_the_choices():
    with pytest.raises(ArtifactError) as error:
        get_environment("java-7")
    assert "java-17" in error.value.message


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("eclipse-temurin:17-jre", "mirror.local:5000/library/eclipse-temurin:17-jre"),
        ("kubesphere/s2i-binary:v3.2.0", "mirror.local:5000/kubesphere/s2i-binary:v3.2.0"),
        ("docker.io/library/debian:12", "mirror.local:5000/library/debian:12"),
        ("index.docker.io/kubesphere/x:1", "mirror.local:5000/kubesphere/x:1"),
        ("gcr.io/distroless/static-debian12", "gcr.io/distroless/static-debian12"),
        ("localhost:5000/base:1", "localhost:5000/base:1"),
    ],
)
def test_registry_mirror_rewrites_only_docker_hub(reference, expected):
    assert rewrite_docker_hub_reference(reference, "mirror.local:5000") == expected
    assert rewrite_docker_hub_reference(reference, None) == reference


def test_environment_with_mirror_changes_only_the_base():
    mirrored = get_environment("java-17").with_mirror("mirror.local:5000/hub")
    assert mirrored.base_image == "mirror.local:5000/hub/library/eclipse-temurin:17-jre"
    assert mirrored.entrypoint == get_environment("java-17").entrypoint


def test_newer_bytecode_on_an_older_runtime_is_warned(tmp_path):
    inspection = inspect_artifact(artifacts.build_http_jar(tmp_path))
    warnings = environment_warnings(inspection, get_environment("java-8"))
    assert any("Java 17 bytecode" in w and "UnsupportedClassVersionError" in w for w in warnings)
    assert environment_warnings(inspection, get_environment("java-21")) == []


def test_servlet_namespace_mismatch_is_warned(tmp_path):
    inspection = inspect_artifact(artifacts.build_war(tmp_path, namespace="jakarta"))
    warnings = environment_warnings(inspection, get_environment("tomcat-9-java-17"))
    assert any("jakarta.servlet" in w for w in warnings)


def test_dynamic_binary_on_distroless_and_missing_script_interpreter_are_warned(tmp_path):
    fake = artifacts.write_fake_elf(tmp_path, machine=0x3E, interpreter="/lib64/ld.so")
    dynamic = inspect_artifact(fake)
    static_base = get_environment("binary-distroless-static")
    assert any("no libc" in w for w in environment_warnings(dynamic, static_base))
    script = artifacts.write_shell_script(tmp_path, interpreter="/usr/bin/python3")
    warnings = environment_warnings(inspect_artifact(script), get_environment("binary-debian"))
    assert any("/usr/bin/python3" in w for w in warnings)


def test_environment_refuses_another_artifact_kind(tmp_path):
    inspection = inspect_artifact(artifacts.build_war(tmp_path))
    with pytest.raises(ArtifactError) as error:
        check_environment_accepts(inspection, get_environment("java-17"))
    assert error.value.code == "build:user:environment-mismatch"
    check_environment_accepts(inspection, get_environment("tomcat-10-java-21"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"placement": "relative/app.jar"}, "absolute path"),
        ({"placement": "/app/{version}.jar"}, "{context} and {filename}"),
        ({"placement": "/app/../etc/x"}, "absolute path"),
        ({"artifact_kinds": ["ear"]}, "artifact_kinds"),
        ({"port": 70000}, "port"),
        ({"parameters": [{"key": "BAD KEY", "description": "d"}]}, "environment variable"),
    ],
)
def test_environments_from_data_are_validated(change, message):
    data = {**get_environment("java-17").as_dict(), **change}
    with pytest.raises(ValueError, match=message):
        BuildEnvironment.from_dict(data)


def test_unknown_environment_fields_are_refused():
    with pytest.raises(TypeError):
        BuildEnvironment.from_dict({**get_environment("java-17").as_dict(), "colour": "red"})


def test_a_script_is_refused_where_its_interpreter_is_missing(tmp_path):
    inspection = inspect_artifact(artifacts.write_shell_script(tmp_path))
    check_environment_accepts(inspection, get_environment("binary-debian"))
    with pytest.raises(ArtifactError) as error:
        check_environment_accepts(inspection, get_environment("binary-distroless-static"))
    assert "/bin/sh" in error.value.message
    python = inspect_artifact(
        artifacts.write_shell_script(tmp_path, interpreter="/usr/bin/python3")
    )
    with pytest.raises(ArtifactError):
        check_environment_accepts(python, get_environment("binary-debian"))
