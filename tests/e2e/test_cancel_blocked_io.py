"""A cancel ends a build within seconds whatever it waits for: a registry that accepts and
never answers, a base trickling in, a retry's backoff; its connections are closed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from b2i.engine import BuildCancelled, BuildRequest, RegistryAccess, build_image
from b2i.oci.cancel import CancelToken
from b2i.oci.events import Event
from b2i.oci.registry import RegistryClient
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.hung_server import HungServer, StallingServer, TrickleServer, running
from tests.fixtures.registry import Registry

LOOPBACK = ("127.0.0.0/8",)


def request(artifact: Path, target_host: str, base: str, **options: object) -> BuildRequest:
    hosts = {target_host, base.split("/")[0]}
    return BuildRequest(
        artifact=artifact,
        target=f"{target_host}/cancel/app:v1",
        base_image=base,
        registries={host: RegistryAccess(scheme="http") for host in hosts},
        allowed_networks=LOOPBACK,
        **options,  # type: ignore[arg-type]
    )


def cancel_when(
    ready: Callable[[], bool], build: BuildRequest, events: list[Event]
) -> tuple[float, BaseException | None]:
    """Run BUILD in a thread, cancel once READY, return (seconds to end, what it raised)."""
    cancel = build.cancel
    assert cancel is not None
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            build_image(build, events.append)
            outcome.append(None)
        except BaseException as exc:  # the test reports what came out
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready(), f"the build never got there: {[e.message or e.step for e in events]}"
    asked = time.monotonic()
    cancel.set()
    thread.join(timeout=30)
    took = time.monotonic() - asked
    assert not thread.is_alive()
    return took, outcome[0]


def assert_cancelled_and_released(took: float, raised: object, server: StallingServer) -> None:
    assert isinstance(raised, BuildCancelled), raised
    assert took < 5, f"the cancel took {took:.1f} s"
    assert server.connections.wait_all_closed(timeout=5), server.connections.open


def test_cancel_interrupts_a_push_to_a_registry_that_never_answers(
    busybox_base: BaseImage, registry: Registry, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "hung push")
    base = f"{registry.host}/{busybox_base.repository}:{busybox_base.tag}"
    with running(HungServer()) as hung:
        build = request(binary, hung.host, base, cancel=CancelToken())
        events: list[Event] = []
        took, raised = cancel_when(lambda: hung.connections.accepted > 0, build, events)
        assert_cancelled_and_released(took, raised, hung)


def test_cancel_interrupts_a_base_pull_that_trickles(
    busybox_base: BaseImage, registry: Registry, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "slow base")
    # 200 bytes/s: the base's manifest alone takes seconds; its layer would take hours.
    with running(TrickleServer(registry.port, 200)) as slow:
        base = f"{slow.host}/{busybox_base.repository}:{busybox_base.tag}"
        build = request(binary, registry.host, base, cancel=CancelToken())
        events: list[Event] = []
        took, raised = cancel_when(lambda: slow.connections.accepted > 0, build, events)
        assert_cancelled_and_released(took, raised, slow)


def test_cancel_ends_a_retry_wait_at_once(
    busybox_base: BaseImage, registry: Registry, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "backoff")
    # Every request answers 503 with Retry-After: 30 - the build sits in a 10 s backoff wait.
    plan = FaultPlan(share=1.0, kinds=("503",), max_in_a_row=10**6, retry_after="30")
    with FaultyProxy(registry.url, plan) as proxy:
        base = f"{registry.host}/{busybox_base.repository}:{busybox_base.tag}"
        build = request(binary, proxy.host, base, cancel=CancelToken())
        events: list[Event] = []
        # Concurrent HEADs keep their retry events until they end: watch the proxy instead.
        took, raised = cancel_when(lambda: len(proxy.faults) >= 2, build, events)
    assert isinstance(raised, BuildCancelled), raised
    assert took < 2, f"the cancel took {took:.1f} s"


def test_a_polled_cancel_request_also_interrupts_a_hung_registry(
    busybox_base: BaseImage, registry: Registry, tmp_path: Path
) -> None:
    # The console's executor only offers `cancel_requested` (a callable polled by the engine).
    binary = artifacts.build_static_binary(tmp_path, "polled")
    base = f"{registry.host}/{busybox_base.repository}:{busybox_base.tag}"
    asked = threading.Event()
    with running(HungServer()) as hung:
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                build_image(request(binary, hung.host, base), cancel_requested=asked.is_set)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        assert wait_for(lambda: hung.connections.accepted > 0)
        started = time.monotonic()
        asked.set()
        thread.join(timeout=30)
        assert time.monotonic() - started < 5
        assert isinstance(outcome[0], BuildCancelled), outcome
        assert hung.connections.wait_all_closed(timeout=5)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_the_token_cuts_a_trickling_answer_short(registry: Registry) -> None:
    # Directly on the client: a GET whose answer trickles is cut short by the token.
    token = CancelToken()
    with running(TrickleServer(registry.port, 20)) as slow:
        client = RegistryClient(slow.host, scheme="http", allowed_networks=LOOPBACK, cancel=token)
        threading.Timer(0.5, token.set).start()
        started = time.monotonic()
        with client, pytest.raises(BuildCancelled):
            client.get_manifest("nothing/here", "v1")
        assert time.monotonic() - started < 3
        assert slow.connections.wait_all_closed(timeout=5)


class CancelledDuringConnect(CancelToken):
    """A cancel that lands after a connection is established and before it is registered: the
    window a loaded CI machine hit (the build then hung on the registry's silence)."""

    def track(self, sock: socket.socket | None) -> None:
        self.set()
        super().track(sock)


def test_a_connection_opened_as_the_cancel_comes_is_cut_too() -> None:
    token = CancelledDuringConnect()
    outcome: list[BaseException] = []
    with running(HungServer()) as hung:
        client = RegistryClient(hung.host, scheme="http", allowed_networks=LOOPBACK, cancel=token)

        def get() -> None:
            try:
                with client:
                    client.get_manifest("nothing/here", "v1")
            except BaseException as exc:  # the test reports what came out
                outcome.append(exc)

        thread = threading.Thread(target=get, daemon=True)
        started = time.monotonic()
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the request waited on the silent registry"
        assert time.monotonic() - started < 5
        assert isinstance(outcome[0], BuildCancelled), outcome
        assert hung.connections.wait_all_closed(timeout=5)


def test_clean_up_connections_opened_after_a_cancel_are_left_alone() -> None:
    token = CancelToken()
    token.set()
    with running(HungServer()) as hung:
        address = ("127.0.0.1", hung.port)
        with socket.create_connection(address) as work, socket.create_connection(address) as tidy:
            token.track(work)
            with token.cleaning_up():
                token.track(tidy)
            work.settimeout(5)
            assert work.recv(1) == b""  # shut down at once, not after the 5 s timeout
            tidy.sendall(b"DELETE")
            tidy.settimeout(0.3)
            with pytest.raises(TimeoutError):
                tidy.recv(1)  # still open: it waits for the registry's answer
