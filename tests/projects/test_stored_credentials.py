"""A stored registry password is only ever sent to the address and username it was saved for.

The secret is saved for a real htpasswd registry; a second loopback server (the "attacker")
answers every request with a Basic challenge and records the Authorization headers it gets.
Whatever an operator does through the API (probe, PATCH then validate), the recorder must never
receive the stored password.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from projects.models import RegistrySecret
from tests.fixtures.registry import Registry
from tests.projects.conftest import World

PROJECT = "/api/v1/workspaces/acme/projects/shop/"
SECRETS = PROJECT + "registrysecrets/"
STORED_PASSWORD = "alice-secret"  # the htpasswd fixture's password of alice


class Recorder:
    """A loopback HTTP server that asks for Basic auth and keeps every Authorization header."""

    def __init__(self) -> None:
        self.headers: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.headers.append(self.headers.get("Authorization", ""))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="recorder"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def received_password(self, password: str) -> bool:
        return any(password in decode_basic(header) for header in self.headers)


def decode_basic(header: str) -> str:
    if not header.lower().startswith("basic "):
        return header
    return base64.b64decode(header.split(" ", 1)[1]).decode(errors="replace")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def saved(world: World, htpasswd_registry: Registry) -> RegistrySecret:
    body = {
        "name": "harbor",
        "address": htpasswd_registry.url,
        "username": "alice",
        "password": STORED_PASSWORD,
    }
    response = world.client("oscar").post(SECRETS, body, format="json")
    assert response.status_code == 201, response.content
    return RegistrySecret.objects.get(name="harbor")


def post(world: World, url: str, body: dict[str, Any]) -> Any:
    return world.client("oscar").post(url, body, format="json")


def test_probe_of_another_address_without_password_is_refused(
    world: World, saved: RegistrySecret, recorder: Recorder
) -> None:
    body = {"name": "harbor", "address": recorder.url, "username": "alice"}
    response = post(world, PROJECT + "registryprobe/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "secret:password-required"
    assert not recorder.received_password(STORED_PASSWORD)


@pytest.mark.parametrize(
    "change",
    [{"username": "bob"}, {"skip_tls_verify": True}],
    ids=["other-username", "tls-verification-off"],
)
def test_probe_with_another_username_or_looser_tls_needs_the_password(
    world: World, saved: RegistrySecret, change: dict[str, Any]
) -> None:
    body = {"name": "harbor", "address": saved.address, "username": "alice", **change}
    response = post(world, PROJECT + "registryprobe/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "secret:password-required"


def test_probe_of_the_unchanged_address_reuses_the_stored_password(
    world: World, saved: RegistrySecret
) -> None:
    body = {"name": "harbor", "address": saved.address, "username": "alice"}
    response = post(world, PROJECT + "registryprobe/", body)
    assert response.status_code == 200, response.content
    assert response.json()["login_ok"] is True


def test_patching_the_address_without_password_is_refused_and_validate_stays_home(
    world: World, saved: RegistrySecret, recorder: Recorder
) -> None:
    patch = world.client("oscar").patch(
        SECRETS + "harbor/", {"address": recorder.url}, format="json"
    )
    assert patch.status_code == 400
    assert patch.json()["code"] == "secret:password-required"
    saved.refresh_from_db()
    assert saved.address != recorder.url
    report = post(world, SECRETS + "harbor/validate/", {"repository": "shop/app"})
    assert report.status_code == 200
    assert report.json()["login_ok"] is True  # still the real registry
    assert not recorder.received_password(STORED_PASSWORD)


def test_patching_the_username_without_password_is_refused(
    world: World, saved: RegistrySecret
) -> None:
    patch = world.client("oscar").patch(SECRETS + "harbor/", {"username": "bob"}, format="json")
    assert patch.status_code == 400
    assert patch.json()["code"] == "secret:password-required"


def test_patching_the_address_with_a_new_password_sends_only_that_one(
    world: World, saved: RegistrySecret, recorder: Recorder
) -> None:
    body = {"address": recorder.url, "password": "new-one"}
    patch = world.client("oscar").patch(SECRETS + "harbor/", body, format="json")
    assert patch.status_code == 200, patch.content
    report = post(world, SECRETS + "harbor/validate/", {"repository": "shop/app"})
    assert report.status_code == 200
    assert recorder.received_password("new-one")
    assert not recorder.received_password(STORED_PASSWORD)


def test_patching_other_fields_keeps_the_stored_password(
    world: World, saved: RegistrySecret
) -> None:
    body = {"address": saved.address, "email": "ops@example.test", "is_default": True}
    patch = world.client("oscar").patch(SECRETS + "harbor/", body, format="json")
    assert patch.status_code == 200, patch.content
    saved.refresh_from_db()
    assert saved.password == STORED_PASSWORD
