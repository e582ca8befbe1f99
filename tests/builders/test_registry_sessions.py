"""The upload sessions of a build cancelled mid-push, on Debian's docker-registry (issue 20.6:
each killed run left a 63-145 MB session behind until the registry's weekly purge).

The engine sends a DELETE for every session it opened and did not complete. Whether that frees
it is the registry's call: registry 2.8 answers BLOB_UPLOAD_INVALID to the DELETE of a session
that received part of a body (its stored size no longer matches the Location's signed state),
and nothing can cancel such a session afterwards - not its uploader, not a later sweep with
the same Location. A cancel interrupts the body in flight (b2i/oci/cancel.py), so a session cut
mid-body stays, as does one of a SIGKILLed build; the registry's upload purging removes them
(README, Operations). Behind a proxy that buffers request bodies (nginx, as in Harbor) the
registry never sees a partial body and the DELETE frees the session.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from builders import services
from builders.models import BuildState
from tests.builders.conftest import World
from tests.builders.test_pipeline_e2e import (  # noqa: F401  (slow_world: a fixture)
    big_binary_builder,
    slow_world,
    wait_for_log,
    wait_for_run,
)
from tests.fixtures.celery_worker import CeleryWorker
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)


def uploads_dir(registry: Registry, repository: str) -> Path:
    return registry.workdir / "data/docker/registry/v2/repositories" / repository / "_uploads"


def open_sessions(registry: Registry, repository: str) -> list[str]:
    uploads = uploads_dir(registry, repository)
    return sorted(path.name for path in uploads.iterdir()) if uploads.exists() else []


def requests_to(registry: Registry, repository: str) -> str:
    """The registry's access-log lines of REPOSITORY (what a failure shows)."""
    log = (registry.workdir / "registry.log").read_text(errors="replace")
    return "\n".join(
        line for line in log.splitlines() if f"/{repository}/" in line and '"' in line[:40]
    )


@pytest.mark.usefixtures("slow_world")  # pushes at ~2 MB/s: the cancel lands mid-push
def test_every_session_a_cancelled_build_leaves_was_asked_to_go(
    pipeline: World,
    celery_worker: CeleryWorker,
    registry: Registry,
    tmp_path: Path,
) -> None:
    builder = big_binary_builder(pipeline, tmp_path, "sessions", megabytes=12)
    run = services.do_start_run(builder)
    wait_for_log(run, "==> push", celery_worker)
    services.do_request_cancel(run)
    run = wait_for_run(run, ("cancelled", "successful", "failed"), celery_worker, timeout=60)
    assert run.state == BuildState.CANCELLED
    log = (registry.workdir / "registry.log").read_text(errors="replace")
    deleted = set(re.findall(r"method=DELETE .*?vars\.uuid=([0-9a-f-]+)", log))
    # A session on disk is one the engine asked the registry to drop (and it refused).
    left = open_sessions(registry, builder.image_name)
    assert set(left) <= deleted, requests_to(registry, "sessions")
    refused = re.findall(r"upload resumed at wrong offest: (\d+) != 0", log)
    assert len(refused) >= len(left)


def test_a_session_cut_mid_body_refuses_its_delete(registry: Registry) -> None:
    """What a SIGKILLed build leaves: the registry itself refuses to cancel it."""
    client = httpx.Client(base_url=registry.url)
    location = httpx.URL(registry.url).join(
        client.post("/v2/sessions/cut/blobs/uploads/").headers["Location"]
    )
    head = (
        f"PATCH {location.raw_path.decode()} HTTP/1.1\r\nHost: {registry.host}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 4000000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", registry.port)) as sock:
        sock.sendall(head + b"x" * 1_000_000)  # ...and the sender dies
    # Once the registry has stored part of the body (as it had when a build was killed)...
    data = uploads_dir(registry, "sessions/cut") / location.path.rsplit("/", 1)[-1] / "data"
    deadline = time.monotonic() + 30
    while not (data.exists() and data.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data.exists() and data.stat().st_size > 0
    # ...no one can cancel the session any more.
    refused = client.delete(str(location))
    assert refused.status_code == 404 and "BLOB_UPLOAD_INVALID" in refused.text
    assert len(open_sessions(registry, "sessions/cut")) == 1
