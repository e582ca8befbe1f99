"""Where `default_storage` keeps files: on this machine's disk, or in an object store (S3)."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import default_storage


def local_storage_path(name: str) -> Path | None:
    """The local path of `name` in default storage, or None when the storage has no disk (S3)."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # S3 and friends keep no file on this machine
        return None


def storage_is_local() -> bool:
    return local_storage_path("") is not None
