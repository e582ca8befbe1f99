"""The console's outbound proxy: B2I_REGISTRY_PROXY / B2I_NO_PROXY settings, else the worker's
standard variables; a registry secret's Validate and the worker's builds use it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from b2i.oci.errors import InvalidProxyError
from b2i.packaging.environments import ENVIRONMENTS_BY_NAME
from builders.artifacts.fetch import download
from builders.build_jobs import BuildJob, RegistryTarget
from builders.engine_adapter import build_request
from builders.proxy_settings import registry_proxy
from builders.runner import describe_error
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.projects.conftest import World
from tests.projects.test_validate_registry_secret import create_secret, validated

SECRET = "proxy-pass"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(credentials=("alice", SECRET)) as server:
        yield server


@pytest.fixture(autouse=True)
def no_standard_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_validate_goes_through_the_configured_proxy(
    world: World, registry: Registry, proxy: ForwardProxy
) -> None:
    create_secret(world, "open", registry.url)
    with override_settings(B2I_REGISTRY_PROXY=proxy.url, B2I_NO_PROXY=""):
        report = validated(world, "open")
    assert (report["login_ok"], report["push_ok"]) == (True, True)
    assert proxy.relayed_to(f"http://{registry.host}/v2/")


def test_validate_through_a_dead_proxy_reports_its_code_without_credentials(
    world: World, registry: Registry
) -> None:
    create_secret(world, "open", registry.url)
    dead = f"http://alice:{SECRET}@127.0.0.1:{free_port()}"
    with override_settings(B2I_REGISTRY_PROXY=dead, B2I_NO_PROXY=""):
        report = validated(world, "open")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:proxy-unreachable"
    assert "http://***@127.0.0.1:" in report["login_message"]
    assert SECRET not in str(report)


def test_artifact_url_downloads_go_through_the_proxy(
    registry: Registry, proxy: ForwardProxy, tmp_path: Path
) -> None:
    url = f"{registry.url}/v2/"
    with override_settings(B2I_REGISTRY_PROXY=proxy.url, B2I_NO_PROXY=""):
        sha256, size = download(url, tmp_path / "artifact", max_bytes=1024)
    body = (tmp_path / "artifact").read_bytes()
    assert size == len(body) and sha256.endswith(hashlib.sha256(body).hexdigest())
    assert proxy.relayed_to(url) == [("GET", url)]


def test_the_worker_honours_the_standard_variables_when_no_setting_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    monkeypatch.setenv("NO_PROXY", ".corp.example")
    with override_settings(B2I_REGISTRY_PROXY="", B2I_NO_PROXY=None):
        config = registry_proxy()
    assert (
        str(config.proxy_for("https", "registry-1.docker.io")) == "http://proxy.corp.example:3128"
    )
    assert config.proxy_for("https", "harbor.corp.example") is None
    assert config.proxy_for("https", "127.0.0.1", 5000) is None  # loopback by default
    with override_settings(B2I_REGISTRY_PROXY="off", B2I_NO_PROXY=None):
        assert not registry_proxy().enabled


@pytest.mark.django_db  # build_request reads the admin's registry mirror setting
def test_builds_get_the_proxy_and_a_bad_one_fails_with_a_clear_code(proxy: ForwardProxy) -> None:
    target = RegistryTarget("127.0.0.1:5000", "http", "", "", verify=True, ca_bundle=None)
    job = BuildJob(
        run_id=1, artifact_path=Path("app.jar"), artifact_file_name="app.jar",
        artifact_sha256="sha256:" + "0" * 64, artifact_kind="jar",
        environment=ENVIRONMENTS_BY_NAME["java-17"].as_dict(), environment_parameters={},
        image_reference="127.0.0.1:5000/shop/app:1", registry=target, allowed_networks=(),
    )  # fmt: skip
    with override_settings(B2I_REGISTRY_PROXY=proxy.url, B2I_NO_PROXY=""):
        request = build_request(job)
    assert request.proxy is not None
    assert str(request.proxy.proxy_for("http", "127.0.0.1", 5000)) == f"http://***@{proxy.address}"
    with (
        override_settings(B2I_REGISTRY_PROXY=f"ftp://alice:{SECRET}@proxy.corp.example"),
        pytest.raises(InvalidProxyError) as caught,
    ):
        build_request(job)
    code, message = describe_error(caught.value)
    assert code == "registry:proxy-invalid"
    assert SECRET not in message
