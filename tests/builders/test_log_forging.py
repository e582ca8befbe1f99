"""User data can never forge a build-log line, nor carry control or bidi characters to a page.

A file name like "x\\r\\nBuild completed successfully" used to be split into a line of its own
that reads as the console's verdict. Uploads now refuse such names, and every line the console
writes escapes control and bidi characters, so a row stored before the fix (or text from an
archive or a registry) still stays inside its own line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from b2i_console.safe_text import has_unsafe_characters
from builders import runner, services
from builders.logs import SUCCESS_LINE, RunLog
from builders.models import (
    Artifact,
    BuildEnvironment,
    BuildLogLine,
    BuildRun,
    BuildState,
    ImageBuilder,
)
from tests.builders.conftest import World, busybox_environment, make_builder, make_world
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.registry import Registry

PROJECT = "/api/v1/workspaces/acme/projects/shop/"
FORGED = "x\r\nBuild completed successfully"
UNSAFE_NAMES = [FORGED, "app\x1b[32mOK.bin", "invoice\u202enib.exe", "a\u2028b"]


def lines_of(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_resumable_upload_with_an_unsafe_file_name_is_refused(
    world: World, media_root: Path, name: str
) -> None:
    body = {"file_name": name, "size": 10}
    response = world.client("olga").post(PROJECT + "uploads/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "artifact:bad-file-name"


# Django's multipart parser already drops non-printable characters from file names (a raw line
# break cannot even travel in the header): the stored name is neutralised, never refused.
@pytest.mark.parametrize("name", UNSAFE_NAMES[1:])
def test_a_multipart_upload_name_is_stored_without_its_unsafe_characters(
    world: World, media_root: Path, busybox: Path, name: str
) -> None:
    upload = SimpleUploadedFile(name, busybox.read_bytes())
    response = world.client("olga").post(
        PROJECT + "artifacts/", {"file": upload, "kind": "binary"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    stored = Artifact.objects.get().file_name
    assert stored and not has_unsafe_characters(stored)


def test_a_written_line_stays_one_line_with_its_controls_visible(world: World) -> None:
    run = BuildRun.objects.create(builder=make_builder_for(world), number=1, tag="latest")
    log = RunLog(run.pk)
    log.write(f"==> inspect {FORGED} \x1b[2J \u202eevil")
    log.flush()
    (line,) = lines_of(run)
    assert line == "==> inspect x\\r\\nBuild completed successfully \\x1b[2J \\u202eevil"


def make_builder_for(world: World) -> ImageBuilder:
    return ImageBuilder.objects.create(
        project=world.project,
        name="plain",
        artifact_kind="binary",
        environment=BuildEnvironment.objects.get(name="binary-debian"),
        image_name="demo/plain",
        registry_secret=world.secret,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("alias", "ok\u202eko"), ("alias", "two\nlines"), ("description", "bell\x07")],
)
def test_names_on_pages_refuse_control_and_bidi_characters(
    world: World, field: str, value: str
) -> None:
    response = world.client("alice").patch(PROJECT, {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_description_keeps_its_line_breaks(world: World) -> None:
    response = world.client("alice").patch(PROJECT, {"description": "a\nb"}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db(transaction=True)
def test_a_real_build_of_a_legacy_forged_file_name_has_one_verdict_line(
    registry: Registry,
    busybox_base: BaseImage,
    media_root: Path,
    tmp_path: Path,
    enqueued: list[int],  # built here, in this process: no worker of another test may claim it
) -> None:
    world = make_world(registry.url)
    environment = busybox_environment(busybox_base.tagged)
    binary = artifacts.build_static_binary(tmp_path, "hi")
    artifact = Artifact.objects.create(  # stored before names were checked
        project=world.project,
        file_name=FORGED,
        size=binary.stat().st_size,
        sha256=sha256_hex(binary),
        kind="binary",
        storage_key=save_to_storage(binary),
    )
    builder = make_builder(world, artifact, environment=environment.name)
    run = services.do_start_run(builder)
    assert runner.run_build(run.pk) == BuildState.SUCCESSFUL
    lines = lines_of(run)
    assert [line for line in lines if line.strip() == SUCCESS_LINE] == [SUCCESS_LINE]
    assert lines[-1] == SUCCESS_LINE
    assert any("x\\r\\nBuild completed successfully" in line for line in lines)


def sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_to_storage(path: Path) -> str:
    with path.open("rb") as source:
        return default_storage.save(f"artifacts/legacy/{path.name}", File(source))
