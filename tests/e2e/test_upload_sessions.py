"""The registry upload sessions of a failed or a cancelled build are cancelled (DELETE): the
bytes sent so far do not stay on the registry's disk until it expires them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from b2i.engine import BuildCancelled, BuildRequest, RegistryAccess, build_image
from b2i.oci.cancel import CancelToken
from b2i.oci.errors import RegistryRequestError
from tests.builders.slow_proxy import slow_proxy
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def open_sessions(registry: Registry, repository: str) -> list[Path]:
    """REPOSITORY's upload sessions holding data (distribution 2.8's storage layout)."""
    uploads = registry.workdir / "data/docker/registry/v2/repositories" / repository / "_uploads"
    return list(uploads.glob("*/data"))


def request(host: str, base: BaseImage, artifact: Path, repository: str, **options: object):
    return BuildRequest(
        artifact=artifact,
        target=f"{host}/{repository}:v1",
        base_image=f"{host}/{base.repository}:{base.tag}",
        registries={host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
        **options,  # type: ignore[arg-type]
    )


def wait_for(condition, timeout: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def test_a_cancelled_upload_has_its_session_deleted(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "cancel upload", padding=8_000_000)
    token = CancelToken()
    outcome: list[BaseException] = []
    # The registry behind a proxy that buffers request bodies (as Harbor's nginx does), reached
    # at 1 MB/s: the big layer's PUT is cancelled while its body is on the way.
    with (
        FaultyProxy(registry.url, FaultPlan()) as buffering,
        slow_proxy(buffering.port, 1_000_000) as proxy,
    ):
        build = request(proxy.host, busybox_base, binary, "sessions/cancelled", cancel=token)

        def run() -> None:
            try:
                build_image(build)
            except BaseException as exc:  # the test asserts what came out
                outcome.append(exc)

        def big_put_under_way() -> bool:
            return any(m == "PUT" and "uploads/" in p for m, p in buffering.requests[-1:])

        thread = threading.Thread(target=run)
        thread.start()
        assert wait_for(big_put_under_way)
        assert open_sessions(registry, "sessions/cancelled")
        token.set()
        thread.join(timeout=10)
        assert wait_for(lambda: not open_sessions(registry, "sessions/cancelled"), timeout=5)
    assert isinstance(outcome[0], BuildCancelled), outcome
    assert [m for m, _ in buffering.requests].count("DELETE") >= 1


def test_a_failed_push_has_its_session_deleted(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "failed upload", padding=2_000_000)
    # Every PUT (the blob's bytes and commit) fails; no retry budget: the push fails at once.
    plan = FaultPlan(share=1.0, kinds=("500",), max_in_a_row=10**6, only_methods=("PUT",))
    with FaultyProxy(registry.url, plan) as proxy, pytest.raises(RegistryRequestError):
        build_image(request(proxy.host, busybox_base, binary, "sessions/failed", retry_budget=0))
    assert any(method == "POST" for method, _ in proxy.requests)  # a session was opened
    assert any(method == "DELETE" for method, _ in proxy.requests)
    assert not open_sessions(registry, "sessions/failed")
