"""THE audit coverage test: every state-changing operation of the OpenAPI schema (drf-spectacular's
generated schema: every POST, PUT, PATCH and DELETE), performed with valid data by a user allowed
to, writes exactly one audit entry - a success, with the expected action, actor, scope, address
and user agent. An operation added to the API without a step here fails the test (the walk must
cover the schema exactly), and so does one that writes no entry or more than one.

Real parts: PostgreSQL, the test Redis as Celery's broker (runs are really queued; no worker takes
them - building is not what is audited), the test Kubernetes API server (tests/fixtures) for the
services, real artifact bytes (busybox) inspected and stored. The registry secret points at a
closed loopback port: validate/probe answer their report of an unreachable registry (200).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from audit.models import AuditEntry
from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder
from tests.audit.audit_steps import (
    SHOP,
    STEPS,
    TRIGGER_TOKEN,
    V1,
    Step,
    builder_create,
    upload_begin,
)
from tests.audit.conftest import World, entries_after, last_entry_pk, sha256_of
from tests.fixtures.celery_worker import point_celery_at
from tests.fixtures.webhook_receiver import WebhookReceiver
from workloads.models import Cluster

pytestmark = pytest.mark.django_db(transaction=True)

# The chunked upload's steps send raw bytes; the trigger has no user (its token is the key).
UPLOAD_PATCH = ("PATCH", "/workspaces/{workspace}/projects/{project}/uploads/{upload}/")
UPLOAD_COMPLETE = ("POST", "/workspaces/{workspace}/projects/{project}/uploads/{upload}/complete/")
UPLOAD_DELETE = ("DELETE", "/workspaces/{workspace}/projects/{project}/uploads/{upload}/")
TRIGGER = ("POST", "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/trigger/")
SPECIAL = {UPLOAD_PATCH, UPLOAD_COMPLETE, UPLOAD_DELETE, TRIGGER}


def state_changing_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path.removeprefix(V1))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }


def test_the_walk_covers_every_state_changing_operation_of_the_schema() -> None:
    walked = {(step.method, step.schema_path) for step in STEPS} | SPECIAL
    operations = state_changing_operations()
    assert len(operations) >= 40  # the schema was read
    assert operations - walked == set(), "operations with no step in the audit coverage walk"
    assert walked - operations == set(), "steps for operations the schema does not have"


@pytest.fixture
def services_setup(world: World, kube_apiserver: Any, media_root: Path, busybox: Path) -> None:
    """A cluster (the test API server), builder web with successful run 1, builder doomed."""
    cluster = Cluster(name="default")
    cluster.kubeconfig = yaml.safe_dump(kube_apiserver.kubeconfig())
    cluster.save()
    artifact = Artifact.objects.create(
        project=world.shop,
        file_name="tool",
        size=busybox.stat().st_size,
        sha256=sha256_of(busybox),
        kind="binary",
        storage_key="artifacts/none",
    )
    environment = BuildEnvironment.objects.get(name="binary-debian")
    for name in ("web", "doomed"):
        ImageBuilder.objects.create(
            project=world.shop,
            name=name,
            artifact_kind="binary",
            environment=environment,
            image_name=f"demo/{name}",
            registry_secret=world.secret,
            artifact=artifact,
            next_run_number=2,
        )
    BuildRun.objects.create(
        builder=ImageBuilder.objects.get(name="web"),
        number=1,
        tag="latest",
        state="successful",
        digest="sha256:" + "ab" * 32,
        image_reference="127.0.0.1:9/demo/web:latest",
    )


def perform(world: World, step: Step, state: dict[str, Any]) -> Any:
    url = V1 + (step.url(state) if callable(step.url) else step.url)
    body = step.body(state) if callable(step.body) else step.body
    client = world.client(step.persona)
    call = getattr(client, step.method.lower())
    return call(url, body, format=step.format, **(step.headers or {}))


def check_one_entry(before: int, action: str, response: Any, label: str) -> AuditEntry:
    assert response.status_code < 400, (label, response.status_code, response.content[:500])
    written = entries_after(before)
    assert len(written) == 1, (label, [(e.action, e.result) for e in written])
    entry = written[0]
    assert (entry.action, entry.result) == (action, "success"), label
    return entry


@pytest.fixture
def hook() -> Iterator[str]:
    """A loopback webhook receiver: the channel's test is really sent."""
    with WebhookReceiver() as receiver:
        yield receiver.url()


def test_every_state_changing_operation_writes_exactly_one_entry(
    world: World, services_setup: None, busybox: Path, redis_url: str, hook: str
) -> None:
    point_celery_at(redis_url)  # runs are queued for real (nobody builds them here)
    state: dict[str, Any] = {"busybox": str(busybox), "hook": hook}
    done: list[str] = []
    for step in STEPS:
        label = f"{step.method} {step.schema_path}"
        before = last_entry_pk()
        response = perform(world, step, state)
        entry = check_one_entry(before, step.action, response, label)
        assert entry.source_ip == "192.0.2.7" and entry.user_agent == "audit-test/1.0", label
        assert entry.actor_name == step.persona and entry.actor_kind == "user", label
        if step.remember is not None:
            step.remember(state, response.json())
        done.append(label)
        if step.action == "upload.begin":
            walk_chunked_upload(world, state, busybox)
            done += [f"{m} {p}" for m, p in (UPLOAD_PATCH, UPLOAD_COMPLETE, UPLOAD_DELETE)]
        if step.action == "builder.create":
            walk_trigger(world)
            done.append(f"{TRIGGER[0]} {TRIGGER[1]}")
    assert len(done) == len(STEPS) + len(SPECIAL)


def walk_chunked_upload(world: World, state: dict[str, Any], busybox: Path) -> None:
    uploads = f"{SHOP}/uploads/"
    alice = world.client("alice")
    data = busybox.read_bytes()
    before = last_entry_pk()
    chunk = alice.generic(
        "PATCH",
        f"{uploads}{state['upload']}/",
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
    )
    check_one_entry(before, "upload.append", chunk, "PATCH upload")
    before = last_entry_pk()
    done = alice.post(f"{uploads}{state['upload']}/complete/", {}, format="json")
    entry = check_one_entry(before, "upload.complete", done, "POST upload complete")
    assert entry.object_id == state["upload"]
    begun = alice.post(uploads, upload_begin(state), format="json")
    before = last_entry_pk()
    cancelled = alice.delete(f"{uploads}{begun.json()['id']}/")
    check_one_entry(before, "upload.cancel", cancelled, "DELETE upload")


def walk_trigger(world: World) -> None:
    before = last_entry_pk()
    response = world.client("alice").post(
        f"{SHOP}/imagebuilders/hello/trigger/",
        {"tag": "from-ci"},
        format="json",
        HTTP_X_B2I_TRIGGER_TOKEN=TRIGGER_TOKEN,
    )
    entry = check_one_entry(before, "run.trigger", response, "POST trigger")
    assert (entry.actor_kind, entry.channel, entry.object_repr) == ("trigger", "trigger", "hello/2")
    assert entry.project_name == "shop" and entry.workspace_name == "acme"


def test_entries_name_the_object_and_scope_and_keep_only_allowed_fields(
    world: World, busybox: Path, media_root: Path, redis_url: str
) -> None:
    point_celery_at(redis_url)
    response = world.client("alice").post(
        f"{SHOP}/imagebuilders/", builder_create({"busybox": str(busybox)}), format="multipart"
    )
    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(action="builder.create")
    assert (entry.object_type, entry.object_id) == ("builder", "hello")
    assert (entry.workspace_id, entry.project_id) == (world.acme.pk, world.shop.pk)
    assert entry.detail["file"] == "busybox" and entry.detail["image_name"] == "demo/hello"
    assert "trigger_token" not in entry.detail
    assert TRIGGER_TOKEN not in json.dumps(entry.detail)


def test_every_state_changing_operation_refused_writes_exactly_one_entry(
    world: World, services_setup: None
) -> None:
    """The same walk signed out: each refusal is recorded once (denied; the trigger's wrong
    token answers 404 like an unknown builder, so it is recorded as failed)."""
    anonymous = APIClient(REMOTE_ADDR="203.0.113.9")
    ids = {"token": 1, "mapping": 1}
    paths = {
        (step.method, step.url if isinstance(step.url, str) else step.url(ids)) for step in STEPS
    }
    paths |= {
        ("PATCH", "/workspaces/acme/projects/shop/uploads/00000000-0000-0000-0000-000000000000/"),
        ("DELETE", "/workspaces/acme/projects/shop/uploads/00000000-0000-0000-0000-000000000000/"),
        (
            "POST",
            "/workspaces/acme/projects/shop/uploads/00000000-0000-0000-0000-000000000000/complete/",
        ),
        ("POST", "/workspaces/acme/projects/shop/imagebuilders/web/trigger/"),
    }
    for method, path in sorted(paths):
        before = last_entry_pk()
        response = getattr(anonymous, method.lower())(V1 + path, {}, format="json")
        written = entries_after(before)
        assert len(written) == 1, (method, path, response.status_code, written)
        expected = "failed" if path.endswith("/trigger/") else "denied"
        assert (written[0].result, written[0].source_ip) == (expected, "203.0.113.9"), path
        assert response.status_code in (401, 403, 404), (method, path)
