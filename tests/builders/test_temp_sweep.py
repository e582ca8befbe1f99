"""Temp directories of killed builds are removed at worker start and by the hourly sweep;
those of live builds stay."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from builders import services
from builders.models import BuildRun, BuildState
from builders.tasks import sweep_build_temp_dirs_task
from builders.temp_sweep import sweep_build_temp_dirs
from tests.builders import test_pipeline_e2e
from tests.builders.conftest import World
from tests.builders.test_pipeline_e2e import big_binary_builder, wait_for_log
from tests.fixtures.celery_worker import CeleryWorker

HOUR = 3600
slow_world = test_pipeline_e2e.slow_world  # the fixture: builds pushing at ~2 MB/s


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def make_dir(root: Path, name: str, age: float = 0) -> Path:
    path = root / name
    (path / "layers").mkdir(parents=True)
    (path / "layers" / "blob").write_bytes(b"x" * 1000)
    if age:
        when = time.time() - age
        os.utime(path, (when, when))
    return path


def test_the_sweep_removes_what_dead_or_long_gone_builds_left_and_keeps_live_ones(
    tmp_path: Path,
) -> None:
    dead = dead_pid()
    killed_build = make_dir(tmp_path, f"b2i-build-{dead}-abc")
    killed_run = make_dir(tmp_path, f"b2i-run-{dead}-def")
    live = make_dir(tmp_path, f"b2i-build-{os.getpid()}-ghi")
    live_but_ancient = make_dir(tmp_path, f"b2i-run-{os.getpid()}-jkl", age=3 * HOUR)
    legacy_old = make_dir(tmp_path, "b2i-build-q1w2e3", age=3 * HOUR)
    legacy_recent = make_dir(tmp_path, "b2i-run-r4t5y6")
    unrelated = make_dir(tmp_path, f"other-{dead}-x", age=3 * HOUR)
    assert sweep_build_temp_dirs(tmp_path, longest_build=HOUR) == 4
    gone = [killed_build, killed_run, live_but_ancient, legacy_old]
    assert not any(path.exists() for path in gone)
    assert live.exists() and legacy_recent.exists() and unrelated.exists()


@pytest.mark.django_db
def test_the_hourly_task_sweeps_the_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    killed = make_dir(tmp_path, f"b2i-run-{dead_pid()}-zzz")
    assert sweep_build_temp_dirs_task() == 1
    assert not killed.exists()


def build_dirs_of(pids: set[int]) -> set[Path]:
    root = Path("/tmp")
    return {
        path
        for pid in pids
        for kind in ("build", "run")
        for path in root.glob(f"b2i-{kind}-{pid}-*")
    }


def worker_pids(worker: CeleryWorker) -> set[int]:
    assert worker.service and worker.service.process
    main = worker.service.process.pid
    children = subprocess.run(
        ["pgrep", "-P", str(main)], capture_output=True, text=True, check=False
    ).stdout.split()
    return {main, *map(int, children)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_world")
def test_a_restarted_worker_removes_the_directories_of_the_build_it_was_killed_in(
    pipeline: World, celery_worker: CeleryWorker, tmp_path: Path
) -> None:
    doomed = services.do_start_run(big_binary_builder(pipeline, tmp_path, "doomed", megabytes=24))
    wait_for_log(doomed, "==> push", celery_worker)
    pids = worker_pids(celery_worker)
    left = build_dirs_of(pids)
    assert {p.name.split("-")[1] for p in left} == {"build", "run"}, left
    celery_worker.kill()
    assert all(path.exists() for path in left)  # a killed process cleans nothing up
    celery_worker.start()  # returns once the worker answers pings: it is ready
    deadline = time.monotonic() + 10
    while any(path.exists() for path in left) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(path.exists() for path in left)
    # Failing the run is the reaper's part (test_pipeline_e2e); ended here for the next tests.
    BuildRun.objects.filter(pk=doomed.pk).update(state=BuildState.FAILED)
