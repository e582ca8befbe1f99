"""The upload part of the reliability suite (benchmarks/reliability.py): a resumable 500 MB
artifact upload in 8 MiB chunks (as the page sends them) with the console's web server
SIGKILLed mid-chunk and started again on the same port, as a process supervisor would.

The client does what the page does: on a failed chunk it asks the server for the offset
(GET uploads/<id>/) and goes on from there. Goal: only the chunk in flight is sent again
(the server kept every chunk it acknowledged, and nothing of the broken one), and the
completed artifact's sha256 is the file's.

    .venv/bin/python benchmarks/reliability_upload.py [--trials 3] [--megabytes 500]

It runs on the web part's seeded PostgreSQL database (B2I_BENCH_DATABASE_URL, see
reliability_web.py). The correctness part is a test (tests/builders/test_upload_interrupted.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.reliability_rows import record  # noqa: E402
from benchmarks.reliability_web import (  # noqa: E402
    BENCH_ENV,
    PROJECT,
    Row,
    print_table,
    seeded_token,
    wait_for_healthz,
)
from tests.fixtures.processes import free_port  # noqa: E402

UPLOADS = PROJECT + "uploads/"
CHUNK_BYTES = 8 * 1024 * 1024  # static/js/api.js CHUNK_BYTES
PIECE = 256 * 1024


class WebServer:
    """`python -m b2i_console.serve` on one port, killed and started again on that port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **BENCH_ENV, "PYTHONPATH": str(REPO)}
        self.env |= {"MEDIA_ROOT": str(workdir / "media"), "TMPDIR": str(workdir)}
        self.log = workdir / "console.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WebServer:
        args = [sys.executable, "-m", "b2i_console.serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_healthz(self.url, self.process)
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@dataclass
class Trial:
    sent: int = 0  # bytes of every PATCH body the client sent (or began to send)
    in_flight: int = 0  # the size of the chunk the kill broke
    resumed_at: int = -1  # the offset the server answered after its restart
    offset_before: int = -1  # the offset the broken chunk was sent at
    sha256_matches: bool = False
    seconds: float = 0.0


def chunk_body(
    file: Path, offset: int, length: int, trial: Trial, kill: WebServer | None
) -> Iterator[bytes]:
    """The chunk's bytes in pieces; with KILL, the server is SIGKILLed halfway through."""
    with file.open("rb") as source:
        source.seek(offset)
        done = 0
        while done < length:
            piece = source.read(min(PIECE, length - done))
            if kill is not None and done >= length // 2:
                kill.kill()
                kill = None
            trial.sent += len(piece)
            done += len(piece)
            yield piece


def upload_with_a_kill(server: WebServer, token: str, file: Path, kill_at_chunk: int) -> Trial:
    trial = Trial()
    size = file.stat().st_size
    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        session = client.post(UPLOADS, json={"file_name": file.name, "size": size}).json()
        upload = f"{UPLOADS}{session['id']}/"
        offset, number, killed = 0, 0, False
        while offset < size:
            length = min(CHUNK_BYTES, size - offset)
            kill = server if number == kill_at_chunk and not killed else None
            try:
                answer = client.patch(
                    upload,
                    content=chunk_body(file, offset, length, trial, kill),
                    headers=chunk_headers(offset, length),
                )
                answer.raise_for_status()
                offset = int(answer.json()["offset"])
            except httpx.TransportError:
                killed, trial.in_flight, trial.offset_before = True, length, offset
                server.start()  # the supervisor's restart
                offset = int(client.get(upload).json()["offset"])
                trial.resumed_at = offset
            number += 1
        done = client.post(f"{upload}complete/", json={"kind": "binary"})
        done.raise_for_status()
    trial.seconds = time.monotonic() - started
    trial.sha256_matches = done.json()["sha256"] == sha256_of(file)
    return trial


def chunk_headers(offset: int, length: int) -> dict[str, str]:
    return {
        "Upload-Offset": str(offset),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(length),
    }


def sha256_of(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resumable_upload_killed(trials: int, megabytes: int) -> Row:
    token = seeded_token()
    results: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="b2i-reliability-upload-") as tmp:
        workdir = Path(tmp)
        file = workdir / "big.bin"
        with file.open("wb") as out:
            # An executable (the artifact is inspected) padded with fresh random bytes, so no
            # earlier upload of the same content is deduplicated by sha256.
            out.write(Path("/bin/busybox").read_bytes())
            while out.tell() < megabytes * (1 << 20):
                out.write(os.urandom(min(1 << 20, megabytes * (1 << 20) - out.tell())))
        chunks = -(-file.stat().st_size // CHUNK_BYTES)
        server = WebServer(workdir).start()
        try:
            for _ in range(trials):
                results.append(upload_with_a_kill(server, token, file, kill_at_chunk=chunks // 2))
        finally:
            server.stop()
    size = megabytes * (1 << 20)
    # Resumed where the broken chunk began (every acknowledged chunk kept, nothing of the broken
    # one), and what was sent twice is no more than that chunk.
    exact = [
        t for t in results if t.resumed_at == t.offset_before and 0 < t.sent - size <= t.in_flight
    ]
    resent = ", ".join(f"{(t.sent - size) / 2**20:.1f}" for t in results)
    matched = sum(1 for t in results if t.sha256_matches)
    figure = (
        f"{len(exact)}/{trials} resumed at the broken chunk's offset; re-sent {resent} MiB "
        f"(chunk {CHUNK_BYTES >> 20} MiB, killed halfway); sha256 matched {matched}/{trials}"
    )
    return Row(
        f"resumable {megabytes} MB upload, web server SIGKILLed mid-chunk",
        trials,
        figure,
        "only the chunk in flight re-sent, sha256 equal",
        len(exact) == trials and matched == trials,
    )


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    options.add_argument("--trials", type=int, default=3)
    options.add_argument("--megabytes", type=int, default=500)
    args = options.parse_args(argv)
    rows = [resumable_upload_killed(args.trials, args.megabytes)]
    print_table(rows)
    record(rows)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
