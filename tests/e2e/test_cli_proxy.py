"""`b2i build` behind an outbound proxy (tests/fixtures/forward_proxy.py): --proxy / --no-proxy
and the standard variables route a real build through it, loopback bypasses it by default,
blocked hosts never reach it, and proxy failures are one clear line without credentials."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from b2i.cli import main
from b2i.oci.registry import RegistryClient
from tests.e2e.test_cli import CLI_ENV
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.processes import free_port, venv_bin
from tests.fixtures.registry import Registry

SECRET = "proxy-pass"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(credentials=("alice", SECRET)) as server:
        yield server


def run_b2i(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_bin("b2i"), *args],
        capture_output=True,
        text=True,
        env={**CLI_ENV, **(env or {})},
        timeout=120,
    )


def build_args(tmp_path: Path, registry: Registry, base: BaseImage, name: str) -> list[str]:
    binary = artifacts.build_static_binary(tmp_path, name, name="server")
    target = f"{registry.host}/cli-proxy/{name}:v1"
    return ["build", str(binary), "--to", target, "--insecure", "--from", base.tagged]


def test_a_build_with_proxy_flags_goes_through_the_proxy_and_never_shows_its_password(
    registry: Registry, busybox_base: BaseImage, proxy: ForwardProxy, tmp_path: Path
) -> None:
    args = build_args(tmp_path, registry, busybox_base, "flags")
    done = run_b2i(*args, "--proxy", proxy.url, "--no-proxy", "")
    assert done.returncode == 0, done.stderr
    relayed = proxy.relayed_to(registry.host)
    assert ("PUT", f"http://{registry.host}/v2/cli-proxy/flags/manifests/v1") in relayed
    assert any("/v2/base/busybox/" in target for _, target in relayed)  # the base, too
    assert f"{registry.host} via the proxy http://***@{proxy.address}" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_standard_variables_leave_loopback_direct_unless_b2i_no_proxy_says_otherwise(
    registry: Registry, busybox_base: BaseImage, proxy: ForwardProxy, tmp_path: Path
) -> None:
    standard = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "NO_PROXY": "example.com"}
    direct = run_b2i(*build_args(tmp_path, registry, busybox_base, "env-direct"), env=standard)
    assert direct.returncode == 0, direct.stderr
    assert proxy.log.connections == 0
    everything = {**standard, "B2I_NO_PROXY": ""}
    proxied = run_b2i(*build_args(tmp_path, registry, busybox_base, "env-proxied"), env=everything)
    assert proxied.returncode == 0, proxied.stderr
    assert proxy.relayed_to("/v2/cli-proxy/env-proxied/manifests/v1")


def test_a_proxy_refusing_the_credentials_is_one_clear_line(
    registry: Registry, busybox_base: BaseImage, proxy: ForwardProxy, tmp_path: Path
) -> None:
    wrong = proxy.url.replace(SECRET, "not-the-pass")
    args = build_args(tmp_path, registry, busybox_base, "wrong-pass")
    failed = run_b2i(*args, "--proxy", wrong, "--no-proxy", "")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("b2i: error: registry:proxy-auth-failed: "), failed.stderr
    assert f"the proxy http://***@{proxy.address} refused the request (407" in last
    assert "not-the-pass" not in failed.stderr and "Traceback" not in failed.stderr


def test_a_dead_proxy_is_one_clear_line(
    registry: Registry,
    busybox_base: BaseImage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In process, with short retry waits: a dead proxy is retried like a dead registry.
    quick = functools.partial(RegistryClient, retry_base_delay=0.01)
    monkeypatch.setattr("b2i.engine.RegistryClient", quick)
    dead = f"http://alice:{SECRET}@127.0.0.1:{free_port()}"
    args = build_args(tmp_path, registry, busybox_base, "dead-proxy")
    status = main([*args, "--proxy", dead, "--no-proxy", ""])
    err = capsys.readouterr().err
    assert status == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("b2i: error: registry:proxy-unreachable: "), err
    assert "cannot connect to the proxy http://***@127.0.0.1:" in last
    assert SECRET not in err


@pytest.mark.parametrize("where", ["target", "base"])
def test_a_metadata_registry_is_refused_without_asking_the_proxy(
    where: str,
    registry: Registry,
    proxy: ForwardProxy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "metadata")
    target = "169.254.169.254/x/y:v1" if where == "target" else f"{registry.host}/x/y:v1"
    base = "169.254.169.254/base/busybox:1" if where == "base" else "unused/base:1"
    args = ["build", str(binary), "--to", target, "--from", base, "--insecure"]
    status = main([*args, "--proxy", proxy.url, "--no-proxy", ""])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 1
    assert last.startswith("b2i: error: registry:blocked-address: 169.254.169.254"), last
    assert proxy.log.connections == 0


def test_a_bad_proxy_url_is_refused_before_any_work(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "bad-proxy")
    args = ["build", str(binary), "--to", f"{registry.host}/x/y:v1", "--insecure"]
    status = main([*args, "--proxy", "socks5://alice:pw@proxy.example:1080"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err == [
        "b2i: error: registry:proxy-invalid: the registry proxy: only http:// and https:// "
        "proxies are supported, not socks5://"
    ]
