"""The `b2i` command: builds are reproducible across processes, re-pushes upload nothing, bad
input and refused credentials fail with one clear line and push nothing."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from b2i.cli import access_resolver, main, parser
from tests.fixtures import artifacts
from tests.fixtures.base_images import BUSYBOX_SETTINGS, BaseImage, LayerFile, push_base_image
from tests.fixtures.processes import venv_bin
from tests.fixtures.registry import Registry

CLI_ENV = {"B2I_ALLOWED_REGISTRY_NETWORKS": "127.0.0.0/8", "PATH": "/usr/bin:/bin"}


def run_b2i(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_bin("b2i"), *args], capture_output=True, text=True, env=CLI_ENV, timeout=120
    )


def repositories(registry: Registry) -> list[str]:
    return httpx.get(f"{registry.url}/v2/_catalog").json()["repositories"] or []


def test_two_cli_builds_in_two_processes_give_one_digest_and_the_second_uploads_nothing(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "same bytes", name="server")
    args = ["build", str(binary), "--to", f"{registry.host}/cli/repro:v1", "--insecure",
            "--from", busybox_base.tagged, "--port", "9000", "--set-env", "MODE=prod"]  # fmt: skip
    first = run_b2i(*args)
    assert first.returncode == 0, first.stderr
    reference = first.stdout.strip().splitlines()[-1]
    assert reference.startswith(f"{registry.host}/cli/repro@sha256:")
    for step in ("inspect", "resolve-base", "write-layers", "compose", "push"):
        assert f"{step} done in" in first.stderr
    second = run_b2i(*args, "--json")
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["reference"] == reference
    assert (result["layers_pushed"], result["bytes_pushed"]) == (0, 0)
    assert result["layers_reused"] == 2
    assert set(result["step_timings"]) == {
        "inspect",
        "resolve-base",
        "write-layers",
        "compose",
        "push",
    }


BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], list[str], str]] = {
    "text file as jar": (artifacts.write_text_file, ["--env", "java-17"], "build:user:"),
    "jar without main class": (
        artifacts.build_jar_without_main_class, [], "build:user:not-executable-jar"
    ),
    "zip bomb": (artifacts.build_zip_bomb, [], "build:user:zip-bomb"),
    "entry named ../x": (artifacts.build_zip_with_entry, [], "build:user:unsafe-path"),
    "truncated jar": (
        lambda d: artifacts.truncated_copy(artifacts.build_http_jar(d), d), [], "build:user:"
    ),
    "non-ELF binary": (artifacts.write_non_elf_file, ["--kind", "binary"], "build:user:"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_with_one_clear_line_and_pushes_nothing(
    case: str, registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, options, code = BAD_INPUTS[case]
    artifact = make(tmp_path)
    repository = "cli/bad-" + case.lower().replace(" ", "-").replace(".", "").replace("/", "")
    status = main(["build", str(artifact), "--to", f"{registry.host}/{repository}:v1",
                   "--insecure", *options])  # fmt: skip
    captured = capsys.readouterr()
    assert status == 1
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith(f"b2i: error: {code}"), captured.err
    assert not any(line.startswith("==> resolve-base") for line in lines)
    assert captured.out == ""
    assert repository not in repositories(registry)


def docker_config(tmp_path: Path, registry: Registry, user: str) -> Path:
    auth = base64.b64encode(f"{user}:{registry.users[user]}".encode()).decode()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    return path


@pytest.fixture
def token_base(
    token_registry: Registry, busybox_layer_file: LayerFile, tmp_path: Path
) -> BaseImage:
    creds = f"pusher:{token_registry.users['pusher']}"
    return push_base_image(
        tmp_path, token_registry, "base/bb", "1", busybox_layer_file, BUSYBOX_SETTINGS,
        creds=creds,
    )  # fmt: skip


def build_as(
    token_registry: Registry, base: BaseImage, tmp_path: Path, user: str, name: str
) -> subprocess.CompletedProcess[str]:
    """Run `b2i build` of a fresh binary to cli/NAME:v1 with USER's docker config credentials."""
    binary = artifacts.build_static_binary(tmp_path, name)
    config = docker_config(tmp_path, token_registry, user)
    target = f"{token_registry.host}/cli/{name}:v1"
    return run_b2i("build", str(binary), "--to", target, "--from", base.tagged,
                   "--insecure", "--docker-config", str(config))  # fmt: skip


def test_pull_only_credentials_on_the_target_fail_clearly(
    token_registry: Registry, token_base: BaseImage, tmp_path: Path
) -> None:
    denied = build_as(token_registry, token_base, tmp_path, "reader", "denied")
    assert denied.returncode == 1
    last = denied.stderr.strip().splitlines()[-1]
    assert last.startswith("b2i: error: registry:"), denied.stderr
    assert "push" in last and "cli/denied" in last
    assert denied.stdout == ""


def test_docker_config_credentials_with_push_rights_succeed(
    token_registry: Registry, token_base: BaseImage, tmp_path: Path
) -> None:
    built = build_as(token_registry, token_base, tmp_path, "pusher", "allowed")
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip().startswith(f"{token_registry.host}/cli/allowed@sha256:")
    assert "mounted from base/bb" in built.stderr


def test_inspect_prints_kind_and_recommended_environment(tmp_path: Path) -> None:
    war = artifacts.build_war(tmp_path, namespace="javax", java_release=11)
    shown = run_b2i("inspect", str(war))
    assert shown.returncode == 0, shown.stderr
    assert "kind:        war" in shown.stdout
    assert "environment: tomcat-9-java-11 (recommended)" in shown.stdout


def test_missing_artifact_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["build", "/nonexistent/app.jar", "--to", "127.0.0.1:1/x/y:v1"])
    assert status == 1
    assert capsys.readouterr().err.strip() == (
        "b2i: error: build:user:no-artifact: /nonexistent/app.jar is not a readable file"
    )


def test_metadata_address_as_target_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "nowhere")
    status = main(["build", str(binary), "--to", "169.254.169.254/x/y:v1", "--insecure"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err == [err[-1]]  # not even the inspect step started
    assert err[-1].startswith("b2i: error: registry:blocked-address: 169.254.169.254")


def test_engine_and_cli_import_without_django() -> None:
    code = (
        "import sys, b2i.engine, b2i.cli, b2i.oci.image, b2i.oci.push\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not leaked, leaked\n"
    )
    result = subprocess.run(
        [venv_bin("python"), "-c", code], capture_output=True, text=True, env=CLI_ENV, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_bug_of_ours_is_still_one_line_with_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated engine bug")

    monkeypatch.setattr("b2i.cli.build_image", broken)
    monkeypatch.delenv("B2I_DEBUG", raising=False)
    binary = artifacts.build_static_binary(tmp_path, "bug")
    status = main(["build", str(binary), "--to", "127.0.0.1:1/x/y:v1", "--insecure"])
    assert status == 3
    assert capsys.readouterr().err.strip() == (
        "b2i: error: build:internal: RuntimeError: simulated engine bug "
        "(set B2I_DEBUG=1 for the traceback)"
    )


def test_insecure_means_plain_http_for_own_registries_but_never_for_docker_hub(
    tmp_path: Path,
) -> None:
    args = parser().parse_args(
        ["build", "app.jar", "--to", "127.0.0.1:5000/a/b:v1", "--insecure",
         "--docker-config", str(tmp_path / "none.json")]
    )  # fmt: skip
    (tmp_path / "none.json").write_text('{"auths": {}}')
    access_for = access_resolver(args)
    assert access_for("127.0.0.1:5000").scheme == "http"
    assert access_for("docker.io").scheme == "https"


def test_env_and_from_together_use_the_envs_conventions_on_the_given_base(
    registry: Registry, jre_base: BaseImage, tmp_path: Path
) -> None:
    jar = artifacts.build_http_jar(tmp_path, "conventions")
    target = f"{registry.host}/cli/both:v1"
    options = ["--env", "java-17", "--from", jre_base.tagged, "--split-layers", "--json"]
    built = run_b2i("build", str(jar), "--to", target, "--insecure", *options)
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)
    assert result["environment"] == "java-17"
    assert result["base_reference"] == jre_base.pinned
    assert result["inspection"]["java_release"] == 17  # read while writing the layers


@pytest.fixture(scope="module")
def tls_busybox_base(
    tls_registry: Registry, busybox_layer_file: LayerFile, tmp_path_factory: pytest.TempPathFactory
) -> BaseImage:
    workdir = tmp_path_factory.mktemp("tls-base")
    return push_base_image(
        workdir, tls_registry, "base/busybox", "1", busybox_layer_file, BUSYBOX_SETTINGS
    )


def tls_build(
    tls_registry: Registry, base: BaseImage, tmp_path: Path, name: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    binary = artifacts.build_static_binary(tmp_path, name, name="server")
    target = f"{tls_registry.host}/cli/{name}:v1"
    return run_b2i("build", str(binary), "--to", target, "--from", base.tagged, *flags)


def test_ca_file_trusts_a_registry_with_its_own_ca(
    tls_registry: Registry, tls_busybox_base: BaseImage, tmp_path: Path
) -> None:
    assert tls_registry.ca_bundle is not None
    built = tls_build(
        tls_registry, tls_busybox_base, tmp_path, "ca", "--ca-file", str(tls_registry.ca_bundle)
    )
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip().startswith(f"{tls_registry.host}/cli/ca@sha256:")
    assert "not checked" not in built.stderr


def test_an_unknown_ca_fails_with_one_clear_line_and_skip_tls_verify_gets_through(
    tls_registry: Registry, tls_busybox_base: BaseImage, tmp_path: Path
) -> None:
    refused = tls_build(tls_registry, tls_busybox_base, tmp_path, "unknown")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("b2i: error: registry:tls:")
    assert "cli/unknown" not in repositories_over_tls(tls_registry)
    unchecked = tls_build(
        tls_registry, tls_busybox_base, tmp_path, "unchecked", "--skip-tls-verify"
    )
    assert unchecked.returncode == 0, unchecked.stderr
    assert "b2i: warning: registry TLS certificates are not checked" in unchecked.stderr


def test_a_ca_file_without_certificates_is_refused_before_any_work(
    tls_registry: Registry, tls_busybox_base: BaseImage, tmp_path: Path
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    built = tls_build(tls_registry, tls_busybox_base, tmp_path, "badca", "--ca-file", str(not_pem))
    assert built.returncode == 1
    assert built.stderr.strip() == (
        f"b2i: error: build:user:bad-ca-file: {not_pem} holds no PEM certificate "
        "(-----BEGIN CERTIFICATE-----)"
    )
    assert "cli/badca" not in repositories_over_tls(tls_registry)


def test_tls_flags_never_apply_to_docker_hub(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (tmp_path / "none.json").write_text('{"auths": {}}')
    args = parser().parse_args(
        ["build", "app.jar", "--to", "127.0.0.1:5000/a/b:v1", "--ca-file", str(ca),
         "--skip-tls-verify", "--docker-config", str(tmp_path / "none.json")]
    )  # fmt: skip
    access_for = access_resolver(args)
    own, hub = access_for("127.0.0.1:5000"), access_for("docker.io")
    assert (own.verify, own.ca_bundle) == (False, ca.read_text())
    assert (hub.scheme, hub.verify, hub.ca_bundle) == ("https", True, None)


def repositories_over_tls(registry: Registry) -> list[str]:
    trust = ssl.create_default_context(cafile=str(registry.ca_bundle))
    answer = httpx.get(f"{registry.url}/v2/_catalog", verify=trust)
    return answer.json()["repositories"] or []


def test_a_build_keeps_its_base_config_beside_the_layer_cache(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "kept base", name="server")
    cache = tmp_path / "cache"
    args = ["build", str(binary), "--to", f"{registry.host}/cli/kept:v1", "--insecure",
            "--from", busybox_base.tagged, "--layer-cache", str(cache)]  # fmt: skip

    assert run_b2i(*args).returncode == 0
    config_digest = json.loads(
        httpx.get(f"{registry.url}/v2/{busybox_base.repository}/manifests/{busybox_base.tag}",
                  headers={"Accept": busybox_base.media_type}).content
    )["config"]["digest"]  # fmt: skip
    kept = (cache / "by-digest" / config_digest.removeprefix("sha256:")).read_bytes()

    assert (
        kept.split(b"\n", 1)[1]
        == httpx.get(f"{registry.url}/v2/{busybox_base.repository}/blobs/{config_digest}").content
    )
    again = run_b2i(*args, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["base_reference"].endswith(busybox_base.digest)


def test_allowed_networks_none_refuses_even_loopback_registries(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    # What a console build Job gets when the console allows no private network.
    binary = artifacts.build_static_binary(tmp_path, "public only", name="server")
    result = subprocess.run(
        [venv_bin("b2i"), "build", str(binary), "--to", f"{registry.host}/cli/none:v1",
         "--from", busybox_base.tagged, "--insecure"],
        capture_output=True, text=True, timeout=120,
        env={**CLI_ENV, "B2I_ALLOWED_REGISTRY_NETWORKS": "none"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "registry:blocked-address" in result.stderr.strip().splitlines()[-1]
    assert "cli/none" not in repositories(registry)
