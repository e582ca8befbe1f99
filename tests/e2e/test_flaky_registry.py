"""Pushes survive a flaky registry: 20 % of requests answered 503, an outage of seconds; each
request is retried on its own, within a time budget; the digests stay identical."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from b2i.engine import BuildRequest, BuildResult, RegistryAccess, build_image
from b2i.oci.errors import RegistryRequestError
from b2i.oci.events import Event
from b2i.oci.registry import RegistryClient
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def build_via(
    proxy: FaultyProxy, base: BaseImage, artifact: Path, events: list[Event], **options: object
) -> BuildResult:
    request = BuildRequest(
        artifact=artifact,
        target=f"{proxy.host}/flaky/app:v1",
        base_image=f"{proxy.host}/{base.repository}:{base.tag}",
        registries={proxy.host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
        **options,  # type: ignore[arg-type]
    )
    return build_image(request, events.append)


def test_builds_through_20_percent_503s_all_succeed_with_identical_digests(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "flaky", padding=200_000)
    plan = FaultPlan(share=0.2, kinds=("503",), seed=20, max_in_a_row=10**6)
    digests = []
    with FaultyProxy(registry.url, plan) as proxy:
        for _ in range(5):
            digests.append(build_via(proxy, busybox_base, binary, []).digest)
        faults = len(proxy.faults)
        proxy.plan.share = 0  # and once without faults (same address: the base's name is in it)
        clean = build_via(proxy, busybox_base, binary, []).digest
    assert faults >= 3, proxy.faults  # the seed injects faults, the builds saw them
    assert set(digests) == {clean}


def test_a_push_rides_out_a_registry_outage(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "outage")
    # Down for 4 s from the 3rd request (the push's first HEADs): every request meanwhile 503.
    plan = FaultPlan(outage_after=3, outage_seconds=4)
    events: list[Event] = []
    with FaultyProxy(registry.url, plan) as proxy:
        result = build_via(proxy, busybox_base, binary, events)
    assert len(proxy.faults) >= 3
    assert any(e.kind == "retry" for e in events)
    with RegistryClient(registry.host, scheme="http", allowed_networks=LOOPBACK) as direct:
        assert direct.get_manifest("flaky/app", "v1").digest == result.digest


def test_an_outage_longer_than_the_budget_fails_the_push_with_the_registry_answer(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "budget")
    plan = FaultPlan(outage_after=1, outage_seconds=60)
    with FaultyProxy(registry.url, plan) as proxy, pytest.raises(RegistryRequestError) as caught:
        build_via(proxy, busybox_base, binary, [], retry_budget=2)
    assert caught.value.status == 503
    assert len(proxy.requests) < 10  # gave up within its 2 s budget


def test_start_and_commit_of_one_upload_each_have_their_own_retries(registry: Registry) -> None:
    data = hashlib.sha256(b"own retries").digest() * 4000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    # Chunked upload: POST (start) fails twice, PATCH passes, the final PUT fails twice.
    plan = FaultPlan(script=["503", "503", None, None, "503", "503"], retry_after="0")
    events: list[Event] = []
    with (
        FaultyProxy(registry.url, plan) as proxy,
        RegistryClient(
            proxy.host, scheme="http", allowed_networks=LOOPBACK, on_event=events.append,
            retries=2, retry_base_delay=0.001, monolithic_limit=1000, chunk_size=1_000_000,
        ) as client,
    ):  # fmt: skip
        client.upload_blob("flaky/own", digest, len(data), lambda: io.BytesIO(data))
        assert client.blob_exists("flaky/own", digest) == len(data)
    methods = [method for method, _ in proxy.requests]
    assert methods[:6] == ["POST", "POST", "POST", "PATCH", "PUT", "PUT"]
    assert methods.count("POST") == 3  # one upload session, never restarted
    assert len([e for e in events if e.kind == "retry"]) == 4
