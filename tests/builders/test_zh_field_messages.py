"""A zh-Hans user's field errors come back in Chinese (the console's own validators and DRF's),
and the top-level code stays the one the pages translate by."""

from __future__ import annotations

import re

import pytest

from tests.builders.conftest import World
from tests.fixtures.celery_worker import ROOT

pytestmark = pytest.mark.django_db

PROJECT = "/api/v1/workspaces/acme/projects/shop/"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def compiled_catalogue() -> None:
    # scripts/bootstrap.sh and scripts/run.sh compile it; without it every page is English.
    assert (ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo").exists(), "run scripts/bootstrap.sh"


def field_errors(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert response.status_code == 400, body  # type: ignore[attr-defined]
    assert body["code"] == "validation:invalid"
    return {name: " ".join(messages) for name, messages in body["fields"].items()}


def test_builder_field_errors_are_in_chinese(world: World) -> None:
    response = world.client("olga").post(
        PROJECT + "imagebuilders/",
        {
            "name": "Bad_Name", "artifact_kind": "jar", "environment": "java-17",
            "image_name": "shop/x", "registry_secret": "local", "tag": "-bad",
            "trigger_token": "short", "environment_parameters": {"1X": "y"},
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )  # fmt: skip
    fields = field_errors(response)
    assert set(fields) >= {"name", "tag", "trigger_token", "environment_parameters"}
    english = {name: text for name, text in fields.items() if not CHINESE.search(text)}
    assert english == {}
    assert "1X" in fields["environment_parameters"]  # the details survive the translation


def test_secret_field_errors_are_in_chinese(world: World) -> None:
    response = world.client("alice").post(
        PROJECT + "registrysecrets/",
        {"name": "hub", "address": "ftp://x", "ca_bundle": "not a certificate"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    fields = field_errors(response)
    assert {"address", "ca_bundle"} <= set(fields)
    assert {name: text for name, text in fields.items() if not CHINESE.search(text)} == {}


def test_english_stays_english(world: World) -> None:
    response = world.client("olga").post(
        PROJECT + "imagebuilders/", {"name": "x", "tag": "-bad"}, format="json"
    )
    assert "A tag is 1-128 letters" in field_errors(response)["tag"]
