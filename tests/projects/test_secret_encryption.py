"""Registry passwords are encrypted at rest, rotate between keys, fail clearly on a wrong key."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from projects.crypto import SecretDecryptionError, SecretKeysMisconfigured, encrypt_text
from projects.models import RegistrySecret, render_dockerconfigjson
from tests.projects.conftest import World

PLAINTEXT = "s3cret-hub-password"


def raw_password_column(secret: RegistrySecret) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password_encrypted FROM projects_registrysecret WHERE id = %s", [secret.pk]
        )
        return cursor.fetchone()[0]


def fresh_secret(secret: RegistrySecret) -> RegistrySecret:
    return RegistrySecret.objects.get(pk=secret.pk)


@pytest.fixture
def hub(world: World) -> RegistrySecret:
    return RegistrySecret.objects.get(project=world.shop, name="hub")


def test_raw_column_holds_no_plaintext(hub: RegistrySecret) -> None:
    raw = raw_password_column(hub)
    assert PLAINTEXT not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token (version byte 0x80, base64)
    assert fresh_secret(hub).password == PLAINTEXT


def test_no_table_column_anywhere_holds_the_plaintext(hub: RegistrySecret) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM projects_registrysecret")
        rows = cursor.fetchall()
    assert rows
    assert not any(PLAINTEXT in str(value) for row in rows for value in row)


def test_rotation_re_encrypts_every_row_with_the_new_first_key(hub: RegistrySecret) -> None:
    old_key = list(settings.B2I_SECRET_KEYS)
    new_key = Fernet.generate_key().decode()
    before = raw_password_column(hub)
    with override_settings(B2I_SECRET_KEYS=[new_key, *old_key]):
        out = StringIO()
        call_command("rotate_secret_keys", stdout=out)
        assert "re-encrypted 1 secret(s)" in out.getvalue()
    after = raw_password_column(hub)
    assert after != before
    # The old key alone can no longer read it; the new key alone can.
    with override_settings(B2I_SECRET_KEYS=old_key), pytest.raises(SecretDecryptionError):
        _ = fresh_secret(hub).password
    with override_settings(B2I_SECRET_KEYS=[new_key]):
        assert fresh_secret(hub).password == PLAINTEXT


def test_a_wrong_key_gives_a_clear_error_not_garbage(hub: RegistrySecret) -> None:
    with override_settings(B2I_SECRET_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(SecretDecryptionError) as caught:
            _ = fresh_secret(hub).password
        assert caught.value.code == "secret:undecryptable"
        assert "B2I_SECRET_KEYS" in caught.value.message


def test_rotation_with_a_wrong_key_changes_nothing(hub: RegistrySecret) -> None:
    before = raw_password_column(hub)
    wrong_key = [Fernet.generate_key().decode()]
    with (
        override_settings(B2I_SECRET_KEYS=wrong_key),
        pytest.raises(CommandError, match="cannot be decrypted"),
    ):
        call_command("rotate_secret_keys", stdout=StringIO())
    assert raw_password_column(hub) == before


def test_api_reports_an_undecryptable_secret_as_a_clear_4xx(world: World) -> None:
    api = world.client("bob")
    url = "/api/v1/workspaces/acme/projects/shop/registrysecrets/hub/validate/"
    with override_settings(B2I_SECRET_KEYS=[Fernet.generate_key().decode()]):
        response = api.post(url, {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "secret:undecryptable"


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_missing_or_malformed_keys_are_named(keys: list[str]) -> None:
    with override_settings(B2I_SECRET_KEYS=keys), pytest.raises(SecretKeysMisconfigured) as caught:
        encrypt_text("x")
    assert "B2I_SECRET_KEYS" in str(caught.value)


def test_dockerconfigjson_renders_auths_with_basic_auth(world: Any, hub: RegistrySecret) -> None:
    hub.email = "ci@example.test"
    rendered = render_dockerconfigjson([hub])
    entry = rendered["auths"]["127.0.0.1:9"]
    assert entry == {
        "username": "ci",
        "password": PLAINTEXT,
        "email": "ci@example.test",
        "auth": "Y2k6czNjcmV0LWh1Yi1wYXNzd29yZA==",  # base64("ci:s3cret-hub-password")
    }


def test_dockerconfigjson_uses_the_conventional_docker_hub_key(world: World) -> None:
    secret = RegistrySecret(project=world.shop, name="dh", address="docker.io", username="u")
    secret.password = "p"
    assert list(render_dockerconfigjson([secret])["auths"]) == ["https://index.docker.io/v1/"]
