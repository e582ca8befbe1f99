"""Upload a new layer while it is still being written, so the push does not wait for it.

A layer that the local layer cache has never seen is most likely new to the registry too. Its
gzip file is then streamed to the target in one chunked PATCH as the compressor writes it
(`started` / `grew`), instead of after the whole build step. When the layer is finished its
digest is known (`finished`) and the registry is asked whether it already has the blob:

- it has: the upload is stopped and cancelled. Only the bytes sent while compressing were
  spent (a registry that got the layer from another machine, or a cold cache);
- it has not: the rest of the file is sent and the upload committed under the digest (the
  registry checks it);
- anything goes wrong: the outcome is "failed" and the push uploads the file as usual.

The writer never waits for the network: the file on disk is the buffer, read by our own
thread at its own pace. Events of the client (retries) are the caller's to collect: this runs
in threads, and event sinks may write to a database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from b2i.oci.registry import RegistryClient

Outcome = Literal["pending", "uploaded", "present", "failed"]
_PIECE = 1024 * 1024


class EarlyUpload:
    """One layer streamed to TARGET/REPOSITORY while it is written (a layer watcher)."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self.digest = ""
        self.size = 0
        self.bytes_sent = 0
        self.outcome: Outcome = "pending"
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._available = 0
        self._final = False
        self._stopped = False
        self._file: BinaryIO | None = None
        self._thread: threading.Thread | None = None

    # -- called by the layer writer ------------------------------------------------------

    def started(self, path: Path) -> None:
        """The layer's file was created at PATH: start streaming it."""
        self._file = path.open("rb")  # kept open: the writer renames the file when done
        self._thread = threading.Thread(target=self._run, name="early-upload", daemon=True)
        self._thread.start()

    def grew(self, size: int) -> None:
        """The file now holds SIZE bytes, flushed to the OS."""
        with self._changed:
            self._available = size
            self._changed.notify_all()

    def finished(self, digest: str, size: int) -> None:
        """The layer is complete: send the rest, unless the registry already has it."""
        present = False
        try:
            present = self.client.blob_exists(self.repository, digest) is not None
        except Exception:  # unknown: keep uploading, the registry dedupes
            present = False
        with self._changed:
            self.digest, self.size, self._available, self._final = digest, size, size, True
            self._stopped = self._stopped or present
            if present:
                self.outcome = "present"
            self._changed.notify_all()

    def abandon(self) -> None:
        """Stop sending (the build failed or was cancelled) and wait for the thread."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self.wait()

    # -- called by the push ----------------------------------------------------------------

    def wait(self) -> Outcome:
        """Wait for the upload to end; return its outcome."""
        if self._thread is not None:
            self._thread.join()
        return self.outcome

    # -- the uploading thread ------------------------------------------------------------

    def _run(self) -> None:
        location = ""
        try:
            location = self.client.start_upload(self.repository)
            location = self.client.stream_to_upload(self.repository, location, self._pieces())
            if self._stopped or not self._final:
                self.client.cancel_upload(self.repository, location)
                self.outcome = "present" if self.outcome == "present" else "failed"
                return
            self.client.commit_upload(self.repository, location, self.digest)
            self.outcome = "uploaded"
        except Exception as error:  # the push falls back to a whole upload
            self.error, self.outcome = error, "failed"
            if location:
                self.client.cancel_upload(self.repository, location)
        finally:
            if self._file is not None:
                self._file.close()

    def _pieces(self) -> Iterator[bytes]:
        assert self._file is not None
        while True:
            with self._changed:
                while not self._stopped and self._available <= self.bytes_sent:
                    if self._final:
                        return
                    self._changed.wait()
                if self._stopped:
                    return
                end = self._available
            while self.bytes_sent < end:
                piece = self._file.read(min(_PIECE, end - self.bytes_sent))
                if not piece:
                    raise OSError("the layer file ended before the size its writer reported")
                self.bytes_sent += len(piece)
                yield piece
