"""JVM start-up of a fat JAR's image layouts: from starting `java` to the first HTTP answer.

    .venv/bin/python benchmarks/jvm_startup.py [--runs 7] [--json F]

Builds a fresh ~60 MB shaded fat JAR (benchmarks/bench_artifacts.py), writes its layers in the
"split JARs" layout (the environment's `java -jar /app/app.jar`, dependencies in
/app/lib/dependencies.jar) and in the exploded layout (`java -cp /app <Main-Class>`), extracts
each into a root file system and times, alternating the layouts, the JVM from its start to the
first `GET /` answered. The packaged JAR itself (`java -jar` on the uploaded file) is timed
too, as the reference. Medians; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from b2i.oci.layers import LayerEntry, write_layer  # noqa: E402
from b2i.packaging.archives import SafeArchive  # noqa: E402
from b2i.packaging.environments import get_environment  # noqa: E402
from b2i.packaging.inspection import inspect_artifact  # noqa: E402
from b2i.packaging.layering import _plan_exploded_jar, plan_layers  # noqa: E402
from benchmarks import bench_artifacts as make  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures.processes import free_port  # noqa: E402

MiB = 1024 * 1024


def extract(plans_entries: list[tuple[LayerEntry, ...]], root: Path, out: Path) -> None:
    """Write each layer and unpack it into ROOT (in order, as a container runtime would)."""
    root.mkdir(parents=True)
    for entries in plans_entries:
        blob = write_layer(entries, out)
        with tarfile.open(blob.path) as layer:
            layer.extractall(root, filter="tar")


def layouts(jar: Path, work: Path) -> dict[str, list[str]]:
    """Return the command of each layout, its files extracted under WORK."""
    inspection = inspect_artifact(jar)
    split = plan_layers(jar, inspection, get_environment("java-17"))
    assert [plan.name for plan in split] == ["dependencies", "application"], split
    extract([plan.entries for plan in split], work / "split", work / "layers")
    assert inspection.jar is not None
    main = inspection.jar.main_class
    exploded = _plan_exploded_jar(SafeArchive(jar), inspection.jar, "/app")
    extract([plan.entries for plan in exploded], work / "exploded", work / "layers")
    return {
        "packaged": ["java", "-jar", str(jar)],
        "split": ["java", "-jar", str(work / "split" / "app" / "app.jar")],
        "exploded": ["java", "-cp", str(work / "exploded" / "app"), str(main)],
    }


def first_answer(command: list[str], deadline: float = 60.0) -> float:
    """Start COMMAND with a free $PORT; return the seconds until `GET /` is answered."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        command, env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while time.monotonic() - started < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    reply.read()
                    return time.monotonic() - started
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"{command} exited with {process.returncode}") from None
                time.sleep(0.005)
        raise RuntimeError(f"{command} did not answer within {deadline} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Time each layout RUNS times, interleaved; print the medians (and write JSON)."""
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=7)
    options.add_argument("--json", type=Path)
    args = options.parse_args(argv)
    make.ensure_real_jars(80 * MiB)
    jars = [artifacts.COMMONS_LANG.resolve(), *make.jars_totalling(60 * MiB)]
    with tempfile.TemporaryDirectory(prefix="b2i-jvm-") as directory:
        work = Path(directory)
        jar = make.build_fat_jar(work, "startup", list(dict.fromkeys(jars)))
        commands = layouts(jar, work)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        load = os.getloadavg()[0]
        for index in range(args.runs):
            names = list(commands)
            for name in names[index % 3 :] + names[: index % 3]:
                seconds[name].append(first_answer(commands[name]))
        size = jar.stat().st_size
        shutil.rmtree(work / "layers", ignore_errors=True)
    print(f"fat JAR {size / MiB:.1f} MiB; {args.runs} runs each; load average {load:.1f}")
    for name, values in seconds.items():
        print(f"  {name:9} median {statistics.median(values):.3f} s  (min {min(values):.3f})")
    if args.json:
        args.json.write_text(json.dumps({"jar_bytes": size, "load": load, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
