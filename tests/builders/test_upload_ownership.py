"""A resumable upload belongs to whoever began it: nobody else writes, completes or cancels it.

Another operator (or the project's admin) who learns the upload's UUID gets the same 404 as for
an upload that does not exist.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from builders.models import ArtifactUpload
from tests.builders.conftest import World
from tests.builders.test_uploads import send_chunk

UPLOADS = "/api/v1/workspaces/acme/projects/shop/uploads/"


def begin(world: World, data: bytes) -> str:
    body = {"file_name": "busybox", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    started = world.client("olga").post(UPLOADS, body, format="json")
    assert started.status_code == 201, started.content
    return str(started.json()["id"])


def test_another_member_cannot_touch_an_upload(
    world: World, media_root: Path, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    admin = world.client("alice")  # the project's admin, who may otherwise do everything
    chunk = admin.generic(
        "PATCH",
        f"{UPLOADS}{upload_id}/",
        data,
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET="0",
    )
    assert chunk.status_code == 404
    assert admin.get(f"{UPLOADS}{upload_id}/").status_code == 404
    assert admin.post(f"{UPLOADS}{upload_id}/complete/", {"kind": "binary"}).status_code == 404
    assert admin.delete(f"{UPLOADS}{upload_id}/").status_code == 404
    assert ArtifactUpload.objects.get().received == 0


def test_the_uploader_still_sends_and_completes(
    world: World, media_root: Path, busybox: Path
) -> None:
    data = busybox.read_bytes()
    upload_id = begin(world, data)
    assert send_chunk(world, upload_id, 0, data).status_code == 200
    done = world.client("olga").post(f"{UPLOADS}{upload_id}/complete/", {"kind": "binary"})
    assert done.status_code == 201, done.content
