"""Measure the peak RSS of `b2i build` for 1 GiB artifacts (issue 5 target: < 150 MiB).

    .venv/bin/python benchmarks/memory.py [--size-mib 1024]

Starts its own docker-registry on a free loopback port, pushes a busybox base, then builds with
a fresh layer cache each: a 1 GiB static binary (one layer), and a 1 GiB executable JAR whose
bulk is one stored resource, packaged and exploded (`--split-layers`). The peak is the b2i
process's VmHWM, sampled until it exits, so it covers the whole process: inspection, layer
writing (tar + gzip + digests), the upload, and Python itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_artifacts import compile_engine  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.registry import start_registry  # noqa: E402

MiB = 1024 * 1024
TARGET_MIB = 150
B2I = str(REPO / ".venv" / "bin" / "b2i")


def fresh_bytes(size: int, write: Callable[[bytes], object]) -> None:
    """Write SIZE fresh pseudo-random bytes (4 MiB of urandom, varied per block) with WRITE."""
    block = bytearray(os.urandom(4 * MiB))
    written = 0
    while written < size:
        block[:8] = written.to_bytes(8, "little")  # every block differs: nothing dedupes
        piece = bytes(block[: min(len(block), size - written)])
        write(piece)
        written += len(piece)


def big_binary(workdir: Path, size: int) -> Path:
    """Return a static C server padded with fresh bytes to SIZE."""
    binary = artifacts.build_static_binary(workdir, "memory", name="big-binary")
    with binary.open("ab") as out:
        fresh_bytes(size - binary.stat().st_size, out.write)
    return binary


def big_jar(workdir: Path, size: int) -> Path:
    """Return an executable JAR whose bulk is one stored resource of about SIZE bytes."""
    jar = artifacts.build_http_jar(workdir, "memory", name="big.jar")
    with zipfile.ZipFile(jar, "a") as archive:
        info = zipfile.ZipInfo("data/blob.bin", artifacts.ZIP_TIME)
        info.compress_type = zipfile.ZIP_STORED
        with archive.open(info, "w", force_zip64=True) as member:
            fresh_bytes(size, member.write)
    return jar


def high_water_mark(pid: int) -> int:
    """Return VmHWM (peak RSS of the process's current memory image) in bytes, 0 once gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def peak_rss(command: list[str]) -> tuple[int, float]:
    """Run COMMAND; return its peak RSS in bytes and its wall time (raise when it fails)."""
    # Not wait4()'s ru_maxrss: Linux carries the forking parent's peak over exec into it.
    # VmHWM belongs to the exec'd image alone and only grows, so sampling it until the
    # process ends gives its peak.
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, high_water_mark(process.pid))
        time.sleep(0.02)
    took = time.monotonic() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"b2i failed:\n{stderr}")
    return peak, took


def main(argv: list[str] | None = None) -> int:
    """Build the big artifacts and print each build's peak RSS against the target."""
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--size-mib", type=int, default=1024)
    size = options.parse_args(argv).size_mib * MiB
    compile_engine()
    failed = False
    with tempfile.TemporaryDirectory(prefix="b2i-memory-") as directory:
        workdir = Path(directory)
        (workdir / "registry").mkdir()
        registry = start_registry(workdir / "registry")
        try:
            layer = bases.busybox_layer(workdir)
            base = bases.push_base_image(
                workdir, registry, "base/busybox", "1", layer, bases.BUSYBOX_SETTINGS
            ).tagged
            cases = [("binary", big_binary(workdir, size), []),
                     ("JAR, packaged", big_jar(workdir, size), []),
                     ("JAR, exploded", workdir / "big.jar", ["--split-layers"])]  # fmt: skip
            print("| artifact | size | peak RSS | wall time |\n| --- | ---: | ---: | ---: |")
            for index, (name, artifact, extra) in enumerate(cases):
                command = [B2I, "build", str(artifact), "--from", base, "--insecure",
                           "--to", f"{registry.host}/memory/case:{index}",
                           "--layer-cache", str(workdir / f"cache-{index}"), *extra]  # fmt: skip
                peak, took = peak_rss(command)
                failed |= peak >= TARGET_MIB * MiB
                print(f"| {name} | {artifact.stat().st_size / MiB:.0f} MiB "
                      f"| {peak / MiB:.1f} MiB | {took:.1f} s |", flush=True)  # fmt: skip
        finally:
            registry.process.stop()
    print(f"\ntarget: < {TARGET_MIB} MiB peak RSS: {'NOT met' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
