"""Old build logs move from the database to compressed files in storage and stay readable."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from builders.models import FINISHED_STATES, BuildLogLine, BuildRun


def archive_key(run: BuildRun) -> str:
    return f"build-logs/{run.builder.project_id}/{run.pk}.jsonl.gz"


def archive_run_log(run: BuildRun) -> bool:
    """Write the run's lines to storage as gzipped JSON lines, then delete them from the DB."""
    lines = BuildLogLine.objects.filter(run=run).order_by("seq")
    payload = "".join(
        json.dumps({"seq": line.seq, "time": line.time.isoformat(), "text": line.text}) + "\n"
        for line in lines.iterator(chunk_size=2000)
    )
    key = default_storage.save(archive_key(run), ContentFile(gzip.compress(payload.encode())))
    with transaction.atomic():
        # Only a finished run is archived; the key is set before lines go, so readers never
        # see an empty log in between.
        updated = BuildRun.objects.filter(
            pk=run.pk, state__in=FINISHED_STATES, log_archive_key=""
        ).update(log_archive_key=key)
        if not updated:
            default_storage.delete(key)
            return False
        BuildLogLine.objects.filter(run=run).delete()
    return True


def archive_old_logs(days: int) -> int:
    """Archive logs of finished runs older than `days`; return how many runs were archived."""
    cutoff = timezone.now() - timedelta(days=days)
    runs = BuildRun.objects.filter(
        state__in=FINISHED_STATES, finished_at__lt=cutoff, log_archive_key=""
    ).select_related("builder")
    return sum(1 for run in runs.iterator() if archive_run_log(run))


def read_archived_lines(run: BuildRun) -> list[BuildLogLine]:
    """Return the archived lines of a run as (unsaved) BuildLogLine objects."""
    with default_storage.open(run.log_archive_key, "rb") as stored:
        text = gzip.decompress(stored.read()).decode()
    return [
        BuildLogLine(
            run=run,
            seq=item["seq"],
            time=datetime.fromisoformat(item["time"]),
            text=item["text"],
        )
        for item in map(json.loads, text.splitlines())
    ]
