"""The console's build path end to end, side by side with `buildah bud` + push.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/console_path.py [--runs 5]
        [--cases tiny,fat,boot,rebuild,binary] [--browser-runs 5] [--json F]

Real parts on loopback: Redis, docker-registry, the console's web server, one Celery worker
running the real engine (warm, as deployed), PostgreSQL when DATABASE_URL names it (else a
SQLite file). With the artifact already uploaded (stored as an upload stores it, untimed), one
timed b2i build is: the API call that starts a run (`POST .../imagebuilders/<name>/run/` with
the artifact's id, an API token) until the run is `successful` in the database and the pushed
manifest answers for its tag with the run's digest. The same artifact is then (or first: the
order alternates) built by `buildah bud` of `FROM base` + `COPY` and pushed to the same
registry (benchmarks/compare_buildah.py's driver). Fresh cases get new artifact bytes in every
run. "rebuild" changes one class of a Spring Boot JAR whose original both tools built first.

`--browser-runs N` also times, in Chromium (Playwright), the tiny JAR from a click on "Create"
on the new-builder page to "Build completed successfully" in the live log.
Prints medians, ratios per pair, the load average; writes every timing as JSON
(benchmarks/results/console_path-<UTC time>.json unless --json names another file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WORKDIR = Path(tempfile.mkdtemp(prefix="b2i-console-path-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR / 'db.sqlite3'}")
os.environ.setdefault("SECRET_KEY", "console-path-benchmark-not-a-secret-0123456789abcdef")
os.environ.setdefault("B2I_SECRET_KEYS", "hwpGYHUPpNUiHTWFuQ8TVBEYW6qsWpncqOXGJX6541c=")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "b2i_console.settings")
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ["B2I_LAYER_CACHE_DIR"] = str(WORKDIR / "layer-cache")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["B2I_ALLOWED_REGISTRY_NETWORKS"] = "127.0.0.0/8"  # the loopback registry
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between Playwright steps

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from b2i.packaging.environments import get_environment  # noqa: E402
from b2i_console.redis_options import channel_layers  # noqa: E402
from benchmarks import bench_artifacts as make  # noqa: E402
from benchmarks.compare_buildah import Buildah, ensure_buildah, human, nonce, run  # noqa: E402
from builders.artifacts.uploads import store_artifact  # noqa: E402
from builders.environments_sync import sync_builtin_environments  # noqa: E402
from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder  # noqa: E402
from projects.authentication import create_api_token  # noqa: E402
from projects.models import Project, ProjectMembership, RegistrySecret, Workspace  # noqa: E402
from tests.fixtures import artifacts  # noqa: E402
from tests.fixtures import base_images as bases  # noqa: E402
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at  # noqa: E402
from tests.fixtures.console_process import ConsoleProcess  # noqa: E402
from tests.fixtures.processes import free_port  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.fixtures.registry import Registry, start_registry  # noqa: E402

MiB = 1024 * 1024
CASES = ("tiny", "fat", "boot", "rebuild", "binary")
TITLES = {
    "tiny": "tiny JAR",
    "fat": "fresh ~60 MB shaded fat JAR",
    "boot": "fresh ~60 MB Spring Boot JAR",
    "rebuild": "rebuild, one class changed",
    "binary": "20 MB static binary",
}
TARGETS = {"tiny": 0.3, "fat": 0.5, "boot": 0.3, "rebuild": 0.1, "binary": 0.3}
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json,"
    "application/vnd.docker.distribution.manifest.v2+json"
)
RUN_TIMEOUT = 300.0
# Names of this session's own (the database may hold an earlier session's rows).
WORKSPACE = f"bench-{os.getpid()}-{int(time.time()) % 100000}"
PROJECT_PATH = f"/workspaces/{WORKSPACE}/projects/{WORKSPACE}/"


@dataclass
class Stack:
    """Everything the timed builds run on."""

    registry: Registry
    console: ConsoleProcess
    worker: CeleryWorker
    buildah: Buildah
    user: User
    project: Project
    token: str
    jre: str
    busybox: str
    jars: list[Path]


@dataclass
class CaseResult:
    case: str
    artifact_bytes: int = 0
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {"console": [], "buildah-bud": []}
    )
    bytes_pushed: list[int] = field(default_factory=list)

    def median(self, tool: str) -> float:
        return statistics.median(self.seconds[tool])

    def ratio(self) -> float:
        return self.median("console") / self.median("buildah-bud")

    def paired(self) -> list[float]:
        pairs = zip(self.seconds["console"], self.seconds["buildah-bud"], strict=False)
        return [round(mine / theirs, 3) for mine, theirs in pairs]


def console_env() -> dict[str, str]:
    """The web server's settings as the browser tests run it: base checks go nowhere."""
    return {
        "B2I_HTTPS": "false",
        "B2I_REGISTRY_MIRROR": f"127.0.0.1:{free_port()}",
        "B2I_REGISTRY_PROXY": f"http://127.0.0.1:{free_port()}",
    }


def start_stack() -> tuple[Stack, RedisServer]:
    """Start Redis, the registry (with both bases), the worker and the web server."""
    call_command("migrate", verbosity=0)
    sync_builtin_environments()
    (WORKDIR / "redis").mkdir()
    redis = RedisServer(WORKDIR / "redis").start()
    settings.CHANNEL_LAYERS = channel_layers(redis.url)
    point_celery_at(redis.url)
    (WORKDIR / "registry").mkdir()
    registry = start_registry(WORKDIR / "registry")
    jre = bases.push_base_image(
        WORKDIR, registry, "base/jre", "17", bases.debian_java_layer(), bases.JRE_SETTINGS
    ).tagged
    busybox = bases.push_base_image(
        WORKDIR, registry, "base/busybox", "1", bases.busybox_layer(WORKDIR),
        bases.BUSYBOX_SETTINGS,
    ).tagged  # fmt: skip
    buildah = Buildah(WORKDIR / "buildah")
    for base in (jre, busybox):
        buildah.pull(base)
    user, project, token = make_world(registry, jre, busybox)
    worker = CeleryWorker(redis.url, WORKDIR, {"REDIS_URL": redis.url}).start()
    console = ConsoleProcess(WORKDIR, {"REDIS_URL": redis.url, **console_env()}).start()
    jars = [artifacts.COMMONS_LANG.resolve(), *make.jars_totalling(60 * MiB)]
    stack = Stack(registry, console, worker, buildah, user, project, token, jre, busybox,
                  list(dict.fromkeys(jars)))  # fmt: skip
    return stack, redis


def make_world(registry: Registry, jre: str, busybox: str) -> tuple[User, Project, str]:
    """A workspace-admin, a project, a default secret on the registry, local bases."""
    from projects.models import WorkspaceMembership

    user = User.objects.create_user(WORKSPACE)  # signed in by session cookie or API token
    workspace = Workspace.objects.create(name=WORKSPACE)
    project = Project.objects.create(workspace=workspace, name=WORKSPACE)
    WorkspaceMembership.objects.create(workspace=workspace, user=user, role="workspace-admin")
    ProjectMembership.objects.create(project=project, user=user, role="admin")
    secret = RegistrySecret(project=project, name="local", address=registry.url, is_default=True)
    secret.password = ""
    secret.save()
    BuildEnvironment.objects.filter(name="java-17").update(base_image=jre)
    spec = get_environment("binary-debian").as_dict()
    for key in ("name", "title", "base_image", "artifact_kinds"):
        spec.pop(key)
    BuildEnvironment.objects.update_or_create(
        name="busybox-bench",
        defaults={"title": "Busybox", "base_image": busybox, "artifact_kinds": ["binary"],
                  "spec": spec},
    )  # fmt: skip
    _, token = create_api_token(user, "benchmark")
    return user, project, token


def store(stack: Stack, path: Path, kind: str) -> Artifact:
    """Keep PATH as an uploaded artifact of the project (what an upload does; untimed)."""
    return store_artifact(
        stack.project, stack.user, path, file_name=path.name,
        sha256=make_sha256(path), size=path.stat().st_size, expected_kind=kind,
    ).artifact  # fmt: skip


def make_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def builder_for(stack: Stack, case: str, artifact: Artifact) -> ImageBuilder:
    environment = "busybox-bench" if artifact.kind == "binary" else "java-17"
    return ImageBuilder.objects.create(
        project=stack.project, name=case, artifact_kind=artifact.kind,
        environment=BuildEnvironment.objects.get(name=environment),
        image_name=f"bench/console-{case}",
        registry_secret=RegistrySecret.objects.get(project=stack.project),
        artifact=artifact,
    )  # fmt: skip


def console_build(stack: Stack, builder: ImageBuilder, artifact: Artifact, tag: str) -> BuildRun:
    """The API call that starts a run, until `successful` and the manifest for TAG answers."""
    url = f"{stack.console.url}/api/v1{PROJECT_PATH}imagebuilders/{builder.name}/run/"
    headers = {"Authorization": f"Bearer {stack.token}"}
    reply = httpx.post(
        url, json={"artifact_id": str(artifact.public_id), "tag": tag}, headers=headers, timeout=60
    )
    if reply.status_code != 201:
        raise RuntimeError(f"starting a run failed: {reply.status_code} {reply.text}")
    number = reply.json()["number"]
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state = BuildRun.objects.filter(builder=builder, number=number).values_list(
            "state", flat=True
        )
        if state and state[0] in ("successful", "failed", "cancelled"):
            break
        time.sleep(0.01)
    done = BuildRun.objects.get(builder=builder, number=number)
    if done.state != "successful":
        raise RuntimeError(f"run {number} is {done.state}: {done.error_message}\n"
                           f"{stack.worker.log_tail()}")  # fmt: skip
    manifest = httpx.head(
        f"{stack.registry.url}/v2/{builder.image_name}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPES}, timeout=30,
    )  # fmt: skip
    if manifest.headers.get("Docker-Content-Digest") != done.digest:
        raise RuntimeError(f"the registry's manifest for {tag} is not the run's {done.digest}")
    return done


def measure(
    stack: Stack, case: str, runs: int, make_artifact: Callable[[int], Path], kind: str
) -> CaseResult:
    """Alternate console and buildah bud on each run's own fresh artifact."""
    result = CaseResult(case)
    base = stack.busybox if kind == "binary" else stack.jre
    dest = "/app/app" if kind == "binary" else "/app/app.jar"
    builder: ImageBuilder | None = ImageBuilder.objects.filter(
        project=stack.project, name=case
    ).first()
    for index in range(runs):
        path = make_artifact(index)
        result.artifact_bytes = path.stat().st_size
        artifact = store(stack, path, kind)
        if builder is None:
            builder = builder_for(stack, case, artifact)
        tag = f"run{index}-{nonce()}"
        order = ["console", "buildah-bud"][:: 1 if index % 2 == 0 else -1]
        for tool in order:
            if tool == "console":
                started = time.monotonic()
                done = console_build(stack, builder, artifact, tag)
                result.seconds[tool].append(time.monotonic() - started)
                result.bytes_pushed.append(int(done.bytes_pushed or 0))
            else:
                target = f"{stack.registry.host}/bench/bud-{case}:{tag}"
                result.seconds[tool].append(stack.buildah.bud(base, path, dest, target)[0])
        print(
            f"  {case} run {index + 1}: console {result.seconds['console'][-1]:.2f} s, "
            f"bud {result.seconds['buildah-bud'][-1]:.2f} s, load {os.getloadavg()[0]:.1f}",
            file=sys.stderr, flush=True,
        )  # fmt: skip
    return result


def folder(name: str) -> Path:
    path = WORKDIR / "artifacts" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_case(stack: Stack, case: str, runs: int) -> CaseResult:
    if case == "tiny":
        return measure(stack, case, runs, lambda i: artifacts.build_http_jar(
            folder(f"tiny{i}"), f"tiny {nonce()}", name=f"tiny-{i}.jar"), "jar")  # fmt: skip
    if case == "fat":
        return measure(
            stack, case, runs, lambda i: make.build_fat_jar(folder("fat"), nonce(), stack.jars),
            "jar",
        )  # fmt: skip
    if case == "boot":
        return measure(stack, case, runs, lambda i: make.build_boot_jar(
            folder("boot"), f"boot {nonce()}", stack.jars, nonce()), "jar")  # fmt: skip
    if case == "binary":
        return measure(stack, case, runs, lambda i: make.build_binary(
            folder("binary"), nonce(), 20 * MiB), "binary")  # fmt: skip
    original = make.build_boot_jar(folder("rebuild"), "original", stack.jars)
    artifact = store(stack, original, "jar")
    builder = builder_for(stack, case, artifact)
    console_build(stack, builder, artifact, "original")
    stack.buildah.bud(stack.jre, original, "/app/app.jar",
                      f"{stack.registry.host}/bench/bud-rebuild:original")  # fmt: skip
    return measure(stack, case, runs, lambda i: make.build_boot_jar(
        folder("rebuild"), f"changed {i} {nonce()}", stack.jars), "jar")  # fmt: skip


def browser_timings(stack: Stack, runs: int) -> list[float]:
    """Seconds from clicking Create (tiny JAR) to "Build completed successfully" on screen."""
    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    client = Client()
    client.force_login(stack.user)
    cookie = client.cookies["sessionid"].value
    timings: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )  # fmt: skip
        context = browser.new_context(base_url=stack.console.url, locale="en-US")
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": stack.console.url}])
        context.set_default_timeout(60_000)
        page = context.new_page()
        for index in range(runs):
            jar = artifacts.build_http_jar(folder(f"browser{index}"), f"browser {nonce()}")
            page.goto(f"{PROJECT_PATH}imagebuilders/create/")
            page.get_by_role("button", name="JAR").click()
            page.get_by_label("Name", exact=True).fill(f"browser-{index}")
            page.get_by_test_id("artifact-file").set_input_files(str(jar))
            expect(page.get_by_test_id("inspection-summary")).to_contain_text("Java 17 bytecode")
            expect(page.locator(".env-card[data-env=java-17] input")).to_be_checked()
            started = time.monotonic()
            page.get_by_role("button", name="Create").click()
            expect(page).to_have_url(re.compile(r"imagebuilders/browser-\d+/$"))
            expect(page.get_by_test_id("log-body")).to_contain_text(
                "Build completed successfully", timeout=RUN_TIMEOUT * 1000
            )
            timings.append(time.monotonic() - started)
            print(f"  browser run {index + 1}: {timings[-1]:.2f} s", file=sys.stderr, flush=True)
        browser.close()
    return timings


def table(results: list[CaseResult]) -> str:
    lines = [
        "| case | artifact | console path | buildah bud + push | ratio | ratios per pair "
        "| uploaded | target met |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for result in results:
        target = TARGETS[result.case]
        met = "yes" if result.ratio() <= target else "NO"
        if result.case == "rebuild":
            share = max(result.bytes_pushed) / result.artifact_bytes
            met += f"; {'yes' if share < 0.01 else 'NO'} ({share:.3%} of the bytes)"
        pairs = ", ".join(f"{ratio:.2f}" for ratio in result.paired())
        lines.append(
            f"| {TITLES[result.case]} | {human(result.artifact_bytes)} "
            f"| {result.median('console'):.2f} s | {result.median('buildah-bud'):.2f} s "
            f"| {result.ratio():.2f}x | {pairs} "
            f"| {human(int(statistics.median(result.bytes_pushed)))} | {met} (≤ {target}x) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=5)
    options.add_argument("--cases", default=",".join(CASES))
    options.add_argument("--browser-runs", type=int, default=0)
    options.add_argument("--json", type=Path)
    args = options.parse_args(argv)
    cases = [case for case in args.cases.split(",") if case]
    if set(cases) - set(CASES):
        options.error(f"choose cases from {','.join(CASES)}")
    version = ensure_buildah()
    make.ensure_real_jars(80 * MiB)
    make.compile_engine()
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.gmtime())
    json_path = args.json or REPO / "benchmarks" / "results" / f"console_path-{stamp}.json"
    described = (
        f"{os.cpu_count()} cores, {version}, database {settings.DATABASES['default']['ENGINE']}, "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    results: list[CaseResult] = []
    browser: list[float] = []
    stack, redis = start_stack()

    commit = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip()  # at the start

    def keep() -> None:
        data: dict[str, Any] = {
            "machine": described,
            "commit": commit,
            "load_average_now": os.getloadavg(),
            "results": [
                {"case": r.case, "artifact_bytes": r.artifact_bytes, "seconds": r.seconds,
                 "bytes_pushed": r.bytes_pushed, "ratio": round(r.ratio(), 3),
                 "paired_ratios": r.paired()}
                for r in results
            ],
            "browser_create_to_success_seconds": browser,
        }  # fmt: skip
        json_path.write_text(json.dumps(data, indent=2))

    try:
        for case in cases:
            print(f"case {case}: {TITLES[case]}", file=sys.stderr, flush=True)
            results.append(run_case(stack, case, args.runs))
            keep()
        if args.browser_runs:
            browser.extend(browser_timings(stack, args.browser_runs))
            keep()
    finally:
        stack.console.stop()
        stack.worker.stop()
        stack.registry.process.stop()
        redis.stop()
        os.system(" ".join(stack.buildah.command("rm", "--all")) + " >/dev/null 2>&1")  # noqa: S605
        os.system(  # noqa: S605
            " ".join(stack.buildah.command("unshare", "rm", "-rf", str(WORKDIR / "buildah")))
            + " >/dev/null 2>&1"
        )
    print(f"\nMachine: {described}; {args.runs} runs per case, medians.\n")
    print(table(results))
    if browser:
        print(
            f"\nBrowser (Chromium): Create to 'Build completed successfully', tiny JAR: median "
            f"{statistics.median(browser):.2f} s over {len(browser)} runs"
        )
    print(f"\nJSON: {json_path}; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
