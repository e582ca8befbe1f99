"""What the SBOM and provenance cost a warm build: the same builds with and without them.

Warm, as the console's worker builds: one long-lived process (imports paid once), the layer
cache and the dpkg cache (by base layer digest) filled by a first build that is not counted.
Each counted build gets a fresh artifact (no layer of it can be cached):
- fat: a ~60 MB shaded JAR (the classes of real jars under /usr/share/java, relocated under a
  per-run prefix, with their META-INF/maven/**/pom.properties kept, as the shade plugin does);
- boot: a Spring Boot JAR with the same real jars in BOOT-INF/lib (stored, each re-commented
  per run: every nested jar is hashed again).
The base is busybox plus a real dpkg status of 150 packages (this host's own records), about
what a JRE base image holds. Builds with and without `supply_chain` alternate, so load
changes hit both alike. Printed: medians of the wall time, the difference, the `sbom` step
(the part that runs after the push: documents finished, two referrers pushed), and the
process CPU seconds of a build (threads included; less sensitive to a loaded machine), and
the SBOM's own CPU: the thread CPU time spent in its steps (reading the components, the nested
jars' hashes, the base's packages, making both documents, uploading and pushing the
referrers), which does not depend on telling two noisy medians apart.
`--layout packaged` (the default, BuildRequest's) puts the JAR in as one file; `--layout console`
builds as the console does (`exploded=None`: a fat JAR split in two, a Spring Boot JAR
exploded, so its nested jars are layer members whose digests the SBOM shares).

    .venv/bin/python benchmarks/sbom_cost.py [--runs 7] [--cases fat,boot] [--layout console]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import b2i.engine_supply as supply  # noqa: E402
from b2i.engine import (  # noqa: E402
    BuildRequest,
    BuildResult,
    RegistryAccess,
    SupplyChainOptions,
    build_image,
)
from benchmarks import bench_artifacts as make  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.registry import Registry, start_registry  # noqa: E402
from tests.fixtures.sbom_bases import HOST_OS_RELEASE, installed_stanzas, push_layers, tar_layer  # noqa: E402

MiB = 1024 * 1024
CASES = ("fat", "boot")
TITLES = {"fat": "fresh ~60 MB shaded fat JAR", "boot": "fresh Spring Boot JAR (~60 MB of libs)"}


def add_poms(jar: Path, sources: list[Path]) -> Path:
    """Add the pom.properties of SOURCES to JAR (the shade plugin keeps META-INF/maven/**)."""
    with zipfile.ZipFile(jar, "a") as archive:
        present = set(archive.namelist())
        for source in sources:
            with zipfile.ZipFile(source) as library:
                for name in library.namelist():
                    if name.endswith("pom.properties") and name not in present:
                        archive.writestr(name, library.read(name))
                        present.add(name)
    return jar


SBOM_STEPS = (
    "components_of_archive", "with_hashes", "os_packages", "sbom_json", "provenance_statement",
    "upload_document_blobs", "push_referrers",
)  # fmt: skip


class SbomCpu:
    """The thread CPU seconds spent in the SBOM's steps (b2i.engine_supply's calls), summed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        for name in SBOM_STEPS:
            setattr(supply, name, self._timed(getattr(supply, name)))

    def _timed(self, step: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return step(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.thread_time() - started

        return timed

    def take(self) -> float:
        with self._lock:
            seconds, self.seconds = self.seconds, 0.0
        return seconds


SBOM_CPU = SbomCpu()
LAYOUTS: dict[str, bool | None] = {"packaged": False, "console": None}  # BuildRequest.exploded


def build(
    registry: Registry, base: str, artifact: Path, cache: Path, sbom: bool, exploded: bool | None
) -> BuildResult:
    options = SupplyChainOptions(builder_id="urn:b2i:benchmark", invocation_id="bench")
    request = BuildRequest(
        artifact=artifact, target=f"{registry.host}/bench/sbom:{'on' if sbom else 'off'}",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=("127.0.0.0/8",), base_image=base, environment="java-17",
        layer_cache=cache, supply_chain=options if sbom else None, exploded=exploded,
    )  # fmt: skip
    return build_image(request)


def measure(
    registry: Registry,
    base: str,
    cache: Path,
    runs: int,
    fresh: Callable[[int], Path],
    exploded: bool | None,
) -> dict[str, list[float]]:
    """Time RUNS builds each way (alternating, after one uncounted warm-up of each)."""
    times: dict[str, list[float]] = {"off": [], "on": [], "step": [], "components": []}
    times |= {"cpu-off": [], "cpu-on": [], "own": []}
    for index in range(-1, runs):
        for sbom in (False, True) if index % 2 else (True, False):
            artifact = fresh(index * 2 + sbom)
            started, cpu, _ = time.perf_counter(), time.process_time(), SBOM_CPU.take()
            result = build(registry, base, artifact, cache, sbom, exploded)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            artifact.unlink()
            if index < 0:
                continue
            times["on" if sbom else "off"].append(took)
            times["cpu-on" if sbom else "cpu-off"].append(cpu)
            if sbom:
                times["step"].append(result.step_timings.get("sbom", 0.0))
                times["own"].append(SBOM_CPU.take())
                components = (result.sbom_document or {}).get("components") or []
                times["components"].append(float(len(components)))
    return times


def row(case: str, times: dict[str, list[float]]) -> str:
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    step = statistics.median(times["step"])
    cpu_off, cpu_on = statistics.median(times["cpu-off"]), statistics.median(times["cpu-on"])
    delta, cpu = on - off, cpu_on - cpu_off
    own = statistics.median(times["own"])
    return (
        f"| {TITLES[case]} | {int(statistics.median(times['components']))} | {off:.2f} s "
        f"| {on:.2f} s | {delta * 1000:+.0f} ms ({delta / off * 100:+.1f} %) "
        f"| {step * 1000:.0f} ms ({step / off * 100:.1f} %) "
        f"| {cpu_off:.2f} s / {cpu_on:.2f} s ({cpu / cpu_off * 100:+.1f} %) "
        f"| {own * 1000:.0f} ms ({own / cpu_off * 100:.1f} %) |"
    )


def nonce(index: int) -> str:
    return f"{index}x{time.time_ns()}"


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=7)
    options.add_argument("--cases", default=",".join(CASES))
    options.add_argument("--layout", choices=sorted(LAYOUTS), default="packaged")
    args = options.parse_args(argv)
    make.ensure_real_jars(80 * MiB)
    jars = list(dict.fromkeys([artifacts.COMMONS_LANG.resolve(), *make.jars_totalling(60 * MiB)]))
    load = os.getloadavg()[0]
    lines = []
    with tempfile.TemporaryDirectory(prefix="b2i-sbom-bench-") as directory:
        workdir = Path(directory)
        (workdir / "registry").mkdir()
        registry = start_registry(workdir / "registry")
        try:
            stanzas = installed_stanzas(150)
            packages = tar_layer(workdir, "dpkg", {
                "etc/os-release": HOST_OS_RELEASE.read_bytes(),
                "var/lib/dpkg/status": ("\n\n".join(stanzas) + "\n").encode(),
            })  # fmt: skip
            busybox = bases.busybox_layer(workdir)
            push_layers(workdir, registry, "base/dpkg", "1", [busybox, packages])
            base = f"{registry.host}/base/dpkg:1"
            cache = workdir / "cache"
            makers: dict[str, Callable[[int], Path]] = {
                "fat": lambda i: add_poms(
                    make.build_fat_jar(workdir, f"{i}x{time.time_ns()}", jars), jars
                ),
                "boot": lambda i: make.build_boot_jar(
                    workdir, f"boot {i}", jars, f"{i}x{time.time_ns()}"
                ),
            }
            for case in [c for c in args.cases.split(",") if c]:
                times = measure(
                    registry, base, cache, args.runs, makers[case], LAYOUTS[args.layout]
                )
                lines.append(row(case, times))
        finally:
            registry.process.stop()
    print(
        f"\n{os.cpu_count()} cores, load average {load:.1f} at start; "
        f"{args.runs} runs each way, medians; layout {args.layout}.\n"
    )
    print(
        "| case | components | warm build | with SBOM + provenance | difference | sbom step "
        "| CPU without / with | SBOM's own CPU |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
