"""Registry secrets through the API: write-only password, one default, clear 4xx for bad input."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from projects.models import RegistrySecret
from tests.fixtures.processes import free_port
from tests.projects.conftest import World

SECRETS = "/api/v1/workspaces/acme/projects/shop/registrysecrets/"


def post_secret(world: World, **body: Any) -> Any:
    return world.client("oscar").post(SECRETS, body, format="json")


def test_password_is_accepted_but_never_returned(world: World) -> None:
    response = post_secret(
        world, name="quay", address="quay.example.com", username="u", password="tok-123456"
    )
    assert response.status_code == 201
    created = response.json()
    assert "password" not in created and "password_encrypted" not in created
    assert created["has_password"] is True
    assert created["address"] == "https://quay.example.com"  # https:// is the default scheme
    assert created["registry_host"] == "quay.example.com"
    listing = world.client("charlie").get(SECRETS).content.decode()
    detail = world.client("charlie").get(f"{SECRETS}quay/").content.decode()
    assert "tok-123456" not in listing + detail
    assert "s3cret-hub-password" not in listing


def test_update_without_password_keeps_the_stored_one(world: World) -> None:
    body = {"email": "ci@example.test"}
    response = world.client("oscar").patch(f"{SECRETS}hub/", body, format="json")
    assert response.status_code == 200
    hub = RegistrySecret.objects.get(project=world.shop, name="hub")
    assert (hub.email, hub.password) == ("ci@example.test", "s3cret-hub-password")


def test_update_with_password_replaces_it(world: World) -> None:
    world.client("oscar").patch(f"{SECRETS}hub/", {"password": "rotated-1"}, format="json")
    assert RegistrySecret.objects.get(project=world.shop, name="hub").password == "rotated-1"


def test_a_new_default_takes_over_from_the_old_one(world: World) -> None:
    response = post_secret(world, name="quay", address="https://quay.example.com", is_default=True)
    assert response.status_code == 201, response.content
    defaults = RegistrySecret.objects.filter(project=world.shop, is_default=True)
    assert [secret.name for secret in defaults] == ["quay"]


def test_http_address_is_kept_as_an_insecure_registry(world: World) -> None:
    assert post_secret(world, name="local", address="http://127.0.0.1:5000").status_code == 201
    secret = RegistrySecret.objects.get(project=world.shop, name="local")
    assert (secret.scheme, secret.insecure, secret.registry_host) == (
        "http",
        True,
        "127.0.0.1:5000",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad_Name", "address": "https://r.example.com"}, "name"),
        ({"name": "x" * 64, "address": "https://r.example.com"}, "name"),
        ({"name": "ok", "address": "ftp://r.example.com"}, "address"),
        ({"name": "ok", "address": "https://r.example.com:99999"}, "address"),
        ({"name": "ok", "address": "http://[::1"}, "address"),  # urlsplit raises ValueError
        ({"name": "ok", "address": "https://r.example.com", "email": "nope"}, "email"),
        ({"name": "ok", "address": "https://r.example.com", "ca_bundle": "garbage"}, "ca_bundle"),
        ({"address": "https://r.example.com"}, "name"),
        (
            {
                "name": "ok",
                "address": "https://r.example.com",
                "ca_bundle": "-----BEGIN CERTIFICATE-----\n" + "A" * 70_000,
            },
            "ca_bundle",
        ),
        ({"name": "ok", "address": "https://r.example.com", "password": "p" * 20_000}, "password"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    world: World, body: dict[str, Any], field: str
) -> None:
    response = post_secret(world, **body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "validation:invalid"
    assert field in error["fields"]
    assert error["message"]


def test_duplicate_name_is_a_409(world: World) -> None:
    response = post_secret(world, name="hub", address="https://r.example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "secret:name-taken"


def test_malformed_json_is_a_400(world: World) -> None:
    response = world.client("oscar").generic(
        "POST", SECRETS, "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "request:malformed"


def test_password_never_reaches_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    address = f"http://127.0.0.1:{free_port()}"
    post_secret(world, name="down", address=address, username="u", password="pw-in-logs?")
    world.client("oscar").post(f"{SECRETS}down/validate/", {}, format="json")
    assert "pw-in-logs?" not in caplog.text


def test_unknown_secret_is_a_404_with_json(world: World) -> None:
    response = world.client("charlie").get(f"{SECRETS}nope/")
    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not-found"
