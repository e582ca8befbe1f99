"""A content-addressed cache of written layers, shared by concurrent builds on one machine.

Keyed by a digest of the layer's inputs (every completed entry's path, kind, mode, size, link
target and content identity, plus the writer's format version), so an unchanged layer is
neither re-tarred nor re-compressed on a rebuild.

Layout under `root`: `entries/<key>/layer.tar.gz` + `meta.json`, published by renaming a
finished temporary directory (atomic: readers see all of an entry or nothing). A hit hard-links
(or copies, across file systems) the blob into the caller's directory, so a concurrent eviction
cannot pull it from under a push. `meta.json`'s mtime is the entry's last use; eviction removes
the least recently used entries until the total fits `max_bytes`, under an exclusive `flock`.
A per-key `flock` makes concurrent builds of the same layer write it once.

Hints: the full key hashes every member's raw bytes, a second read of the artifact that a
fresh layer does not need. Entries with cheap hints (a zip member's CRC32 and sizes) are first
looked up by a hint key: `hints/<hint key>` names the full key of the layer last written for
them. No hint: the layer is new, so it is written at once (under a per-hint `flock`) and keyed
afterwards from the identities its members left while being read. A hint found: the full key
is computed and must match, so a forged CRC32 collision never serves another build's layer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from b2i.oci.layers import (
    GZIP_LEVEL,
    OCI_LAYER_GZIP,
    LayerBlob,
    LayerEntry,
    LayerWatcher,
    complete_entries,
    write_layer,
)

# Bump when the bytes write_layer produces for the same entries change (format, compressor).
FORMAT_VERSION = "b2i-layer-v1"
DEFAULT_MAX_BYTES = 4 * 1024**3
_BLOB = "layer.tar.gz"
_META = "meta.json"
_CHUNK = 1024 * 1024
_STALE_STAGING_SECONDS = 3600


def entry_content_identity(entry: LayerEntry) -> str:
    """Return the entry's content identity, hashing its bytes when none was given."""
    known = entry.content_identity()
    if known or entry.kind != "file":
        return known
    digest = hashlib.sha256()
    with entry.open() as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def layer_key(entries: Iterable[LayerEntry]) -> str:
    """Return the cache key of a layer: a sha256 over its completed, sorted entries."""
    lines = [f"{FORMAT_VERSION}\0gzip-{GZIP_LEVEL}\0"]
    for entry in complete_entries(entries):
        fields = (entry.path, entry.kind, oct(entry.mode), str(entry.size), entry.link_target)
        lines.append("\0".join((*fields, entry_content_identity(entry))) + "\n")
    # One update over the joined lines hashes the same bytes as one update per line, faster.
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def layer_hint(entries: Iterable[LayerEntry]) -> str | None:
    """Return a cheap candidate key from the entries' hints; None when a file entry has none.

    Hints (a zip member's CRC32 and sizes) are read from the central directory, no member
    bytes. CRC32 is no defence against a crafted collision, so a hint only ever names a
    candidate: a hit is served only when the full `layer_key` (over raw member bytes) matches.
    """
    lines = [f"{FORMAT_VERSION}\0gzip-{GZIP_LEVEL}\0hint\0"]
    for entry in complete_entries(entries):
        hint = entry.hint_identity()
        if entry.kind == "file" and not hint:
            return None
        fields = (entry.path, entry.kind, oct(entry.mode), str(entry.size), entry.link_target)
        lines.append("\0".join((*fields, hint)) + "\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


Watch = Callable[[], LayerWatcher | None]


def _no_watcher() -> LayerWatcher | None:
    return None


@dataclass(frozen=True)
class _Writing:
    """How a layer is written when the cache does not have it."""

    out_dir: Path
    media_type: str
    watch: Watch
    checkpoint: Callable[[], None] | None = None

    def write(self, entries: Sequence[LayerEntry]) -> LayerBlob:
        watcher = self.watch()
        return write_layer(
            entries, self.out_dir, media_type=self.media_type, watcher=watcher,
            checkpoint=self.checkpoint,
        )  # fmt: skip


class LayerCache:
    """Written layers by input key, bounded in size with least-recently-used eviction."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        for folder in ("entries", "tmp", "locks", "hints"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def _entry_dir(self, key: str) -> Path:
        return self.root / "entries" / key

    def lookup(
        self, key: str, out_dir: Path, *, media_type: str = OCI_LAYER_GZIP
    ) -> LayerBlob | None:
        """Return the cached layer linked into `out_dir`, or None when it is not cached."""
        folder = self._entry_dir(key)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        try:
            meta = json.loads((folder / _META).read_text())
            target = Path(out_dir) / f"{meta['digest'].removeprefix('sha256:')}.tar.gz"
            _link_or_copy(folder / _BLOB, target)
            os.utime(folder / _META)  # last use, for LRU eviction
        except (OSError, ValueError, KeyError):
            return None  # absent, half-evicted or unreadable: a miss
        if target.stat().st_size != meta["size"]:
            target.unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=True)  # damaged entry: drop it
            return None
        return LayerBlob(target, meta["digest"], meta["diff_id"], meta["size"], media_type)

    def store(self, key: str, blob: LayerBlob) -> None:
        """Publish a written layer under `key` (atomically), then evict down to the bound."""
        if blob.size > self.max_bytes or self._entry_dir(key).exists():
            return
        staging = Path(tempfile.mkdtemp(prefix=f"{key[:12]}-", dir=self.root / "tmp"))
        try:
            _link_or_copy(blob.path, staging / _BLOB)
            meta = {"digest": blob.digest, "diff_id": blob.diff_id, "size": blob.size}
            (staging / _META).write_text(json.dumps(meta))
            os.rename(staging, self._entry_dir(key))
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # lost a publishing race: fine
            return
        self.evict(keep=key)

    def write_layer(
        self,
        entries: Sequence[LayerEntry],
        out_dir: Path,
        *,
        media_type: str = OCI_LAYER_GZIP,
        watch: Watch = _no_watcher,
        checkpoint: Callable[[], None] | None = None,
    ) -> tuple[LayerBlob, bool]:
        """Return the layer for `entries` from the cache or freshly written; and whether it hit.

        `watch()` is called only when the layer is written (not cached): its watcher follows
        the file as it grows (an early upload). `checkpoint` is called while it is written."""
        entries = complete_entries(entries)
        writing = _Writing(Path(out_dir), media_type, watch, checkpoint)
        hint = layer_hint(entries)
        if hint is None:
            return self._write_keyed(layer_key(entries), entries, writing)
        hint_lock = self.root / "locks" / f"hint-{hint}.lock"
        with _flock(hint_lock):
            try:
                return self._write_hinted(hint, entries, writing)
            finally:
                # Dropped while held, so locks do not pile up: a build waiting on the old
                # file re-reads the hint once it holds it, and then finds the layer.
                hint_lock.unlink(missing_ok=True)

    def _write_hinted(
        self, hint: str, entries: Sequence[LayerEntry], writing: _Writing
    ) -> tuple[LayerBlob, bool]:
        candidate = self._hinted_key(hint)
        if candidate is not None:
            # Verified with the full key: a crafted CRC32 collision only costs a rewrite.
            key = layer_key(entries)
            if key != candidate:
                self._remember_hint(hint, key)
            return self._write_keyed(key, entries, writing)
        # A layer never seen: write it first, then key it. Members read while writing leave
        # their raw-bytes identities behind, so the full key needs no second read.
        blob = writing.write(entries)
        key = layer_key(entries)
        with self._key_lock(key):
            self.store(key, blob)
        self._remember_hint(hint, key)
        return blob, False

    def _hinted_key(self, hint: str) -> str | None:
        try:
            key = (self.root / "hints" / hint).read_text().strip()
        except OSError:
            return None
        return key if self._entry_dir(key).exists() else None

    def _remember_hint(self, hint: str, key: str) -> None:
        staging = self.root / "hints" / f".{hint}.{os.getpid()}.{threading.get_ident()}"
        with contextlib.suppress(OSError):
            staging.write_text(key)
            os.replace(staging, self.root / "hints" / hint)

    def _write_keyed(
        self, key: str, entries: Sequence[LayerEntry], writing: _Writing
    ) -> tuple[LayerBlob, bool]:
        blob = self.lookup(key, writing.out_dir, media_type=writing.media_type)
        if blob is not None:
            return blob, True
        with self._key_lock(key):
            # Another build may have written it while we waited for the lock.
            blob = self.lookup(key, writing.out_dir, media_type=writing.media_type)
            if blob is not None:
                return blob, True
            blob = writing.write(entries)
            self.store(key, blob)
        return blob, False

    @contextlib.contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        with _flock(self.root / "locks" / f"{key}.lock"):
            yield

    def total_size(self) -> int:
        """Return the bytes held by cached layers."""
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[float, int, Path]]:
        found = []
        for folder in (self.root / "entries").iterdir():
            with contextlib.suppress(OSError):
                used = (folder / _META).stat().st_mtime
                found.append((used, (folder / _BLOB).stat().st_size, folder))
        return found

    def evict(self, keep: str | None = None) -> int:
        """Remove least recently used layers until the total fits; return the bytes freed."""
        with _flock(self.root / "locks" / "evict.lock"):
            entries = sorted(self._entries(), key=lambda item: item[0])
            total = sum(size for _, size, _ in entries)
            freed = 0
            for _, size, folder in entries:
                if total - freed <= self.max_bytes:
                    break
                if folder.name == keep:
                    continue
                # Rename first so readers never see a half-deleted entry as a hit.
                doomed = self.root / "tmp" / f"evict-{folder.name}-{os.getpid()}"
                with contextlib.suppress(OSError):
                    os.rename(folder, doomed)
                    shutil.rmtree(doomed, ignore_errors=True)
                    freed += size
                    # Safe even if a build holds it: at worst two builds write the layer once
                    # more each, and the second publish loses the rename race.
                    (self.root / "locks" / f"{folder.name}.lock").unlink(missing_ok=True)
            self._remove_stale_staging()
            if freed:
                self._remove_dangling_hints()
            return freed

    def _remove_dangling_hints(self) -> None:
        for hint in (self.root / "hints").iterdir():
            with contextlib.suppress(OSError):
                if not self._entry_dir(hint.read_text().strip()).exists():
                    hint.unlink()

    def _remove_stale_staging(self) -> None:
        # Staging directories of builds that died mid-publish (a live one is seconds old).
        cutoff = time.time() - _STALE_STAGING_SECONDS
        for leftover in (self.root / "tmp").iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _link_or_copy(source: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(source, target)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        shutil.copyfile(source, target)  # another file system, or links not allowed


def write_layers_cached(
    cache: LayerCache | None,
    layers: Sequence[Sequence[LayerEntry]],
    out_dir: Path,
    *,
    media_type: str = OCI_LAYER_GZIP,
    workers: int = 2,
    watches: Sequence[Watch] = (),
    checkpoint: Callable[[], None] | None = None,
) -> list[tuple[LayerBlob, bool]]:
    """Write (or fetch from `cache`) several layers in parallel; return (blob, cache hit) each.

    `watches[i]` makes the watcher of layer i when that layer has to be written; `checkpoint`
    is called while layers are written (what it raises stops them)."""

    def one(index: int) -> tuple[LayerBlob, bool]:
        entries = layers[index]
        watch = watches[index] if index < len(watches) else _no_watcher
        if cache is None:
            writing = _Writing(Path(out_dir), media_type, watch, checkpoint)
            return writing.write(entries), False
        return cache.write_layer(
            entries, Path(out_dir), media_type=media_type, watch=watch, checkpoint=checkpoint
        )

    if workers <= 1 or len(layers) <= 1:
        return [one(index) for index in range(len(layers))]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(len(layers))))
