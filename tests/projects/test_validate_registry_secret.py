"""The Validate action against real registries: login and push are checked and reported apart."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from projects import validation
from projects.models import RegistrySecret
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.projects.conftest import World

SECRETS = "/api/v1/workspaces/acme/projects/shop/registrysecrets/"


def create_secret(world: World, name: str, address: str, **fields: Any) -> None:
    body = {"name": name, "address": address, **fields}
    response = world.client("oscar").post(SECRETS, body, format="json")
    assert response.status_code == 201, response.content


def validate(world: World, name: str, repository: str = "shop/app") -> Any:
    response = world.client("oscar").post(
        f"{SECRETS}{name}/validate/", {"repository": repository}, format="json"
    )
    return response


def validated(world: World, name: str) -> dict[str, Any]:
    response = validate(world, name)
    assert response.status_code == 200, response.content
    return response.json()


def test_open_registry_allows_login_and_push(world: World, registry: Registry) -> None:
    create_secret(world, "open", registry.url)
    report = validated(world, "open")
    assert report["login_ok"] is True
    assert report["push_ok"] is True
    assert report["repository"] == "shop/app"


def test_htpasswd_right_password_logs_in_and_may_push(
    world: World, htpasswd_registry: Registry
) -> None:
    create_secret(world, "basic", htpasswd_registry.url, username="alice", password="alice-secret")
    report = validated(world, "basic")
    assert (report["login_ok"], report["push_ok"]) == (True, True)


def test_htpasswd_wrong_password_fails_login_with_a_code(
    world: World, htpasswd_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    create_secret(world, "basic", htpasswd_registry.url, username="alice", password="wrong-pw-1")
    report = validated(world, "basic")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:auth-failed"
    assert report["push_ok"] is None
    assert "wrong-pw-1" not in caplog.text


def test_token_auth_pull_only_logs_in_but_push_is_refused(
    world: World, token_registry: Registry
) -> None:
    create_secret(world, "tok", token_registry.url, username="reader", password="reader-secret")
    report = validated(world, "tok")
    assert report["login_ok"] is True
    assert report["push_ok"] is False
    assert report["push_code"] == "registry:push-denied"
    assert "shop/app" in report["push_message"]


def test_token_auth_pusher_may_push(world: World, token_registry: Registry) -> None:
    create_secret(world, "tok", token_registry.url, username="pusher", password="pusher-secret")
    report = validated(world, "tok")
    assert (report["login_ok"], report["push_ok"]) == (True, True)


def test_unreachable_port_is_reported_not_a_500(world: World) -> None:
    create_secret(world, "down", f"http://127.0.0.1:{free_port()}")
    report = validated(world, "down")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:unreachable"
    assert report["login_message"]


def test_dns_failure_is_reported(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    create_secret(world, "nodns", "https://registry.nowhere.test")
    report = validated(world, "nodns")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:dns-failed"


def test_self_signed_tls_is_refused_by_default(world: World, tls_registry: Registry) -> None:
    create_secret(world, "tls", tls_registry.url)
    report = validated(world, "tls")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:tls"


def test_self_signed_tls_is_accepted_with_skip_verify(world: World, tls_registry: Registry) -> None:
    create_secret(world, "tls", tls_registry.url, skip_tls_verify=True)
    report = validated(world, "tls")
    assert (report["login_ok"], report["push_ok"]) == (True, True)


def test_self_signed_tls_is_accepted_with_its_ca_bundle(
    world: World, tls_registry: Registry
) -> None:
    assert tls_registry.ca_bundle is not None
    create_secret(world, "tls", tls_registry.url, ca_bundle=tls_registry.ca_bundle.read_text())
    report = validated(world, "tls")
    assert (report["login_ok"], report["push_ok"]) == (True, True)


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254",
        "https://169.254.169.254:443",
        "http://[::ffff:169.254.169.254]",
        "http://[fe80::1]:5000",
        "http://[fd00:ec2::254]",
    ],
)
def test_link_local_and_metadata_addresses_are_refused_when_saved(
    world: World, address: str
) -> None:
    response = world.client("oscar").post(
        SECRETS, {"name": "meta", "address": address}, format="json"
    )
    assert response.status_code == 400
    assert "link-local or cloud metadata" in response.json()["fields"]["address"][0]
    probe = world.client("oscar").post(
        "/api/v1/workspaces/acme/projects/shop/registryprobe/", {"address": address}, format="json"
    )
    assert probe.status_code == 400


def test_stored_metadata_address_is_refused_by_validate(world: World) -> None:
    # Rows written before the save-time check (or by hand) are still refused when contacted.
    RegistrySecret.objects.create(project=world.shop, name="meta", address="http://169.254.169.254")
    response = validate(world, "meta")
    assert response.status_code == 400
    assert response.json()["code"] == "registry:blocked-address"


def test_hostname_resolving_to_metadata_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def resolve_to_metadata(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "registry.evil.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_to_metadata)
    create_secret(world, "evil", "https://registry.evil.test")
    response = validate(world, "evil")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "registry:blocked-address"
    assert "registry.evil.test" in body["message"]


def test_a_bad_repository_name_is_a_validation_error(world: World, registry: Registry) -> None:
    create_secret(world, "open", registry.url)
    response = validate(world, "open", repository="Not/Valid!")
    assert response.status_code == 400
    assert response.json()["code"] == "validation:invalid"
    assert "repository" in response.json()["fields"]


def test_validate_is_rate_limited_per_user(world: World) -> None:
    create_secret(world, "down", f"http://127.0.0.1:{free_port()}")
    statuses = [validate(world, "down").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    assert validate(world, "down").json()["code"] == "request:throttled"


def probe(world: World, **body: Any) -> dict[str, Any]:
    response = world.client("oscar").post(
        "/api/v1/workspaces/acme/projects/shop/registryprobe/", body, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_unsaved_settings_can_be_validated_before_saving(
    world: World, htpasswd_registry: Registry
) -> None:
    good = probe(world, address=htpasswd_registry.url, username="bob", password="bob-secret")
    bad = probe(world, address=htpasswd_registry.url, username="bob", password="nope")
    assert (good["login_ok"], good["push_ok"]) == (True, True)
    assert (bad["login_ok"], bad["login_code"]) == (False, "registry:auth-failed")


def test_edit_form_validation_reuses_the_stored_password_for_its_address(
    world: World, htpasswd_registry: Registry
) -> None:
    create_secret(world, "basic", htpasswd_registry.url, username="bob", password="bob-secret")
    report = probe(world, name="basic", address=htpasswd_registry.url, username="bob")
    assert report["login_ok"] is True


class MetadataRealmRegistry(BaseHTTPRequestHandler):
    """Answers /v2/ with a Bearer challenge whose token realm is the cloud metadata service."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            'Bearer realm="http://169.254.169.254/latest/meta-data/",service="evil"',
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_token_realm_on_a_metadata_address_is_refused(world: World) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MetadataRealmRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}"
        create_secret(world, "realm", address, username="u", password="p")
        response = validate(world, "realm")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 400
    assert response.json()["code"] == "registry:blocked-address"
    assert "169.254.169.254" in response.json()["message"]


def test_private_network_not_listed_in_settings_is_refused(world: World) -> None:
    create_secret(world, "lan", "http://10.1.2.3:5000")
    response = validate(world, "lan")
    assert response.status_code == 400
    assert response.json()["code"] == "registry:blocked-address"


def test_loopback_is_refused_once_removed_from_allowed_networks(
    world: World, registry: Registry
) -> None:
    create_secret(world, "open", registry.url)
    with override_settings(B2I_ALLOWED_REGISTRY_NETWORKS=[]):
        response = validate(world, "open")
    assert response.status_code == 400
    assert "B2I_ALLOWED_REGISTRY_NETWORKS" in response.json()["message"]


def test_a_registry_that_never_answers_times_out_with_a_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "PROBE_TIMEOUT_SECONDS", 0.5)
    # A listening socket nobody reads: the TCP handshake completes, no HTTP answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        create_secret(world, "silent", f"http://127.0.0.1:{silent.getsockname()[1]}")
        report = validated(world, "silent")
    assert report["login_ok"] is False
    assert report["login_code"] == "registry:timeout"
    assert report["login_message"]
