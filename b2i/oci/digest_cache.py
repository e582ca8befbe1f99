"""Manifests and configs by digest, kept on disk: a base image is not fetched again per build.

What a digest names never changes, so a base's platform manifest (asked for by digest) and
its config blob can be served from disk: every build of a builder re-resolved them, one round
trip each (two for Docker Hub's config, redirected to its CDN). The tag itself is always
asked (tags move); only what it points to is kept.

Safe by construction: an entry is served only when its bytes still hash to the digest asked
for (a damaged or edited file is dropped and fetched again), files are written whole and
renamed into place (concurrent builds, several workers), the least recently used go beyond
`max_files`, and any disk failure just means a fetch: a cache never fails a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

DEFAULT_MAX_FILES = 2048
# Room kept on each eviction, so a full cache is not trimmed on every single write.
_EVICT_SLACK = 0.1


class DigestCache:
    """Small immutable objects (manifests, configs) by sha256 digest, with their media type."""

    def __init__(self, root: Path, max_files: int = DEFAULT_MAX_FILES) -> None:
        self.root = root
        self.max_files = max_files

    def get(self, digest: str) -> tuple[str, bytes] | None:
        """Return (media type, bytes) stored for DIGEST, or None (also for a damaged entry)."""
        path = self._path(digest)
        if path is None:
            return None
        try:
            stored = path.read_bytes()
        except OSError:
            return None
        media_type, newline, content = stored.partition(b"\n")
        if not newline or _sha256(content) != digest:
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to be evicted
        return media_type.decode("utf-8", "replace"), content

    def put(self, digest: str, media_type: str, content: bytes) -> None:
        """Keep CONTENT under DIGEST (ignored when it does not hash to it or the disk fails)."""
        path = self._path(digest)
        if path is None or "\n" in media_type or _sha256(content) != digest:
            return
        with contextlib.suppress(OSError):
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".put-", dir=self.root)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(media_type.encode() + b"\n" + content)
                os.replace(temporary, path)
            except OSError:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._evict_beyond_bound()

    def _path(self, digest: str) -> Path | None:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64 or not _is_hex(hexdigest):
            return None  # only what we can verify is kept; and no path tricks from a digest
        return self.root / hexdigest

    def _evict_beyond_bound(self) -> None:
        entries = [path for path in self.root.iterdir() if not path.name.startswith(".")]
        if len(entries) <= self.max_files:
            return
        keep = int(self.max_files * (1 - _EVICT_SLACK))
        for path in sorted(entries, key=_used_at)[: len(entries) - keep]:
            path.unlink(missing_ok=True)


def digest_cache_in(layer_cache: Path | None) -> DigestCache | None:
    """Return the digest cache kept beside the layer cache at LAYER_CACHE (None: no cache)."""
    return DigestCache(layer_cache / "by-digest") if layer_cache is not None else None


def _sha256(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdef" for char in text)


def _used_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0  # gone meanwhile: first in line, and unlink tolerates it
