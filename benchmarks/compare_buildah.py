"""Compare `b2i build` with buildah building a two-line Dockerfile (`FROM base`, `COPY app`).

    .venv/bin/python benchmarks/compare_buildah.py [--runs 5] [--cases tiny,fat,...] [--json F]

Both tools build on the same base image, pushed once to our own docker-registry on a free
loopback port, and push to that registry. buildah (installed from Debian with apt-get when
missing) uses overlay storage with its own --root/--runroot under a temporary directory and
`--isolation chroot`; its base is pulled once before timing (as a `docker build` host keeps
it). One timed buildah build is `buildah from` + `buildah copy` + `buildah commit` + `buildah
push`; one timed b2i build is one `b2i build --split-layers` process (start-up included), with
its own layer cache under the temporary directory. Runs alternate which tool goes first; the
table shows medians. Fresh cases get new artifact bytes in every run, so no cache can help.

Cases: tiny JAR (~4 KB); fresh ~60 MB shaded fat JAR; fresh ~60 MB Spring Boot JAR; rebuild of
a Spring Boot JAR with one class changed (both tools built the original first); 20 MB static
binary (busybox base); unchanged re-push (the last rebuild's artifact again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_artifacts as make  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.registry import Registry, start_registry  # noqa: E402

MiB = 1024 * 1024
CASES = ("tiny", "fat", "boot", "rebuild", "binary", "repush")
TITLES = {
    "tiny": "tiny JAR",
    "fat": "fresh ~60 MB shaded fat JAR",
    "boot": "fresh ~60 MB Spring Boot JAR",
    "rebuild": "rebuild, one class changed",
    "binary": "20 MB static binary",
    "repush": "unchanged re-push",
}
TARGETS = {"tiny": 0.5, "fat": 0.7, "boot": 0.7, "rebuild": 0.15, "binary": 0.7, "repush": None}
B2I = str(REPO / ".venv" / "bin" / "b2i")


def run(command: list[str], **kwargs: object) -> str:
    """Run COMMAND; raise with its output when it fails; return its stdout."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… failed:\n{result.stdout}\n{result.stderr}")
    return str(result.stdout)


def children_cpu() -> float:
    """Return the CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ensure_buildah() -> str:
    """Return buildah's version, installing Debian's buildah with apt-get when it is missing."""
    if shutil.which("buildah") is None:
        print("installing buildah (apt-get)", file=sys.stderr)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "buildah"])
    return run(["buildah", "--version"]).strip()


@dataclass
class Buildah:
    """buildah with its own overlay storage, pushing to the benchmark registry."""

    workdir: Path

    def command(self, *args: str) -> list[str]:
        root, runroot = self.workdir / "root", self.workdir / "runroot"
        storage = ["--root", str(root), "--runroot", str(runroot), "--storage-driver", "overlay"]
        return ["buildah", *storage, *args]

    def pull(self, base: str) -> None:
        """Pull the base into buildah's storage (untimed, as a build host would have it)."""
        run(self.command("pull", "--quiet", "--tls-verify=false", base))

    def build(self, base: str, artifact: Path, dest: str, target: str) -> tuple[float, float]:
        """Time from + copy + commit + push of ARTIFACT at DEST on BASE; return wall/CPU s."""
        started, cpu = time.monotonic(), children_cpu()
        container = run(
            self.command("from", "--quiet", "--isolation", "chroot", "--tls-verify=false", base)
        ).strip()
        run(self.command("copy", "--quiet", container, str(artifact), dest))
        image = f"localhost/bench-{uuid.uuid4().hex[:12]}"
        run(self.command("commit", "--quiet", container, image))
        run(self.command("push", "--quiet", "--tls-verify=false", image, f"docker://{target}"))
        took, cpu = time.monotonic() - started, children_cpu() - cpu
        run(self.command("rm", container))
        run(self.command("rmi", image))
        return took, cpu


@dataclass
class B2i:
    """`b2i build` processes with one layer cache for the whole benchmark."""

    cache: Path

    def build(self, base: str, artifact: Path, target: str) -> tuple[float, float, int]:
        """Time one `b2i build`; return wall and CPU seconds and the layer bytes it uploaded."""
        command = [B2I, "build", str(artifact), "--to", target, "--from", base, "--insecure"]
        command += ["--split-layers", "--layer-cache", str(self.cache), "--json"]
        started, cpu = time.monotonic(), children_cpu()
        output = run(command)
        took, cpu = time.monotonic() - started, children_cpu() - cpu
        return took, cpu, int(json.loads(output)["bytes_pushed"])


@dataclass
class CaseResult:
    """Timings of one case for both tools, and what b2i uploaded."""

    case: str
    repo: str = ""
    artifact_bytes: int = 0
    b2i: list[float] = field(default_factory=list)
    buildah: list[float] = field(default_factory=list)
    b2i_bytes: list[int] = field(default_factory=list)
    b2i_cpu: list[float] = field(default_factory=list)
    buildah_cpu: list[float] = field(default_factory=list)

    def ratio(self) -> float:
        return statistics.median(self.b2i) / statistics.median(self.buildah)

    def as_dict(self) -> dict[str, object]:
        return {
            "case": self.case,
            "artifact_bytes": self.artifact_bytes,
            "b2i_seconds": self.b2i,
            "buildah_seconds": self.buildah,
            "b2i_bytes_pushed": self.b2i_bytes,
            "b2i_cpu_seconds": self.b2i_cpu,
            "buildah_cpu_seconds": self.buildah_cpu,
            "ratio": round(self.ratio(), 3),
        }


@dataclass
class Bench:
    """The registry, both tools, the bases and the artifacts of one benchmark session."""

    workdir: Path
    registry: Registry
    buildah: Buildah
    b2i: B2i
    jre: str
    busybox: str
    jars: list[Path]
    runs: int

    def target(self, tool: str, repo: str, index: int | str, case: str = "") -> str:
        return f"{self.registry.host}/bench/{tool}-{repo}:{case or repo}-{index}"

    def measure(
        self, case: str, artifact_for: Callable[[int], Path], base: str, dest: str, repo: str = ""
    ) -> CaseResult:
        """Build a fresh artifact per run with both tools (alternating who goes first)."""
        result = CaseResult(case, repo=repo or case)
        for index in range(self.runs):
            artifact = artifact_for(index)
            result.artifact_bytes = artifact.stat().st_size
            order = ("b2i", "buildah") if index % 2 == 0 else ("buildah", "b2i")
            for tool in order:
                self.one(result, tool, base, artifact, dest, index)
            print(f"  {case} run {index + 1}: b2i {result.b2i[-1]:.2f} s, "
                  f"buildah {result.buildah[-1]:.2f} s", file=sys.stderr, flush=True)  # fmt: skip
        return result

    def one(
        self, result: CaseResult, tool: str, base: str, artifact: Path, dest: str, index: int
    ) -> None:
        target = self.target(tool, result.repo, index, result.case)
        if tool == "b2i":
            seconds, cpu, pushed = self.b2i.build(base, artifact, target)
            result.b2i.append(seconds)
            result.b2i_cpu.append(cpu)
            result.b2i_bytes.append(pushed)
        else:
            seconds, cpu = self.buildah.build(base, artifact, dest, target)
            result.buildah.append(seconds)
            result.buildah_cpu.append(cpu)


def fresh_dir(bench: Bench, name: str) -> Path:
    folder = bench.workdir / "artifacts" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def nonce() -> str:
    return uuid.uuid4().hex[:10]


def case_tiny(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "tiny")
    return bench.measure(
        "tiny",
        lambda i: artifacts.build_http_jar(folder, f"tiny {nonce()}", name=f"tiny-{i}.jar"),
        bench.jre,
        "/app/app.jar",
    )


def case_fat(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "fat")
    return bench.measure(
        "fat", lambda _: make.build_fat_jar(folder, nonce(), bench.jars), bench.jre, "/app/app.jar"
    )


def case_boot(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "boot")
    return bench.measure(
        "boot",
        lambda _: make.build_boot_jar(folder, f"boot {nonce()}", bench.jars, nonce()),
        bench.jre,
        "/app/app.jar",
    )


def case_rebuild(bench: Bench) -> tuple[CaseResult, Path]:
    """Build the original once with both tools, then time rebuilds with one class changed."""
    folder = fresh_dir(bench, "rebuild")
    original = make.build_boot_jar(folder, "original", bench.jars)
    bench.b2i.build(bench.jre, original, bench.target("b2i", "rebuild", "original"))
    target = bench.target("buildah", "rebuild", "original")
    bench.buildah.build(bench.jre, original, "/app/app.jar", target)
    built: list[Path] = []

    def changed(index: int) -> Path:
        built.append(make.build_boot_jar(folder, f"changed {index} {nonce()}", bench.jars))
        return built[-1]

    result = bench.measure("rebuild", changed, bench.jre, "/app/app.jar")
    return result, built[-1]


def case_binary(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "binary")
    return bench.measure(
        "binary", lambda _: make.build_binary(folder, nonce(), 20 * MiB), bench.busybox, "/app/app"
    )


def case_repush(bench: Bench, artifact: Path) -> CaseResult:
    """Build the last rebuild's artifact again into the same repositories (new tags)."""
    return bench.measure("repush", lambda _: artifact, bench.jre, "/app/app.jar", repo="rebuild")


def start_bench(workdir: Path, runs: int) -> Bench:
    """Start the registry, push both bases with skopeo, pull them into buildah's storage."""
    make.ensure_real_jars(80 * MiB)
    (workdir / "registry").mkdir()
    registry = start_registry(workdir / "registry")
    layer = bases.debian_java_layer()
    jre = bases.push_base_image(workdir, registry, "base/jre", "17", layer, bases.JRE_SETTINGS)
    busybox_layer = bases.busybox_layer(workdir)
    busybox = bases.push_base_image(
        workdir, registry, "base/busybox", "1", busybox_layer, bases.BUSYBOX_SETTINGS
    )
    buildah = Buildah(workdir / "buildah")
    for base in (jre.tagged, busybox.tagged):
        buildah.pull(base)
    jars = [artifacts.COMMONS_LANG.resolve(), *make.jars_totalling(60 * MiB)]
    return Bench(
        workdir, registry, buildah, B2i(workdir / "b2i-layer-cache"),
        jre.tagged, busybox.tagged, list(dict.fromkeys(jars)), runs,
    )  # fmt: skip


def run_cases(bench: Bench, cases: list[str]) -> list[CaseResult]:
    """Run the chosen cases in order (re-push needs the rebuild's last artifact)."""
    results: list[CaseResult] = []
    simple = {"tiny": case_tiny, "fat": case_fat, "boot": case_boot, "binary": case_binary}
    last_rebuild: Path | None = None
    for case in cases:
        print(f"case {case}: {TITLES[case]}", file=sys.stderr, flush=True)
        if case in simple:
            results.append(simple[case](bench))
        elif case == "rebuild":
            result, last_rebuild = case_rebuild(bench)
            results.append(result)
        elif case == "repush":
            if last_rebuild is None:
                last_rebuild = case_rebuild(bench)[1]
            results.append(case_repush(bench, last_rebuild))
    return results


def verdict(result: CaseResult) -> str:
    """Tell whether the case meets its issue 5 target."""
    target = TARGETS[result.case]
    notes = []
    if target is not None:
        notes.append(("yes" if result.ratio() <= target else "NO") + f" (≤ {target}x)")
    if result.case == "rebuild":
        share = max(result.b2i_bytes) / result.artifact_bytes
        notes.append(("yes" if share < 0.01 else "NO") + f" ({share:.3%} of the artifact)")
    if result.case == "repush":
        notes.append(("yes" if max(result.b2i_bytes) == 0 else "NO") + " (0 layer bytes)")
    return "; ".join(notes)


def human(size: int) -> str:
    if size < MiB:
        return f"{size / 1024:.1f} KiB"
    return f"{size / MiB:.1f} MiB"


def table(results: list[CaseResult]) -> str:
    """Return the results as a Markdown table."""
    lines = [
        "| case | artifact | b2i | buildah | ratio | CPU b2i / buildah | b2i uploaded "
        "| target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        lines.append(
            f"| {TITLES[result.case]} | {human(result.artifact_bytes)} "
            f"| {statistics.median(result.b2i):.2f} s | {statistics.median(result.buildah):.2f} s "
            f"| {result.ratio():.2f}x | {statistics.median(result.b2i_cpu):.2f} s / "
            f"{statistics.median(result.buildah_cpu):.2f} s "
            f"| {human(int(statistics.median(result.b2i_bytes)))} "
            f"| {verdict(result)} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """Describe the machine: cores, CPU, OS, kernel, tool versions."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown CPU",
    )  # fmt: skip
    debian = Path("/etc/debian_version").read_text().strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), Debian {debian}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {run(['buildah', '--version']).strip()}, "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (and write JSON when asked)."""
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=5)
    options.add_argument("--cases", default=",".join(CASES))
    options.add_argument("--json", type=Path, help="also write the raw timings here")
    args = options.parse_args(argv)
    cases = [case for case in args.cases.split(",") if case]
    unknown = set(cases) - set(CASES)
    if unknown or args.runs < 1:
        options.error(f"unknown cases {sorted(unknown)}; choose from {','.join(CASES)}")
    ensure_buildah()
    described = machine()
    with tempfile.TemporaryDirectory(prefix="b2i-bench-") as directory:
        bench = start_bench(Path(directory), args.runs)
        try:
            results = run_cases(bench, cases)
        finally:
            bench.registry.process.stop()
            subprocess.run(bench.buildah.command("rm", "--all"), capture_output=True, check=False)
            subprocess.run(
                bench.buildah.command("unshare", "rm", "-rf", str(bench.buildah.workdir)),
                capture_output=True,
                check=False,
            )
    print(f"\nMachine: {described}; {args.runs} runs per case, medians.\n")
    print(table(results))
    if args.json:
        data = {"machine": described, "runs": args.runs, "results": [r.as_dict() for r in results]}
        args.json.write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
