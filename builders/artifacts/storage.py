"""Where `default_storage` keeps files: on this machine's disk, or in an object store (S3)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def local_storage_path(name: str) -> Path | None:
    """The local path of `name` in default storage, or None when the storage has no disk (S3)."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # S3 and friends keep no file on this machine
        return None


def storage_is_local() -> bool:
    return local_storage_path("") is not None


def remove_after_commit(remove: Callable[[], None], what: str) -> None:
    """Run REMOVE once the current transaction commits (a rollback keeps the bytes).

    For the files of a deleted row: after the commit the row is gone whatever happens, so an
    outage must not fail the request that deleted it; it is logged and the hourly sweep
    (builders.artifacts.expiry) removes WHAT later."""

    def quietly() -> None:
        try:
            remove()
        except Exception:
            logger.warning("could not remove %s; the sweep will", what, exc_info=True)

    transaction.on_commit(quietly)
