"""Files in storage that belong to a row go when the row goes, and orphans are swept.

Two kinds of rows name files in the default storage: `Artifact.storage_key` (an uploaded
artifact, `artifacts/<project>/<sha256>/<name>`) and `BuildRun.log_archive_key` (an archived
build log, `build-logs/<project>/<run>.jsonl.gz`). Deleting such a row - one by one or in a
cascade, e.g. a whole project - removes its file once the deletion commits (a rollback keeps
both). Before, the files stayed in storage for ever, unreachable.

A file no row names also appears when a process dies between saving it and committing its
row, or when storage could not be reached at deletion time; the hourly sweep
(`sweep_unowned_files`, run by builders.artifacts.expiry) removes those once they are older than
the grace period, so a row still being committed never loses its file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.files.storage import default_storage
from django.db import models

from builders.artifacts.staging import StagedFile, stored_object
from builders.artifacts.storage import remove_after_commit
from builders.models import Artifact, BuildRun


@dataclass(frozen=True)
class OwnedFiles:
    """Where one kind of row keeps its files, and the field naming each row's file."""

    prefix: str
    model: type[models.Model]
    field: str


OWNED = (
    OwnedFiles("artifacts", Artifact, "storage_key"),
    OwnedFiles("build-logs", BuildRun, "log_archive_key"),
)


def artifact_deleted(sender: type, instance: Artifact, **kwargs: object) -> None:
    """post_delete of an Artifact: its stored file goes once the deletion commits."""
    delete_after_commit(instance.storage_key)


def run_deleted(sender: type, instance: BuildRun, **kwargs: object) -> None:
    """post_delete of a BuildRun: its archived log (if any) goes once the deletion commits."""
    delete_after_commit(instance.log_archive_key)


def delete_after_commit(key: str) -> None:
    if key:
        what = f"{key} from storage after its row was deleted"
        remove_after_commit(lambda: default_storage.delete(key), what)


def sweep_unowned_files(cutoff: datetime) -> list[StagedFile]:
    """Remove stored files no row names and last written before CUTOFF; return them."""
    removed: list[StagedFile] = []
    for owned in OWNED:
        keys = list(stored_keys(owned.prefix))
        # Read after listing: a row committed meanwhile is seen, one deleted is swept next time.
        named = named_keys(owned, keys)
        for key in keys:
            if key in named:
                continue
            found = stored_object(key)
            if found is not None and found.modified < cutoff:
                default_storage.delete(key)
                removed.append(found)
    return removed


def named_keys(owned: OwnedFiles, keys: list[str], batch: int = 500) -> set[str]:
    """Return the KEYS some row of OWNED names (asked in batches: SQLite bounds parameters)."""
    named: set[str] = set()
    for start in range(0, len(keys), batch):
        rows = owned.model._default_manager.filter(
            **{f"{owned.field}__in": keys[start : start + batch]}
        )
        named.update(rows.values_list(owned.field, flat=True))
    return named


def stored_keys(prefix: str) -> Iterator[str]:
    """Yield the names of every file under PREFIX in the default storage, depth first."""
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:  # nothing stored there yet
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from stored_keys(f"{prefix}/{folder}")
