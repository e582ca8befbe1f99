"""SBOM + provenance pushed as OCI 1.1 referrers, through real builds on the real registry.

Each artifact kind's SBOM lists what is really inside it (purls asserted against the bytes of
the jars and the Go binary's own dependency), is valid CycloneDX 1.6 (the official JSON
schema, strict), and is readable back from the registry: through the referrers tag schema on
docker-registry 2.8 (no referrers API) and through the referrers API (the loopback front of
tests/fixtures/referrers_api.py, the documented stand-in for a registry that has it).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from b2i.engine import BuildRequest, BuildResult, RegistryAccess, SupplyChainOptions, build_image
from b2i.oci.referrers import fallback_tag, list_referrers
from b2i.oci.registry import RegistryClient
from b2i.sbom.options import PROVENANCE_ARTIFACT_TYPE, SBOM_ARTIFACT_TYPE
from tests.fixtures import artifacts
from tests.fixtures.go_programs import DEPENDENCY, MAIN_MODULE, build_go_program
from tests.fixtures.processes import venv_bin
from tests.fixtures.referrers_api import ReferrersApiFront
from tests.fixtures.registry import Registry
from tests.fixtures.sbom_bases import PackageBase

BUILDER_ID = "https://console.test/b2i@0.1.0"
GUAVA = artifacts.JAVA_DIR / "guava.jar"
LANG_PURL = "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
CLI_PURL = "pkg:maven/commons-cli/commons-cli@1.5.0"
GUAVA_PURL = "pkg:maven/com.google.guava/guava@31.1-jre"


def _build(
    host: str, artifact: Path, target: str, base: PackageBase, run: str = "runs/1", **options: Any
) -> BuildResult:
    request = BuildRequest(
        artifact=artifact,
        target=f"{host}/{target}",
        registries={
            host: RegistryAccess(scheme="http"),
            base.reference.split("/")[0]: RegistryAccess(scheme="http"),
        },
        allowed_networks=("127.0.0.0/8",),
        base_image=base.reference,
        supply_chain=SupplyChainOptions(
            builder_id=BUILDER_ID,
            invocation_id=f"https://console.test/{run}",
            build_settings={"builder": "team/app"},
        ),
        **options,
    )
    return build_image(request)


def _components(result: BuildResult, source: str) -> list[dict[str, Any]]:
    assert result.sbom_document is not None
    return [
        component
        for component in result.sbom_document["components"]
        if {"name": "b2i:source", "value": source} in component.get("properties", [])
    ]


def _purls(result: BuildResult, source: str) -> set[str]:
    return {c["purl"] for c in _components(result, source) if "purl" in c}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_of(component: dict[str, Any]) -> str | None:
    hashes = [h["content"] for h in component.get("hashes", []) if h["alg"] == "SHA-256"]
    return hashes[0] if hashes else None


def _assert_valid(document: dict[str, Any]) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document))
    assert error is None, error


def _os_packages(result: BuildResult) -> set[tuple[str, str, str, str, str]]:
    """Return (type, namespace, name, version, arch) of each OS package's purl, decoded."""
    found = set()
    for purl in _purls(result, "os"):
        parsed = PackageURL.from_string(purl)
        qualifiers = parsed.qualifiers
        assert isinstance(qualifiers, dict)
        arch = str(qualifiers.get("arch", ""))
        found.add((parsed.type, parsed.namespace or "", parsed.name, parsed.version or "", arch))
    return found


def _expected_packages(base: PackageBase) -> set[tuple[str, str, str, str, str]]:
    return {("deb", "debian", name, version, arch) for name, version, arch in base.packages}


def _client(host: str) -> RegistryClient:
    return RegistryClient(host, scheme="http", allowed_networks=("127.0.0.0/8",))


def _read_referrers(host: str, repository: str, result: BuildResult) -> tuple[dict[str, Any], str]:
    """Return {artifactType: document} read back from the registry, and how they were listed."""
    documents: dict[str, Any] = {}
    with _client(host) as client:
        found, via = list_referrers(client, repository, result.digest)
        for item in found:
            manifest = client.get_manifest(repository, item["digest"]).json()
            assert manifest["subject"]["digest"] == result.digest
            assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
            layers = manifest["layers"]
            assert isinstance(layers, list)
            (layer,) = layers
            with client.open_blob(repository, layer["digest"]) as blob:
                documents.setdefault(manifest["artifactType"], []).append(
                    json.loads(b"".join(iter(blob)))
                )
    return documents, via


def test_spring_boot_jar_lists_each_nested_library_with_its_hash_and_the_base_packages(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    libs = [artifacts.COMMONS_LANG, GUAVA, artifacts.COMMONS_CLI]
    jar = artifacts.build_spring_boot_jar(tmp_path, libs=libs)
    result = _build(registry.host, jar, "sbom/boot:v1", dpkg_base, environment="java-17")

    assert result.sbom_document is not None
    _assert_valid(result.sbom_document)
    libraries = {c["purl"]: c for c in _components(result, "library")}
    assert set(libraries) == {LANG_PURL, CLI_PURL, GUAVA_PURL}
    for purl, source in ((LANG_PURL, artifacts.COMMONS_LANG), (GUAVA_PURL, GUAVA)):
        assert _hash_of(libraries[purl]) == _sha256(source.resolve())
    assert _os_packages(result) == _expected_packages(dpkg_base)  # the removed package is gone
    (application,) = _components(result, "application")
    assert _hash_of(application) == _sha256(jar)
    subject = result.sbom_document["metadata"]["component"]
    image = PackageURL.from_string(subject["purl"])
    assert (image.type, image.name, image.version) == ("oci", "boot", result.digest)
    assert image.qualifiers == {"repository_url": f"{registry.host}/sbom/boot"}

    documents, via = _read_referrers(registry.host, "sbom/boot", result)
    assert via == "tag" and result.referrers_via == "tag"  # docker-registry 2.8: the fallback
    assert documents[SBOM_ARTIFACT_TYPE] == [result.sbom_document]
    assert documents[PROVENANCE_ARTIFACT_TYPE] == [result.provenance_document]
    # skopeo still reads the image (the referrers live beside it, under their own tag).
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/sbom/boot:v1"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(inspected.stdout)["Digest"] == result.digest


def test_provenance_names_builder_inputs_and_run(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    jar = artifacts.build_http_jar(tmp_path)
    result = _build(
        registry.host, jar, "sbom/prov:v1", dpkg_base, run="runs/42", environment="java-17",
        env={"DB_PASSWORD": "not-in-the-provenance"},
    )  # fmt: skip
    statement = result.provenance_document
    assert statement is not None
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"][0]["digest"] == {"sha256": result.digest.split(":")[1]}
    definition, run = (
        statement["predicate"]["buildDefinition"],
        statement["predicate"]["runDetails"],
    )
    assert run["builder"]["id"] == BUILDER_ID
    assert run["metadata"]["invocationId"] == "https://console.test/runs/42"
    dependencies = {
        d.get("name") or d["uri"]: d["digest"] for d in definition["resolvedDependencies"]
    }
    assert dependencies["app.jar"] == {"sha256": _sha256(jar)}
    assert dependencies[f"oci://{result.base_reference}"] == {"sha256": dpkg_base.digest[7:]}
    parameters = definition["externalParameters"]
    assert parameters["environment"] == "java-17"
    assert parameters["buildSettings"] == {"builder": "team/app"}
    assert "DB_PASSWORD" in parameters["envNames"]
    assert "not-in-the-provenance" not in json.dumps(statement)


def test_kubesphere_sample_jar_names_the_application_by_its_coordinates(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    pom = b"groupId=io.kubesphere.devops\nartifactId=devops-sample\nversion=0.0.1-SNAPSHOT\n"
    members = {"META-INF/maven/io.kubesphere.devops/devops-sample/pom.properties": pom}
    jar = artifacts.build_spring_boot_jar(
        tmp_path, name="devops-sample-0.0.1-SNAPSHOT.jar", extra_members=members
    )
    result = _build(registry.host, jar, "sbom/ks:v1", dpkg_base, environment="kubesphere-java-8")
    assert _purls(result, "application") == {
        "pkg:maven/io.kubesphere.devops/devops-sample@0.0.1-SNAPSHOT"
    }
    # The default libraries: commons-lang3, and commons-cli under a -SNAPSHOT file name (its
    # pom.properties tells the truth: 1.5.0).
    assert _purls(result, "library") == {LANG_PURL, CLI_PURL}
    assert result.sbom_document is not None
    _assert_valid(result.sbom_document)


def _poms_of(jar: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(jar) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.endswith("pom.properties")}


def test_shaded_jar_lists_every_embedded_pom_as_a_component(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    shaded = [artifacts.COMMONS_LANG, artifacts.COMMONS_CLI]
    members = {
        "META-INF/maven/com.example/hello/pom.properties": (
            b"groupId=com.example\nartifactId=hello\nversion=1.0\n"
        ),
        **_poms_of(artifacts.COMMONS_LANG), **_poms_of(artifacts.COMMONS_CLI),
    }  # fmt: skip
    jar = artifacts.build_http_jar(
        tmp_path, name="hello-1.0-shaded.jar", shade=shaded, extra_members=members
    )
    result = _build(registry.host, jar, "sbom/shaded:v1", dpkg_base, environment="java-17")
    assert _purls(result, "application") == {"pkg:maven/com.example/hello@1.0"}
    libraries = {c["purl"]: c for c in _components(result, "library")}
    assert set(libraries) == {LANG_PURL, CLI_PURL}
    assert all(_hash_of(c) is None for c in libraries.values())  # no file of their own


def test_war_lists_web_inf_lib_jars(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    war = artifacts.build_war(tmp_path)
    result = _build(registry.host, war, "sbom/war:v1", dpkg_base, environment="tomcat-10-java-17")
    (library,) = _components(result, "library")
    assert library["purl"] == LANG_PURL
    assert _hash_of(library) == _sha256(artifacts.COMMONS_LANG.resolve())  # inflated, hashed
    assert result.sbom_document is not None
    _assert_valid(result.sbom_document)


def test_go_binary_lists_its_modules_and_distroless_packages(
    registry: Registry, distroless_base: PackageBase, tmp_path: Path
) -> None:
    binary = build_go_program(tmp_path)
    result = _build(
        registry.host, binary, "sbom/go:v1", distroless_base, environment="binary-distroless-static"
    )
    assert _purls(result, "application") == {f"pkg:golang/{MAIN_MODULE}"}
    (dependency,) = _components(result, "library")
    assert dependency["purl"] == f"pkg:golang/{DEPENDENCY}@v1.4.2"
    assert _os_packages(result) == _expected_packages(distroless_base)
    assert result.sbom_document is not None
    _assert_valid(result.sbom_document)


def test_identical_inputs_give_an_identical_sbom_and_the_fallback_index_keeps_every_referrer(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path)
    first = _build(
        registry.host, jar, "sbom/again:v1", dpkg_base, run="runs/1", environment="java-17"
    )
    second = _build(
        registry.host, jar, "sbom/again:v1", dpkg_base, run="runs/2", environment="java-17"
    )
    assert second.digest == first.digest
    assert second.sbom_document == first.sbom_document
    assert second.sbom_referrer_digest == first.sbom_referrer_digest
    # Each run's provenance is its own referrer; the index under the tag kept the first's.
    with _client(registry.host) as client:
        index = client.get_manifest("sbom/again", fallback_tag(first.digest)).json()
    manifests = index["manifests"]
    assert isinstance(manifests, list)
    listed = [item["digest"] for item in manifests]
    assert sorted(listed) == sorted(
        {first.sbom_referrer_digest, first.provenance_referrer_digest,
         second.provenance_referrer_digest}
    )  # fmt: skip


def test_referrers_api_is_used_where_the_registry_has_it(
    registry: Registry, referrers_api_registry: ReferrersApiFront, dpkg_base: PackageBase,
    tmp_path: Path,
) -> None:  # fmt: skip
    host = referrers_api_registry.host
    jar = artifacts.build_http_jar(tmp_path, "via the api")
    result = _build(host, jar, "sbom/api:v1", dpkg_base, environment="java-17")
    assert result.referrers_via == "api"
    documents, via = _read_referrers(host, "sbom/api", result)
    assert via == "api"
    assert documents[SBOM_ARTIFACT_TYPE] == [result.sbom_document]
    assert documents[PROVENANCE_ARTIFACT_TYPE] == [result.provenance_document]
    with _client(host) as client:
        # No fallback tag was written: the registry keeps the list itself.
        assert client.head_manifest("sbom/api", fallback_tag(result.digest)) is None
        only_sbom, _ = list_referrers(client, "sbom/api", result.digest, SBOM_ARTIFACT_TYPE)
    assert [item["digest"] for item in only_sbom] == [result.sbom_referrer_digest]


def test_cli_sbom_pushes_both_referrers_and_skopeo_still_reads_the_image(
    registry: Registry, dpkg_base: PackageBase, tmp_path: Path
) -> None:
    jar = artifacts.build_spring_boot_jar(tmp_path, "from the command line")
    target = f"{registry.host}/sbom/cli:v1"
    command = [
        venv_bin("b2i"), "build", str(jar), "--to", target, "--from", dpkg_base.reference,
        "--env", "java-17", "--insecure", "--layer-cache", str(tmp_path / "cache"), "--sbom",
        "--invocation-id", "ci-job-17", "--json",
    ]  # fmt: skip
    environment = {"B2I_ALLOWED_REGISTRY_NETWORKS": "127.0.0.0/8", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["referrers_via"] == "tag"
    statement = printed["provenance_document"]
    assert statement["predicate"]["runDetails"]["builder"]["id"] == "urn:b2i:cli"
    assert statement["predicate"]["runDetails"]["metadata"]["invocationId"] == "ci-job-17"
    with _client(registry.host) as client:
        found, _ = list_referrers(client, "sbom/cli", printed["digest"])
    assert sorted(item["artifactType"] for item in found) == sorted(
        [SBOM_ARTIFACT_TYPE, PROVENANCE_ARTIFACT_TYPE]
    )
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(inspected.stdout)["Digest"] == printed["digest"]
    # The dpkg cache by layer digest was filled beside the layer cache.
    assert len(list((tmp_path / "cache" / "dpkg-by-layer").glob("*.json"))) == 3
