"""Compare `b2i build` with buildah building a two-line Dockerfile (`FROM base`, `COPY app`).

    .venv/bin/python benchmarks/compare_buildah.py [--runs 5] [--cases tiny,fat,...] [--json F]

Both tools build on the same base image, pushed once to our own docker-registry on a free
loopback port, and push to that registry. buildah (installed from Debian with apt-get when
missing) uses overlay storage with its own --root/--runroot under a temporary directory and
`--isolation chroot`; its base is pulled once before timing (as a `docker build` host keeps
it). One timed buildah build is `buildah from` + `buildah copy` + `buildah commit` + `buildah
push`; one timed b2i build is one `b2i build --split-layers` process (start-up included), with
its own layer cache under the temporary directory. "buildah bud" is the other baseline, what
most users run: `buildah bud` of the two-line Dockerfile (`FROM base`, `COPY app /app/...`) in a
context holding only the artifact, then `buildah push`. "b2i warm" runs the same builds in one
long-lived process (benchmarks/warm_worker.py), as the console's Celery worker does, without
Python's start-up per build. Runs rotate which tool goes first; the table shows medians and
the CPU seconds (user + system) each tool used, and b2i's ratios to both baselines. The JSON of
every run is kept (benchmarks/results/compare_buildah-<UTC time>.json unless --json names
another file), written after each case so an interrupted run keeps what it measured. Fresh cases
get new artifact bytes in every run (each tool its own), so no cache can help.

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
# Issue 21's targets per `b2i` process (CLI) and on the console's path (warm), judged against
# both baselines.
TARGETS = {
    "tiny": (0.7, 0.3), "fat": (0.7, 0.5), "boot": (0.5, 0.3), "rebuild": (0.15, 0.1),
    "binary": (0.5, 0.3), "repush": None,
}  # fmt: skip
B2I = str(REPO / ".venv" / "bin" / "b2i")


def run(command: list[str], **kwargs: object) -> str:
    """Run COMMAND; raise with its output when it fails; return its stdout."""
    # kwargs are subprocess.run's (cwd, env, timeout); typeshed's overloads need their types.
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

    def bud(self, base: str, artifact: Path, dest: str, target: str) -> tuple[float, float]:
        """Time `buildah bud` of `FROM BASE` + `COPY` ARTIFACT to DEST, then its push."""
        context = Path(tempfile.mkdtemp(prefix="bud-", dir=self.workdir))
        try:
            os.link(artifact, context / artifact.name)
        except OSError:
            shutil.copyfile(artifact, context / artifact.name)
        (context / "Dockerfile").write_text(f"FROM {base}\nCOPY {artifact.name} {dest}\n")
        image = f"localhost/bud-{uuid.uuid4().hex[:12]}"
        started, cpu = time.monotonic(), children_cpu()
        run(self.command("bud", "--quiet", "--isolation", "chroot", "--tls-verify=false",
                         "--pull=false", "-t", image, str(context)))  # fmt: skip
        run(self.command("push", "--quiet", "--tls-verify=false", image, f"docker://{target}"))
        took, cpu = time.monotonic() - started, children_cpu() - cpu
        run(self.command("rmi", image))
        shutil.rmtree(context, ignore_errors=True)
        return took, cpu


TOOLS = ("b2i", "b2i-warm", "buildah", "buildah-bud")
BASELINES = ("buildah", "buildah-bud")


def b2i_arguments(cache: Path, base: str, artifact: Path, target: str) -> list[str]:
    """Return the `b2i build` arguments of one benchmark build.

    JARs name their environment, as every build the console runs does (a builder has one):
    b2i then reads the class-file versions while writing the layers, not in a scan before.
    """
    env = ["--env", "java-17"] if artifact.suffix == ".jar" else []
    return ["build", str(artifact), "--to", target, "--from", base, *env, "--insecure",
            "--split-layers", "--layer-cache", str(cache), "--json"]  # fmt: skip


@dataclass
class B2i:
    """`b2i build` as a new process per build (start-up and imports included)."""

    cache: Path

    def build(self, base: str, artifact: Path, target: str) -> tuple[float, float, int]:
        """Time one `b2i build`; return wall and CPU seconds and the layer bytes it uploaded."""
        command = [B2I, *b2i_arguments(self.cache, base, artifact, target)]
        started, cpu = time.monotonic(), children_cpu()
        output = run(command)
        took, cpu = time.monotonic() - started, children_cpu() - cpu
        return took, cpu, int(json.loads(output)["bytes_pushed"])


@dataclass
class WarmB2i:
    """The same builds in one long-lived process, as the console's Celery worker runs them."""

    cache: Path
    process: subprocess.Popen[str] | None = None

    def start(self) -> WarmB2i:
        script = str(REPO / "benchmarks" / "warm_worker.py")
        self.process = subprocess.Popen(
            [sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        return self

    def build(self, base: str, artifact: Path, target: str) -> tuple[float, float, int]:
        """Time one build in the warm process; return wall and CPU seconds and layer bytes."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        request = json.dumps(b2i_arguments(self.cache, base, artifact, target))
        started = time.monotonic()
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        took = time.monotonic() - started
        if reply["code"] != 0:
            raise RuntimeError(f"warm b2i build failed: {reply['stderr']}")
        return took, float(reply["cpu"]), int(json.loads(reply["stdout"])["bytes_pushed"])

    def stop(self) -> None:
        if self.process is not None and self.process.stdin:
            self.process.stdin.close()
            self.process.wait(timeout=30)


@dataclass
class CaseResult:
    """Wall and CPU seconds of one case per tool, and the layer bytes b2i uploaded."""

    case: str
    repo: str = ""
    artifact_bytes: int = 0
    seconds: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    b2i_bytes: list[int] = field(default_factory=list)

    def median(self, tool: str) -> float:
        return statistics.median(self.seconds[tool])

    def ratio(self, tool: str = "b2i", baseline: str = "buildah") -> float:
        return self.median(tool) / self.median(baseline)

    def as_dict(self) -> dict[str, object]:
        return {
            "case": self.case,
            "artifact_bytes": self.artifact_bytes,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu,
            "b2i_bytes_pushed": self.b2i_bytes,
            "ratio_cli": round(self.ratio("b2i"), 3),
            "ratio_warm": round(self.ratio("b2i-warm"), 3),
            "ratio_cli_bud": round(self.ratio("b2i", "buildah-bud"), 3),
            "ratio_warm_bud": round(self.ratio("b2i-warm", "buildah-bud"), 3),
            # Per run, each b2i time against the baselines' times of the same round.
            "paired_ratios": {
                f"{tool}/{baseline}": [
                    round(mine / theirs, 3)
                    for mine, theirs in zip(
                        self.seconds[tool], self.seconds[baseline], strict=False
                    )
                ]
                for tool in ("b2i", "b2i-warm")
                for baseline in BASELINES
            },
        }


@dataclass
class Bench:
    """The registry, the tools, the bases and the artifacts of one benchmark session."""

    workdir: Path
    registry: Registry
    buildah: Buildah
    b2i: B2i
    warm: WarmB2i
    jre: str
    busybox: str
    jars: list[Path]
    runs: int

    def target(self, tool: str, repo: str, index: int | str, case: str = "") -> str:
        return f"{self.registry.host}/bench/{tool}-{repo}:{case or repo}-{index}"

    def measure(
        self, case: str, artifact_for: Callable[[int, str], Path], base: str, dest: str,
        repo: str = "",
    ) -> CaseResult:  # fmt: skip
        """Build each tool's own artifact per run (the tools take turns at going first)."""
        result = CaseResult(case, repo=repo or case)
        for index in range(self.runs):
            shift = index % len(TOOLS)
            order = TOOLS[shift:] + TOOLS[:shift]
            for tool in order:
                artifact = artifact_for(index, tool)
                result.artifact_bytes = artifact.stat().st_size
                self.one(result, tool, base, artifact, dest, index)
            times = ", ".join(f"{tool} {result.seconds[tool][-1]:.2f} s" for tool in TOOLS)
            print(f"  {case} run {index + 1}: {times}", file=sys.stderr, flush=True)
        return result

    def one(
        self, result: CaseResult, tool: str, base: str, artifact: Path, dest: str, index: int
    ) -> None:
        target = self.target(tool, result.repo, index, result.case)
        if tool == "buildah":
            seconds, cpu = self.buildah.build(base, artifact, dest, target)
        elif tool == "buildah-bud":
            seconds, cpu = self.buildah.bud(base, artifact, dest, target)
        else:
            builder = self.b2i if tool == "b2i" else self.warm
            seconds, cpu, pushed = builder.build(base, artifact, target)
            result.b2i_bytes.append(pushed)
        result.seconds[tool].append(seconds)
        result.cpu[tool].append(cpu)


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
        lambda i, tool: artifacts.build_http_jar(folder, f"tiny {nonce()}", name=f"{tool}-{i}.jar"),
        bench.jre,
        "/app/app.jar",
    )


def case_fat(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "fat")
    return bench.measure(
        "fat",
        lambda _, __: make.build_fat_jar(folder, nonce(), bench.jars),
        bench.jre,
        "/app/app.jar",
    )


def case_boot(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "boot")
    return bench.measure(
        "boot",
        lambda _, __: make.build_boot_jar(folder, f"boot {nonce()}", bench.jars, nonce()),
        bench.jre,
        "/app/app.jar",
    )


def case_rebuild(bench: Bench) -> tuple[CaseResult, dict[str, Path]]:
    """Build the original once with every tool, then time rebuilds with one class changed."""
    folder = fresh_dir(bench, "rebuild")
    original = make.build_boot_jar(folder, "original", bench.jars)
    for tool in TOOLS:
        bench.one(
            CaseResult("rebuild", repo="rebuild"), tool, bench.jre, original, "/app/app.jar", -1
        )
    last: dict[str, Path] = {}

    def changed(index: int, tool: str) -> Path:
        last[tool] = make.build_boot_jar(folder, f"changed {index} {tool} {nonce()}", bench.jars)
        return last[tool]

    result = bench.measure("rebuild", changed, bench.jre, "/app/app.jar")
    return result, last


def case_binary(bench: Bench) -> CaseResult:
    folder = fresh_dir(bench, "binary")
    return bench.measure(
        "binary",
        lambda _, __: make.build_binary(folder, nonce(), 20 * MiB),
        bench.busybox,
        "/app/app",
    )


def case_repush(bench: Bench, last: dict[str, Path]) -> CaseResult:
    """Build each tool's last rebuilt artifact again into the same repository (new tags)."""
    return bench.measure(
        "repush", lambda _, tool: last[tool], bench.jre, "/app/app.jar", repo="rebuild"
    )


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
    cache = workdir / "b2i-layer-cache"
    return Bench(
        workdir, registry, buildah, B2i(cache), WarmB2i(cache).start(),
        jre.tagged, busybox.tagged, list(dict.fromkeys(jars)), runs,
    )  # fmt: skip


def run_cases(
    bench: Bench, cases: list[str], results: list[CaseResult], keep: Callable[[], None]
) -> list[CaseResult]:
    """Run the chosen cases in order (re-push needs the rebuild's last artifact), calling
    KEEP after each."""
    simple = {"tiny": case_tiny, "fat": case_fat, "boot": case_boot, "binary": case_binary}
    last_rebuild: dict[str, Path] | None = None
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
        keep()
    return results


def verdict(result: CaseResult) -> str:
    """Tell whether the case meets its issue 21 targets (CLI and warm, against both baselines;
    the warm path here is the engine in a warm process, benchmarks/console_path.py the console's
    whole path)."""
    targets = TARGETS[result.case]
    notes = []
    if targets is not None:
        for (tool, label), target in zip(
            (("b2i", "CLI"), ("b2i-warm", "warm")), targets, strict=True
        ):
            worst = max(result.ratio(tool, baseline) for baseline in BASELINES)
            notes.append(f"{label} " + ("yes" if worst <= target else "NO") + f" (≤ {target}x)")
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
        "| case | artifact | b2i CLI | b2i warm | buildah from/copy/commit | buildah bud "
        "| CLI ratio (f/c/c; bud) | warm ratio (f/c/c; bud) "
        "| CPU s CLI / warm / fcc / bud | b2i uploaded | target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        seconds = " | ".join(f"{result.median(tool):.2f} s" for tool in TOOLS)
        cpu = " / ".join(f"{statistics.median(result.cpu[tool]):.2f}" for tool in TOOLS)
        ratios = " | ".join(
            "; ".join(f"{result.ratio(tool, baseline):.2f}x" for baseline in BASELINES)
            for tool in ("b2i", "b2i-warm")
        )
        lines.append(
            f"| {TITLES[result.case]} | {human(result.artifact_bytes)} | {seconds} | {ratios} "
            f"| {cpu} | {human(int(statistics.median(result.b2i_bytes)))} | {verdict(result)} |"
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
    options.add_argument(
        "--json", type=Path, help="write the raw timings here (default: benchmarks/results/)"
    )
    args = options.parse_args(argv)
    cases = [case for case in args.cases.split(",") if case]
    unknown = set(cases) - set(CASES)
    if unknown or args.runs < 1:
        options.error(f"unknown cases {sorted(unknown)}; choose from {','.join(CASES)}")
    ensure_buildah()
    make.compile_engine()
    described = machine()
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.gmtime())
    json_path = args.json or REPO / "benchmarks" / "results" / f"compare_buildah-{stamp}.json"
    results: list[CaseResult] = []

    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip()  # at the start

    def keep() -> None:
        data = {
            "machine": described,
            "runs": args.runs,
            "commit": commit,
            "load_average_end": os.getloadavg(),
            "results": [result.as_dict() for result in results],
        }
        json_path.write_text(json.dumps(data, indent=2))

    with tempfile.TemporaryDirectory(prefix="b2i-bench-") as directory:
        bench = start_bench(Path(directory), args.runs)
        try:
            run_cases(bench, cases, results, keep)
        finally:
            bench.warm.stop()
            bench.registry.process.stop()
            subprocess.run(bench.buildah.command("rm", "--all"), capture_output=True, check=False)
            subprocess.run(
                bench.buildah.command("unshare", "rm", "-rf", str(bench.buildah.workdir)),
                capture_output=True,
                check=False,
            )
    print(f"\nMachine: {described}; {args.runs} runs per case, medians.\n")
    print(table(results))
    keep()
    print(f"\nJSON: {json_path}; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
