"""A chunked upload whose connection really drops mid-chunk resumes (real server, real socket)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from builders.models import Artifact
from projects.authentication import create_api_token
from tests.builders.conftest import World
from tests.fixtures.console_process import ConsoleProcess

pytestmark = pytest.mark.django_db(transaction=True)

UPLOADS = "/api/v1/workspaces/acme/projects/shop/uploads/"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def console(media_root: Path, tmp_path: Path) -> Iterator[str]:
    """The console's web server on a free port, on the test database and this MEDIA_ROOT."""
    yield from run_console(tmp_path, {"MEDIA_ROOT": str(media_root)})


@pytest.fixture
def console_on_s3(s3_bucket: Any, tmp_path: Path) -> Iterator[str]:
    """The console with S3 storage, its MEDIA_ROOT private to it (no shared volume)."""
    s3 = {
        "B2I_S3_BUCKET": "artifacts",
        "B2I_S3_ENDPOINT_URL": s3_bucket.meta.endpoint_url,
        "B2I_S3_REGION": "us-east-1",
        "B2I_S3_ACCESS_KEY": "testing",
        "B2I_S3_SECRET_KEY": "testing",
    }
    yield from run_console(tmp_path, {"MEDIA_ROOT": str(tmp_path / "console-media"), **s3})


def run_console(tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    console = ConsoleProcess(tmp_path, env).start(timeout=30)
    yield console.url
    console.stop()


def drop_mid_chunk(url: str, token: str, path: str, offset: int, chunk: bytes) -> None:
    """Send a PATCH announcing the whole chunk, write a third of it, then vanish."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {len(chunk)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + chunk[: len(chunk) // 3])


@pytest.mark.parametrize("server", ["console", "console_on_s3"])
def test_connection_dropped_mid_chunk_then_upload_resumes(
    world: World, server: str, busybox: Path, request: pytest.FixtureRequest
) -> None:
    console = request.getfixturevalue(server)
    _, token = create_api_token(world.users["olga"], "uploader")
    api = httpx.Client(base_url=console, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    data = busybox.read_bytes()
    chunk = 256 * 1024
    started = api.post(
        UPLOADS,
        json={
            "file_name": "busybox",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    assert started.status_code == 201, started.text
    path = f"{UPLOADS}{started.json()['id']}/"

    def send(offset: int) -> httpx.Response:
        return api.patch(
            path,
            content=data[offset : offset + chunk],
            headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
        )

    assert send(0).json()["offset"] == chunk
    drop_mid_chunk(console, token, path, chunk, data[chunk : 2 * chunk])

    offset = api.get(path).json()["offset"]
    assert offset == chunk, "half a chunk must never count as received"
    if server == "console_on_s3":  # the received chunk waits in the bucket, not on the pod
        staged = request.getfixturevalue("s3_bucket").list_objects_v2(
            Bucket="artifacts", Prefix="staging/"
        )
        assert [item["Key"] for item in staged["Contents"]] == [
            f"staging/{started.json()['id']}/{0:020d}"
        ]
    while offset < len(data):
        offset = send(offset).json()["offset"]
    done = api.post(path + "complete/", json={"kind": "binary"})
    assert done.status_code == 201, done.text
    assert (
        Artifact.objects.get(public_id=done.json()["id"]).sha256 == hashlib.sha256(data).hexdigest()
    )


def test_web_server_killed_mid_chunk_then_upload_resumes_after_its_restart(
    world: World, busybox: Path, media_root: Path, tmp_path: Path
) -> None:
    """The server, not the client, dies mid-chunk (SIGKILL) and is started again on its port,
    as a process supervisor would: the acknowledged chunk is kept, nothing of the broken one."""
    console = ConsoleProcess(tmp_path, {"MEDIA_ROOT": str(media_root)}).start(timeout=30)
    try:
        _, token = create_api_token(world.users["olga"], "uploader")
        headers = {"Authorization": f"Bearer {token}"}
        api = httpx.Client(base_url=console.url, headers=headers, timeout=30)
        data = busybox.read_bytes()
        chunk = 256 * 1024
        started = api.post(UPLOADS, json={"file_name": "busybox", "size": len(data)})
        path = f"{UPLOADS}{started.json()['id']}/"

        def send(offset: int) -> int:
            answer = api.patch(
                path,
                content=data[offset : offset + chunk],
                headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
            )
            return int(answer.json()["offset"])

        assert send(0) == chunk
        host, port = console.url.removeprefix("http://").split(":")
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/octet-stream\r\nUpload-Offset: {chunk}\r\n"
            f"Content-Length: {chunk}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head + data[chunk : chunk + chunk // 2])
            console.process.kill()  # mid-chunk: half of it sent, the rest never comes
        console.start(timeout=60)  # the same port: the client finds it again

        offset = api.get(path).json()["offset"]
        assert offset == chunk, "half a chunk must never count as received"
        while offset < len(data):
            offset = send(offset)
        done = api.post(path + "complete/", json={"kind": "binary"})
        assert done.status_code == 201, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    finally:
        console.stop()
