"""Secrets never reach the audit table: registry passwords and CA bundles, API tokens, trigger
tokens and kubeconfigs, sent through the API, the admin and a management command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEntry
from tests.audit.conftest import World
from tests.fixtures.celery_worker import point_celery_at

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "/api/v1/workspaces/acme/projects/shop"
REGISTRY_PASSWORD = "Registry-Pa55word-9f1c"
NEW_PASSWORD = "Rotated-Pa55word-77aa"
PROBE_PASSWORD = "Probe-Pa55word-e3e3"
ADMIN_PASSWORD = "Admin-Form-Pa55-4242"
USER_PASSWORD = "New-User-Pa55-0d0d"
TRIGGER_TOKEN = "TriggerTokenSecret0123456789"
CA_BUNDLE = "-----BEGIN CERTIFICATE-----\nMIIsecretish\n-----END CERTIFICATE-----\n"
KUBE_TOKEN = "kube-bearer-token-5ec7e7"


def audit_table_text() -> str:
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def test_secret_values_appear_nowhere_in_the_audit_table(
    world: World, media_root: Path, busybox: Path, redis_url: str, tmp_path: Path
) -> None:
    point_celery_at(redis_url)
    alice = world.client("alice")
    secret = {"name": "hub", "address": "http://127.0.0.1:9", "username": "ci"}
    created = alice.post(
        f"{SHOP}/registrysecrets/",
        {**secret, "password": REGISTRY_PASSWORD, "ca_bundle": CA_BUNDLE},
        format="json",
    )
    assert created.status_code == 201, created.content
    updated = alice.patch(f"{SHOP}/registrysecrets/hub/", {"password": NEW_PASSWORD}, format="json")
    assert updated.status_code == 200, updated.content
    probe = {"address": "http://127.0.0.1:9", "username": "ci", "password": PROBE_PASSWORD}
    assert alice.post(f"{SHOP}/registryprobe/", probe, format="json").status_code == 200
    token = alice.post("/api/v1/tokens/", {"name": "ci"}, format="json")
    assert token.status_code == 201
    raw_token = token.json()["token"]
    with busybox.open("rb") as handle:
        builder = alice.post(
            f"{SHOP}/imagebuilders/",
            {
                "name": "hello",
                "artifact_kind": "binary",
                "environment": "binary-debian",
                "image_name": "demo/hello",
                "registry_secret": "hub",
                "trigger_token": TRIGGER_TOKEN,
                "environment_parameters": json.dumps({"JAVA_OPTS": "-Dpw=" + REGISTRY_PASSWORD}),
                "file": handle,
            },
            format="multipart",
        )
    assert builder.status_code == 201, builder.content
    generated = alice.patch(
        f"{SHOP}/imagebuilders/hello/", {"generate_trigger_token": True}, format="json"
    )
    assert generated.status_code == 200, generated.content
    generated_token = generated.json()["trigger_token"]
    admin_changes(world)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kubeconfig_with_token()))
    call_command("configure_cluster", "--kubeconfig", str(kubeconfig))

    assert AuditEntry.objects.count() >= 9
    text = audit_table_text()
    for value in (
        REGISTRY_PASSWORD,
        NEW_PASSWORD,
        PROBE_PASSWORD,
        ADMIN_PASSWORD,
        USER_PASSWORD,
        raw_token,
        TRIGGER_TOKEN,
        generated_token,
        "MIIsecretish",
        KUBE_TOKEN,
    ):
        assert value and value not in text


def admin_changes(world: World) -> None:
    """A registry secret's password set in the admin, and a user created with a password."""
    client = Client()
    client.force_login(world.users["root"])
    secret_id = world.secret.pk
    form = {
        "project": world.shop.pk,
        "name": "local",
        "address": world.secret.address,
        "username": "",
        "new_password": ADMIN_PASSWORD,
        "email": "",
        "ca_bundle": "",
    }
    answer = client.post(f"/admin/projects/registrysecret/{secret_id}/change/", form)
    assert answer.status_code == 302, answer.content[:2000]
    created = client.post(
        "/admin/auth/user/add/",
        {"username": "newbie", "password1": USER_PASSWORD, "password2": USER_PASSWORD},
    )
    assert created.status_code == 302, created.content[:2000]


def kubeconfig_with_token() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": KUBE_TOKEN}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
