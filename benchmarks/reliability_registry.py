"""Reliability under faults, with real processes on loopback; prints a table.

    .venv/bin/python benchmarks/reliability_registry.py [--only flaky-503,outage-30s] [--builds 10]

Each scenario starts what it needs: Debian's docker-registry, the fault-injecting proxy as a
process of its own (`python -m tests.fixtures.faulty_proxy`, deterministic for its seed) and
one `b2i build` process per build. Rows (issue 20; other scenarios add rows here):

- flaky-503: 20 % of the registry's requests answered 503 (seeded), N builds of a static
  binary, each to a repository of its own (every blob uploaded, nothing reused): how many
  succeed, and whether every digest equals the one built without faults;
- outage-30s: the registry answers 503 to everything for 30 s from the push's first request
  on; the build must ride it out (backoff up to 10 s, a 180 s budget) with the same digest.

The digest includes the base's name, so a clean reference build goes through a proxy on the
same port before the faults are turned on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.reliability_rows import record  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.processes import free_port  # noqa: E402
from tests.fixtures.registry import Registry, start_registry  # noqa: E402

PYTHON = str(REPO / ".venv" / "bin" / "python")
B2I = str(REPO / ".venv" / "bin" / "b2i")


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    scenario: str
    trials: int
    figure: str
    goal: str
    met: bool


@dataclass
class Setup:
    """What every scenario shares: the registry, the base on it, an artifact."""

    workdir: Path
    registry: Registry
    base: bases.BaseImage
    artifact: Path


class FaultProxy:
    """`python -m tests.fixtures.faulty_proxy` in front of the registry, as a process."""

    def __init__(self, setup: Setup, port: int, *options: str) -> None:
        command = [PYTHON, "-m", "tests.fixtures.faulty_proxy", setup.registry.url]
        self.process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.host = self.process.stdout.readline().split()[-1]  # "listening on HOST:PORT"

    def stop(self) -> str:
        """Stop the proxy; return its summary line ("requests N faults M")."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        return out.strip()


def build(setup: Setup, proxy_host: str, repository: str) -> tuple[str | None, float, str]:
    """Run one `b2i build` through PROXY_HOST; return (digest or None, seconds, error)."""
    base = f"{proxy_host}/{setup.base.repository}:{setup.base.tag}"
    command = [B2I, "build", str(setup.artifact), "--to", f"{proxy_host}/{repository}:v1",
               "--from", base, "--insecure", "--layer-cache", "off", "--json"]  # fmt: skip
    environment = {**os.environ, "B2I_ALLOWED_REGISTRY_NETWORKS": "127.0.0.0/8"}
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        return None, took, done.stderr.strip().splitlines()[-1] if done.stderr else "failed"
    return str(json.loads(done.stdout)["digest"]), took, ""


def reference_digest(setup: Setup, port: int) -> str:
    """Build once without faults through a proxy on PORT (the base's name is in the digest)."""
    clean = FaultProxy(setup, port)
    try:
        digest, _, error = build(setup, clean.host, "reliability/reference")
    finally:
        clean.stop()
    if digest is None:
        raise RuntimeError(f"the reference build failed: {error}")
    return digest


def flaky_503(setup: Setup, builds: int) -> Row:
    """N builds at 20 % injected 503s: all succeed with the reference digest."""
    port = free_port()
    expected = reference_digest(setup, port)
    proxy = FaultProxy(setup, port, "--share", "0.2", "--kinds", "503", "--seed", "20")
    outcomes = [build(setup, proxy.host, f"reliability/flaky-{n}") for n in range(builds)]
    summary = proxy.stop()
    succeeded = [digest for digest, _, _ in outcomes if digest is not None]
    identical = set(succeeded) == {expected}
    slowest = max(took for _, took, _ in outcomes)
    errors = {error for _, _, error in outcomes if error}
    figure = (
        f"{len(succeeded)}/{builds} built, digests identical: {'yes' if identical else 'no'} "
        f"({summary}; slowest build {slowest:.1f} s)" + (f"; {errors}" if errors else "")
    )
    met = len(succeeded) == builds and identical
    return Row("fault proxy, 20 % of requests 503", builds, figure, "100 %, identical", met)


def outage_30s(setup: Setup, builds: int) -> Row:
    """A 30 s outage from the 3rd request (the push's first HEADs) on: the build rides it out."""
    port = free_port()
    expected = reference_digest(setup, port)
    outage = ("--outage-after", "3", "--outage-seconds", "30")
    proxy = FaultProxy(setup, port, *outage)
    digest, took, error = build(setup, proxy.host, "reliability/outage")
    summary = proxy.stop()
    ok = digest == expected
    figure = (
        f"{'built' if digest else 'failed'} in {took:.1f} s, digest identical: "
        f"{'yes' if ok else 'no'} ({summary})" + (f"; {error}" if error else "")
    )
    return Row("registry outage of 30 s mid-push", 1, figure, "succeeds, identical", ok)


SCENARIOS: dict[str, Callable[[Setup, int], Row]] = {
    "flaky-503": flaky_503,
    "outage-30s": outage_30s,
}


def start(workdir: Path) -> Setup:
    """Start the registry, push the busybox base, compile the artifact (1 MB of padding)."""
    (workdir / "registry").mkdir()
    registry = start_registry(workdir / "registry")
    layer = bases.busybox_layer(workdir)
    base = bases.push_base_image(
        workdir, registry, "base/busybox", "1", layer, bases.BUSYBOX_SETTINGS
    )
    artifact = artifacts.build_static_binary(workdir, "reliability", padding=1_000_000)
    return Setup(workdir, registry, base, artifact)


def table(rows: list[Row]) -> str:
    """Render the rows as a Markdown table."""
    lines = ["| scenario | trials | figure | goal | met |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        met = "yes" if row.met else "NO"
        lines.append(f"| {row.scenario} | {row.trials} | {row.figure} | {row.goal} | {met} |")
    return "\n".join(lines)


def machine() -> str:
    """Describe the machine the figures come from."""
    return (
        f"{os.cpu_count()} cores, Linux {platform.release()}, Python "
        f"{platform.python_version()}, load average at start {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios and print the table; exit 1 when a goal is not met."""
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--only", default=",".join(SCENARIOS))
    options.add_argument("--builds", type=int, default=10)
    args = options.parse_args(argv)
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        options.error(f"unknown scenarios {sorted(unknown)}; choose from {','.join(SCENARIOS)}")
    described = machine()
    with tempfile.TemporaryDirectory(prefix="b2i-reliability-") as directory:
        setup = start(Path(directory))
        try:
            rows = [SCENARIOS[name](setup, args.builds) for name in chosen]
        finally:
            setup.registry.process.stop()
    print(f"Machine: {described}")
    print(table(rows))
    record(rows)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
