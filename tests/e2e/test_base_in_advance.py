"""A base known before the inspection (--from, a named environment) is resolved while the
artifact is inspected; the live log keeps its step order and a failed inspection leaves no
worker behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from b2i.engine import BuildRequest, RegistryAccess, build_image, known_base_reference
from b2i.oci.events import Event
from b2i.oci.references import parse_reference
from b2i.packaging.environments import get_environment, rewrite_docker_hub_reference
from b2i.packaging.errors import ArtifactError
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def request_via(
    proxy: FaultyProxy, base: BaseImage, artifact: Path, repository: str
) -> BuildRequest:
    return BuildRequest(
        artifact=artifact,
        target=f"{proxy.host}/{repository}:v1",
        base_image=f"{proxy.host}/{base.repository}:{base.tag}",
        registries={proxy.host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
    )


def test_the_base_is_fetched_during_the_inspection_and_its_retry_shows_in_its_own_step(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "in advance", name="server")
    # The first GET (the base manifest) fails once: its retry event must not land in "inspect".
    with FaultyProxy(registry.url, FaultPlan(script=["503"], only_methods=("GET",))) as proxy:
        events: list[Event] = []
        requested_during_inspection = False

        def sink(event: Event) -> None:
            nonlocal requested_during_inspection
            events.append(event)
            if event.kind == "step-started" and event.step == "inspect":
                # Hold the inspection until the registry is asked for the base (5 s at most).
                deadline = time.monotonic() + 5
                while not proxy.requests and time.monotonic() < deadline:
                    time.sleep(0.01)
                requested_during_inspection = bool(proxy.requests)

        result = build_image(request_via(proxy, busybox_base, binary, "e2e/advance"), sink)
    assert requested_during_inspection
    assert result.layers_pushed == 1
    steps = [(e.kind, e.step) for e in events if e.kind in ("step-started", "step-finished")]
    order = ["inspect", "resolve-base", "write-layers", "compose", "push"]
    assert steps == [(kind, step) for step in order for kind in ("step-started", "step-finished")]
    marks = [(e.kind, e.step) for e in events]
    started = marks.index(("step-started", "resolve-base"))
    finished = marks.index(("step-finished", "resolve-base"))
    retries = [i for i, (kind, _) in enumerate(marks) if kind == "retry"]
    assert retries and all(started < i < finished for i in retries)


def test_a_failed_inspection_stops_the_base_worker_and_reports_the_artifact_error(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    text = artifacts.write_text_file(tmp_path)
    # The registry keeps failing: left alone, the worker would retry for 1 + 3 + 9 seconds.
    with FaultyProxy(registry.url, FaultPlan(script=["503"] * 20)) as proxy:
        events: list[Event] = []
        started = time.monotonic()
        with pytest.raises(ArtifactError):
            build_image(request_via(proxy, busybox_base, text, "e2e/advance-bad"), events.append)
        took = time.monotonic() - started
        assert proxy.requests  # the base was being resolved
    assert took < 3, took
    assert not any(t.name.startswith("b2i-resolve") for t in threading.enumerate())
    assert not any(e.step == "resolve-base" for e in events)
    assert not any(e.kind == "retry" for e in events)


def test_the_base_is_known_in_advance_only_from_the_request() -> None:
    def known(**options: object) -> str | None:
        request = BuildRequest(artifact=Path("app.jar"), target="r.example/a:1", **options)  # type: ignore[arg-type]
        reference = known_base_reference(request)
        return None if reference is None else str(reference)

    java17 = get_environment("java-17")
    assert known(base_image="r.example/base/jre:17") == "r.example/base/jre:17"
    assert known(environment="java-17") == str(parse_reference(java17.base_image))
    assert known(environment=java17, mirror="mirror.example") == str(
        parse_reference(rewrite_docker_hub_reference(java17.base_image, "mirror.example"))
    )
    # The inspection decides, or the error belongs after the inspection.
    assert known() is None
    assert known(base_image="") is None
    assert known(environment="no-such-environment") is None
    assert known(base_image="Not A Reference!") is None
