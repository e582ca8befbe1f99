"""Remote trigger: constant-time token, new tag, artifact URL fetched under SSRF rules."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from builders import runner, services
from builders.models import Artifact, BuildLogLine, BuildRun, BuildState, ImageBuilder
from tests.builders.conftest import World, make_artifact, make_builder
from tests.builders.executors import ScriptedExecutor

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/trigger/"
TOKEN = "Tr1ggerToken" * 2  # a test token of the minimum length, 24 characters


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    # DRF throttles count in the cache, which outlives a test; each test starts with none.
    cache.clear()


@pytest.fixture
def builder(
    world: World, media_root: Path, busybox: Path, monkeypatch: pytest.MonkeyPatch
) -> ImageBuilder:
    monkeypatch.setattr(services, "enqueue_run", lambda run: None)
    monkeypatch.setattr(services, "enqueue_run_again", lambda run: None)
    built = make_builder(world, make_artifact(world.project, busybox))
    built.trigger_token = TOKEN
    built.save()
    return built


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on loopback serving files from a directory."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def trigger(world: World, token: str | None, **body: Any) -> Any:
    headers = {"HTTP_X_B2I_TRIGGER_TOKEN": token} if token is not None else {}
    return world.client("anonymous").post(TRIGGER, body, format="json", **headers)


def last_line(run: BuildRun) -> str:
    return BuildLogLine.objects.filter(run=run).order_by("-seq").first().text  # type: ignore[union-attr]


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN[:-1], TOKEN + "2"])
def test_wrong_or_missing_token_is_404(
    world: World, builder: ImageBuilder, token: str | None
) -> None:
    response = trigger(world, token)
    assert response.status_code == 404
    assert not BuildRun.objects.exists()


def test_builder_without_token_cannot_be_triggered(world: World, builder: ImageBuilder) -> None:
    builder.trigger_token = ""
    builder.save()
    assert trigger(world, "").status_code == 404


def test_trigger_with_a_new_tag_queues_a_run(world: World, builder: ImageBuilder) -> None:
    response = trigger(world, TOKEN, tag="2024.1")
    assert response.status_code == 201, response.json()
    run = BuildRun.objects.get()
    assert (run.tag, run.triggered_by, run.artifact_id) == (
        "2024.1",
        "trigger",
        builder.artifact_id,
    )
    header = world.client("anonymous").post(TRIGGER, {}, HTTP_X_TRIGGER_TOKEN=TOKEN)
    assert header.status_code == 201


def test_artifact_url_is_fetched_verified_and_stored_once(
    world: World, builder: ImageBuilder, file_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = file_server
    (root / "busybox").write_bytes(Path("/bin/busybox").read_bytes())
    digest = hashlib.sha256((root / "busybox").read_bytes()).hexdigest()
    response = trigger(world, TOKEN, artifact_url=f"{base}/busybox", sha256=digest)
    assert response.status_code == 201, response.json()
    run = BuildRun.objects.get()
    executor = ScriptedExecutor()
    assert runner.run_build(run.pk, executor=executor) == BuildState.SUCCESSFUL
    run.refresh_from_db()
    assert run.artifact is not None and run.artifact.sha256 == digest
    # The same bytes and name as the uploaded busybox: the stored artifact is reused.
    assert Artifact.objects.filter(project=world.project).count() == 1
    assert executor.jobs[0].artifact_sha256 == digest


def test_artifact_url_with_a_wrong_sha256_fails_the_run(
    world: World, builder: ImageBuilder, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "app").write_bytes(b"\x7fELF" + b"\0" * 100)
    trigger(world, TOKEN, artifact_url=f"{base}/app", sha256="1" * 64)
    run = BuildRun.objects.get()
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.FAILED
    run.refresh_from_db()
    assert run.error_code == "artifact:sha256-mismatch"
    assert last_line(run).startswith("Build failed: The downloaded artifact has sha256 ")


def test_artifact_url_over_the_size_limit_fails_the_run(
    world: World, builder: ImageBuilder, file_server: tuple[str, Path], settings: Any
) -> None:
    base, root = file_server
    (root / "big").write_bytes(b"x" * 50_000)
    settings.B2I_MAX_ARTIFACT_BYTES = 10_000
    trigger(world, TOKEN, artifact_url=f"{base}/big")
    run = BuildRun.objects.get()
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.FAILED
    assert BuildRun.objects.get(pk=run.pk).error_code == "artifact:too-large"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "registry:blocked-address"),
        ("http://[::ffff:169.254.169.254]/x", "registry:blocked-address"),
        ("http://10.1.2.3/app", "registry:blocked-address"),
    ],
)
def test_artifact_url_to_a_forbidden_address_fails_without_connecting(
    world: World, builder: ImageBuilder, url: str, code: str
) -> None:
    trigger(world, TOKEN, artifact_url=url)
    run = BuildRun.objects.get()
    assert runner.run_build(run.pk, executor=ScriptedExecutor()) == BuildState.FAILED
    assert BuildRun.objects.get(pk=run.pk).error_code == code


@pytest.mark.parametrize("url", ["ftp://example.com/app", "http://user:pw@example.com/app"])
def test_malformed_artifact_url_is_400(world: World, builder: ImageBuilder, url: str) -> None:
    response = trigger(world, TOKEN, artifact_url=url)
    assert response.status_code == 400
    assert response.json()["code"] in ("artifact:bad-url", "validation:invalid")


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, {"HTTP_X_B2I_TRIGGER_TOKEN": TOKEN}],
    ids=["authorization-bearer", "x-b2i-trigger-token"],
)
def test_the_token_is_taken_from_a_header(
    world: World, builder: ImageBuilder, headers: dict[str, str]
) -> None:
    response = world.client("anonymous").post(TRIGGER, {}, format="json", **headers)
    assert response.status_code == 201, response.content


def test_forged_forwarded_addresses_do_not_escape_the_rate_limit(
    world: World, builder: ImageBuilder
) -> None:
    api = world.client("anonymous")
    statuses = [
        api.post(TRIGGER, {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(65)
    ]
    assert statuses[:60] == [404] * 60  # no token: 404, counted all the same
    assert set(statuses[60:]) == {429}


def test_forwarded_addresses_count_apart_behind_a_trusted_proxy(
    world: World, builder: ImageBuilder, settings: Any
) -> None:
    settings.B2I_TRUSTED_PROXIES = ["127.0.0.1/32"]
    api = world.client("anonymous")
    statuses = {
        api.post(
            TRIGGER, {}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(65)
    }
    assert statuses == {404}
    # One client behind the proxy is limited as itself.
    same = [
        api.post(
            TRIGGER, {}, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"
        ).status_code
        for _ in range(61)
    ]
    assert same[-1] == 429


BUILDER = "/api/v1/workspaces/acme/projects/shop/imagebuilders/hello/"


def test_a_short_user_chosen_token_is_refused(world: World, builder: ImageBuilder) -> None:
    short = world.client("olga").patch(BUILDER, {"trigger_token": "x" * 23}, format="json")
    assert short.status_code == 400
    assert "trigger_token" in short.json()["fields"]
    builder.refresh_from_db()
    assert builder.trigger_token == TOKEN


def test_the_console_generates_a_160_bit_token(world: World, builder: ImageBuilder) -> None:
    response = world.client("olga").patch(BUILDER, {"generate_trigger_token": True}, format="json")
    assert response.status_code == 200, response.content
    token = response.json()["trigger_token"]
    assert len(token) == 40 and int(token, 16) >= 0 and token != TOKEN
    assert "token=" not in response.json()["trigger_url"]
    assert trigger(world, token).status_code == 201
