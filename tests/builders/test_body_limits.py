"""Request bodies are bounded by route before the console reads them, and a large upload does
not hold up other requests: the real web server process, real sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from projects.authentication import create_api_token
from tests.builders.conftest import World
from tests.fixtures.console_process import ConsoleProcess
from tests.fixtures.uploads_over_sockets import (
    disk_usage,
    healthz_latencies_during,
    multipart_upload,
    read_response_head,
)

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = "/api/v1/workspaces/acme/projects/shop/artifacts/"
REQUEST_LIMIT = 64 * 1024
ARTIFACT_LIMIT = 300 * 1024 * 1024


@pytest.fixture
def server_tmp(tmp_path: Path) -> Path:
    """The server's TMPDIR: where a buffering server (or Django) would spool request bodies."""
    path = tmp_path / "server-tmp"
    path.mkdir()
    return path


@pytest.fixture
def console(media_root: Path, tmp_path: Path, server_tmp: Path) -> Iterator[ConsoleProcess]:
    env = {
        "MEDIA_ROOT": str(media_root),
        "TMPDIR": str(server_tmp),
        "B2I_MAX_REQUEST_BYTES": str(REQUEST_LIMIT),
        "B2I_MAX_ARTIFACT_BYTES": str(ARTIFACT_LIMIT),
        "LOG_LEVEL": "WARNING",
    }
    server = ConsoleProcess(tmp_path, env).start()
    yield server
    server.stop()


def open_request(console: ConsoleProcess, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", console.port), timeout=10)
    sock.sendall(head.encode())
    return sock


@pytest.mark.parametrize(
    ("path", "extra_headers", "code"),
    [
        ("/login/", "", "request:too-large"),
        (ARTIFACTS, "Content-Type: multipart/form-data; boundary=x\r\n", "artifact:too-large"),
    ],
)
def test_a_huge_declared_body_is_refused_at_once_and_never_written(
    console: ConsoleProcess, server_tmp: Path, path: str, extra_headers: str, code: str
) -> None:
    started = time.monotonic()
    sock = open_request(
        console,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}"
        f"Content-Length: {3 * 1024**3}\r\n\r\n",
    )
    with sock:  # the answer comes without a byte of the body sent
        status, body = read_response_head(sock)
        assert reads_to_end(sock), "the server waits for the body it refused"
    assert status == 413
    assert code.encode() in body
    assert time.monotonic() - started < 5
    assert disk_usage(server_tmp) < 1024 * 1024


def test_a_chunked_body_over_the_limit_is_cut_off_and_the_connection_closed(
    console: ConsoleProcess, server_tmp: Path
) -> None:
    sock = open_request(
        console, "POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    sent = 0
    with sock:
        # Keep sending well past the limit: the server must answer and hang up meanwhile.
        try:
            while sent < 256 * 1024 * 1024:
                sock.sendall(chunk)
                sent += 0x4000
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _ = read_response_head(sock)
        assert status == 413
        assert reads_to_end(sock), "the server kept the connection open"
    assert sent < 64 * 1024 * 1024, f"{sent} bytes were accepted after the limit"
    assert disk_usage(server_tmp) < 1024 * 1024


def reads_to_end(sock: socket.socket) -> bool:
    """True when the server closes the connection (EOF or reset) within the socket's timeout."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_healthz_answers_quickly_during_a_200_mb_upload(
    console: ConsoleProcess, world: World, tmp_path: Path
) -> None:
    _, token = create_api_token(world.users["olga"], "uploader")
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        out.write(Path("/bin/busybox").read_bytes())
        out.truncate(200 * 1024 * 1024)
    with multipart_upload(console.port, ARTIFACTS, token, big) as upload:
        latencies = healthz_latencies_during(console.url, upload)
    assert upload.status in (200, 201, 400), upload.response
    assert len(latencies) >= 5, "the upload ended before /healthz could be measured"
    assert max(latencies) < 1.0, f"/healthz took up to {max(latencies):.2f} s during the upload"


def test_small_requests_still_work(console: ConsoleProcess) -> None:
    login = httpx.get(f"{console.url}/login/")
    assert login.status_code == 200
    refused = httpx.post(f"{console.url}/login/", content=b"x" * (REQUEST_LIMIT + 1))
    assert refused.status_code == 413
