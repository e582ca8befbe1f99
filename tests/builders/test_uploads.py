"""Artifact uploads: streamed with sha256, size limit (413), kind check (400), dedupe, resume."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from builders.models import Artifact, ArtifactUpload
from tests.builders.conftest import World, sha256_of

ARTIFACTS = "/api/v1/workspaces/acme/projects/shop/artifacts/"
UPLOADS = "/api/v1/workspaces/acme/projects/shop/uploads/"


def make_war(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as war:
        war.writestr("WEB-INF/web.xml", "<web-app/>")
        war.writestr("index.html", "<h1>hello</h1>")
    return path


def upload(world: World, path: Path, persona: str = "olga", **fields: Any) -> Any:
    with path.open("rb") as handle:
        return world.client(persona).post(ARTIFACTS, {"file": handle, **fields}, format="multipart")


def test_upload_records_sha256_size_and_inspection(
    world: World, media_root: Path, busybox: Path
) -> None:
    response = upload(world, busybox, kind="binary")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == sha256_of(busybox)
    assert body["size"] == busybox.stat().st_size
    assert body["kind"] == "binary"
    assert "Static Linux binary" in body["summary"]
    stored = Artifact.objects.get(public_id=body["id"])
    assert (media_root / stored.storage_key).read_bytes() == busybox.read_bytes()
    assert not list((media_root / "staging").iterdir()), "the staged copy must be removed"


def test_same_file_uploaded_twice_is_stored_once(
    world: World, media_root: Path, busybox: Path
) -> None:
    first = upload(world, busybox)
    second = upload(world, busybox, persona="alice")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Artifact.objects.filter(project=world.project).count() == 1
    stored_files = [p for p in (media_root / "artifacts").rglob("*") if p.is_file()]
    assert len(stored_files) == 1


def test_the_same_bytes_under_a_new_name_are_a_new_artifact_with_that_name(
    world: World, media_root: Path, tmp_path: Path
) -> None:
    shop = make_war(tmp_path / "shop.war")
    store = tmp_path / "store.war"
    store.write_bytes(shop.read_bytes())
    first = upload(world, shop)
    renamed = upload(world, store)
    again = upload(world, store)
    assert (first.status_code, renamed.status_code, again.status_code) == (201, 201, 200)
    # The page shows the new name, and a WAR's context path is its name: /store/, not /shop/.
    assert renamed.json()["file_name"] == "store.war"
    assert renamed.json()["id"] != first.json()["id"] and again.json()["id"] == renamed.json()["id"]
    # Each name has its own stored copy (deleting one artifact deletes only its file), and the
    # download serves the name asked for.
    keys = {a.file_name: a.storage_key for a in Artifact.objects.filter(project=world.project)}
    assert keys.keys() == {"shop.war", "store.war"} and len(set(keys.values())) == 2
    sha = first.json()["sha256"]
    download = world.client("olga").get(f"{ARTIFACTS}{sha}/download/", {"name": "store.war"})
    assert 'filename="store.war"' in download["Content-Disposition"]
    download = world.client("olga").get(f"{ARTIFACTS}{sha}/download/", {"name": "shop.war"})
    assert 'filename="shop.war"' in download["Content-Disposition"]


def test_names_that_sanitise_alike_get_their_own_stored_files(
    world: World, media_root: Path, busybox: Path, tmp_path: Path
) -> None:
    spaced, underscored = tmp_path / "my app", tmp_path / "my_app"
    spaced.write_bytes(busybox.read_bytes())
    underscored.write_bytes(busybox.read_bytes())
    assert upload(world, spaced).status_code == upload(world, underscored).status_code == 201
    keys = [a.storage_key for a in Artifact.objects.filter(project=world.project)]
    assert len(set(keys)) == 2
    assert all((media_root / key).read_bytes() == busybox.read_bytes() for key in keys)


def test_over_the_limit_while_streaming_is_413(
    world: World, media_root: Path, settings: Any, tmp_path: Path
) -> None:
    settings.B2I_MAX_ARTIFACT_BYTES = 100_000
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x7fELF" + b"x" * 150_000)  # under the declared-length precheck margin
    response = upload(world, big)
    assert response.status_code == 413
    assert response.json()["code"] == "artifact:too-large"
    assert "100000 bytes" in response.json()["message"]
    assert not Artifact.objects.exists()
    assert not [p for p in (media_root / "staging").iterdir()], "staged bytes left behind"


def test_declared_length_over_the_limit_is_413_before_reading(
    world: World, media_root: Path, settings: Any, tmp_path: Path
) -> None:
    settings.B2I_MAX_ARTIFACT_BYTES = 100_000
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 1_000_000)
    response = upload(world, big)
    assert response.status_code == 413
    assert response.json()["code"] == "artifact:too-large"


def test_war_uploaded_as_jar_is_400_with_a_clear_message(
    world: World, media_root: Path, tmp_path: Path
) -> None:
    response = upload(world, make_war(tmp_path / "shop.jar"), kind="jar")
    assert response.status_code == 400
    assert response.json()["code"] == "build:user:kind-mismatch"
    assert "this file is a WAR, not a JAR" in response.json()["message"]


def test_text_file_is_refused_as_a_binary(world: World, media_root: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n" * 10)
    response = upload(world, text, kind="binary")
    assert response.status_code == 400
    assert response.json()["code"].startswith("build:user:")


def test_viewer_cannot_upload_and_outsider_sees_nothing(
    world: World, media_root: Path, busybox: Path
) -> None:
    assert upload(world, busybox, persona="victor").status_code == 403
    assert upload(world, busybox, persona="charlie").status_code == 404
    assert upload(world, busybox, persona="anonymous").status_code in (401, 403)


def send_chunk(world: World, upload_id: str, offset: int, data: bytes, **headers: Any) -> Any:
    return world.client("olga").generic(
        "PATCH",
        f"{UPLOADS}{upload_id}/",
        data,
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **headers,
    )


def test_interrupted_chunked_upload_resumes_from_the_server_offset(
    world: World, media_root: Path, busybox: Path
) -> None:
    data = busybox.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    started = world.client("olga").post(
        UPLOADS, {"file_name": "busybox", "size": len(data), "sha256": digest}, format="json"
    )
    assert started.status_code == 201, started.json()
    upload_id = started.json()["id"]
    chunk = 256 * 1024
    assert send_chunk(world, upload_id, 0, data[:chunk]).json()["offset"] == chunk

    # The second chunk arrives but its answer is lost; the client's connection drops on the
    # third chunk, so that one never reaches the view (ASGI reads the whole body first).
    assert send_chunk(world, upload_id, chunk, data[chunk : 2 * chunk]).status_code == 200

    # Reconnected, the client retries the second chunk from its own stale offset: refused with
    # 409, and told where the server is.
    stale = send_chunk(world, upload_id, chunk, data[chunk : 2 * chunk])
    assert stale.status_code == 409
    assert stale.json()["code"] == "upload:offset-mismatch"
    assert stale.json()["offset"] == 2 * chunk

    offset = world.client("olga").get(f"{UPLOADS}{upload_id}/").json()["offset"]
    while offset < len(data):
        offset = send_chunk(world, upload_id, offset, data[offset : offset + chunk]).json()[
            "offset"
        ]
    done = world.client("olga").post(f"{UPLOADS}{upload_id}/complete/", {"kind": "binary"})
    assert done.status_code == 201, done.json()
    assert done.json()["sha256"] == digest
    artifact = Artifact.objects.get(public_id=done.json()["id"])
    assert (media_root / artifact.storage_key).read_bytes() == data
    assert ArtifactUpload.objects.get(public_id=upload_id).artifact == artifact


def test_chunked_upload_over_the_limit_is_refused_at_the_start(
    world: World, media_root: Path, settings: Any
) -> None:
    settings.B2I_MAX_ARTIFACT_BYTES = 1000
    response = world.client("olga").post(UPLOADS, {"file_name": "big", "size": 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "artifact:too-large"


def test_chunked_upload_with_wrong_sha256_is_refused(
    world: World, media_root: Path, busybox: Path
) -> None:
    data = busybox.read_bytes()
    started = world.client("olga").post(
        UPLOADS, {"file_name": "busybox", "size": len(data), "sha256": "0" * 64}, format="json"
    )
    upload_id = started.json()["id"]
    assert send_chunk(world, upload_id, 0, data).json()["offset"] == len(data)
    done = world.client("olga").post(f"{UPLOADS}{upload_id}/complete/")
    assert done.status_code == 400
    assert done.json()["code"] == "artifact:sha256-mismatch"
    # The bytes can never match: they are discarded at once and the upload restarts at 0.
    assert not (media_root / "staging" / f"{upload_id}.part").exists()
    assert world.client("olga").get(f"{UPLOADS}{upload_id}/").json()["offset"] == 0


@pytest.mark.parametrize("persona", ["victor", "charlie"])
def test_others_cannot_append_to_an_upload(world: World, media_root: Path, persona: str) -> None:
    started = world.client("olga").post(UPLOADS, {"file_name": "x", "size": 10}, format="json")
    response = world.client(persona).generic(
        "PATCH",
        f"{UPLOADS}{started.json()['id']}/",
        b"0123456789",
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET="0",
    )
    assert response.status_code == (403 if persona == "victor" else 404)


def test_asgi_refuses_a_declared_oversized_upload_before_reading_the_body(
    settings: Any,
) -> None:
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from b2i_console.asgi import application

    settings.B2I_MAX_ARTIFACT_BYTES = 1000
    scope = {
        "type": "http",
        "method": "POST",
        "path": ARTIFACTS,
        "headers": [(b"content-length", b"999999999"), (b"host", b"127.0.0.1")],
        "query_string": b"",
    }

    async def exchange() -> tuple[dict[str, Any], dict[str, Any]]:
        # No body is ever sent: the answer must come from the headers alone.
        communicator = ApplicationCommunicator(application, scope)
        start = await communicator.receive_output(timeout=5)
        body = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)
        return start, body

    start, body = async_to_sync(exchange)()
    assert start["status"] == 413
    assert b'"code": "artifact:too-large"' in body["body"]


def test_abandoned_chunked_uploads_expire_with_their_bytes(world: World, media_root: Path) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from builders.tasks import expire_abandoned_uploads_task

    old = world.client("olga").post(UPLOADS, {"file_name": "a", "size": 10}, format="json")
    fresh = world.client("olga").post(UPLOADS, {"file_name": "b", "size": 10}, format="json")
    ArtifactUpload.objects.filter(public_id=old.json()["id"]).update(
        last_activity_at=timezone.now() - timedelta(hours=25)
    )
    assert expire_abandoned_uploads_task()["abandoned"]["uploads"] == 1
    assert list(ArtifactUpload.objects.values_list("file_name", flat=True)) == ["b"]
    staged = sorted(p.name for p in (media_root / "staging").iterdir())
    assert staged == [f"{fresh.json()['id']}.part"]
