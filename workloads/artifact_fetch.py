"""Download a build artifact from a signed URL and verify its sha256 (the build Job's first step).

Usage: python -m workloads.artifact_fetch URL SHA256 DEST. Stdlib only (no Django): it runs in
the build pod. KubeSphere's downloader ignored HTTP status and checksums, so a truncated
artifact could be built and pushed; here any mismatch exits non-zero with one clear line.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

CHUNK = 1024 * 1024


class FetchError(Exception):
    """The artifact could not be fetched or did not match its checksum."""


def fetch_artifact(url: str, expected_sha256: str, dest: Path, timeout: float = 60.0) -> int:
    """Stream `url` to `dest`, verify its sha256 and return the size; raise `FetchError`."""
    if not url.startswith(("http://", "https://")):
        raise FetchError("artifact URL must be http(s)")
    partial = dest.with_name(dest.name + ".partial")
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:  # noqa: S310 (scheme checked above)
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as error:
        raise FetchError(f"artifact download refused: HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise FetchError(f"artifact download failed: {error}") from error
    if digest.hexdigest() != expected_sha256.lower():
        partial.unlink(missing_ok=True)
        raise FetchError(
            f"artifact checksum mismatch: expected sha256 {expected_sha256}, "
            f"got {digest.hexdigest()} ({size} bytes)"
        )
    os.replace(partial, dest)
    return size


def main(argv: list[str] | None = None) -> int:
    """Run the command line; print one line and return the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m workloads.artifact_fetch URL SHA256 DEST", file=sys.stderr)
        return 2
    try:
        size = fetch_artifact(args[0], args[1], Path(args[2]))
    except FetchError as error:
        print(f"Fetch failed: {error}", file=sys.stderr)
        return 1
    print(f"Fetched artifact: {size} bytes, sha256 verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
