"""Users download a project's stored artifact under its original name, with the view role."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from builders.models import Artifact
from tests.builders.conftest import World

ARTIFACTS = "/api/v1/workspaces/acme/projects/shop/artifacts/"


@pytest.fixture
def war(world: World, media_root: Path, tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "shop 商店.war"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("WEB-INF/web.xml", "<web-app/>")
        archive.writestr("index.html", "<h1>hello</h1>")
    with path.open("rb") as handle:
        response = world.client("olga").post(
            ARTIFACTS, {"file": handle, "kind": "war"}, format="multipart"
        )
    assert response.status_code == 201, response.json()
    return path, response.json()


def download(world: World, sha256: str, persona: str = "victor"):
    return world.client(persona).get(f"{ARTIFACTS}{sha256}/download/")


def test_a_viewer_downloads_the_exact_bytes_under_the_original_name(
    world: World, war: tuple[Path, dict]
) -> None:
    path, body = war
    response = download(world, body["sha256"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == path.read_bytes()
    assert response["Content-Length"] == str(path.stat().st_size)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''shop%20%E5%95%86%E5%BA%97.war" in disposition


@pytest.mark.parametrize(("persona", "status"), [("charlie", 404), ("anonymous", 401)])
def test_outsiders_cannot_download(
    world: World, war: tuple[Path, dict], persona: str, status: int
) -> None:
    response = download(world, war[1]["sha256"], persona)
    assert response.status_code == status
    assert not hasattr(response, "streaming_content")


def test_an_unknown_sha256_is_404(world: World, war: tuple[Path, dict]) -> None:
    assert download(world, "0" * 64).status_code == 404


def test_a_file_gone_from_storage_is_404_with_a_code(
    world: World, war: tuple[Path, dict], media_root: Path
) -> None:
    artifact = Artifact.objects.get(sha256=war[1]["sha256"])
    (media_root / artifact.storage_key).unlink()
    response = download(world, artifact.sha256)
    assert response.status_code == 404
    assert response.json()["code"] == "artifact:missing"
