"""Remove the temporary directories of builds that were killed (SIGKILL, OOM, a lost machine).

A build writes its layers under `b2i-build-<pid>-*` (b2i.engine) and the run's artifact copy
under `b2i-run-<pid>-*` (builders.runner), in the temp directory. A process that dies never
removes them: ten killed builds left 1.1 GB behind. The pid in the name tells whose they are:

- the process is gone: nobody can be using it, it goes at once;
- the process lives: a running build holds it; it goes only when older than the longest a
  build may take (the hard time limit), in case the pid was reused;
- no pid (a name from before this rule): it goes when older than the longest build.

Run at worker start (a `worker_ready` handler, connected in builders.apps) and hourly by beat.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

BUILD_TEMP = re.compile(r"^b2i-(?:build|run)-(?:(?P<pid>\d+)-)?")


def temp_prefix(kind: str) -> str:
    """Return the prefix of this process's temp directories of KIND ("build" or "run")."""
    return f"b2i-{kind}-{os.getpid()}-"


def process_alive(pid: int) -> bool:
    """Tell whether process PID exists (on this machine, in this PID namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def is_debris(path: Path, now: float, longest_build: float) -> bool:
    """Tell whether PATH is a build temp directory no live build can still be using."""
    match = BUILD_TEMP.match(path.name)
    if match is None or not path.is_dir() or path.is_symlink():
        return False
    pid = match.group("pid")
    if pid is not None and not process_alive(int(pid)):
        return True
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return False  # its build just finished and removed it
    return age > longest_build


def sweep_build_temp_dirs(root: Path | None = None, longest_build: float | None = None) -> int:
    """Remove the debris build directories under ROOT (the temp directory); return how many."""
    root = Path(root or tempfile.gettempdir())
    longest = longest_build if longest_build is not None else settings.B2I_BUILD_HARD_TIME_LIMIT
    now = time.time()
    removed = 0
    for path in root.glob("b2i-*-*"):
        if is_debris(path, now, longest):
            shutil.rmtree(path, ignore_errors=True)
            removed += not path.exists()
    if removed:
        logger.info("removed %s temp directories of killed builds from %s", removed, root)
    return removed


def sweep_at_worker_start(**_: Any) -> None:
    """Celery `worker_ready` handler: what the previous worker's killed builds left behind."""
    try:
        sweep_build_temp_dirs()
    except OSError:
        logger.warning("could not sweep the build temp directories", exc_info=True)
