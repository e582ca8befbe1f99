"""The audit coverage walk's steps: one per state-changing operation of the API, in an order
that makes each one's object exist (tests/audit/test_coverage.py performs them). A new
state-changing endpoint needs a Step here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.audit.conftest import sha256_of

V1 = "/api/v1"
SHOP = f"{V1}/workspaces/acme/projects/shop"
TRIGGER_TOKEN = "Tr1ggerToken" * 2
SERVICE_SPEC = {
    "name": "web",
    "replicas": 1,
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
    "external_access": "NodePort",
    "context_path": "web",
}
ENVIRONMENT = {
    "name": "company-jre",
    "title": "Company JRE 17",
    "base_image": "registry.example.com/base/jre:17",
    "artifact_kinds": ["jar"],
    "spec": {"placement": "/srv/app.jar", "cmd": ["java", "-jar", "/srv/app.jar"], "port": 8080},
}


@dataclass
class Step:
    method: str
    schema_path: str
    action: str
    persona: str
    url: Callable[[dict[str, Any]], str] | str
    body: Callable[[dict[str, Any]], dict[str, Any]] | dict[str, Any] | None = None
    format: str = "json"
    headers: dict[str, str] | None = None
    remember: Callable[[dict[str, Any], dict[str, Any]], None] | None = None


def binary_file(state: dict[str, Any]) -> dict[str, Any]:
    return {"file": Path(state["busybox"]).open("rb")}


def upload_begin(state: dict[str, Any]) -> dict[str, Any]:
    path = Path(state["busybox"])
    return {"file_name": "tool", "size": path.stat().st_size, "sha256": sha256_of(path)}


def builder_create(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "hello",
        "artifact_kind": "binary",
        "environment": "binary-debian",
        "image_name": "demo/hello",
        "registry_secret": "local",
        "trigger_token": TRIGGER_TOKEN,
        **binary_file(state),
    }


BUILDER_UPDATE = {
    "environment": "binary-debian",
    "image_name": "demo/hello2",
    "registry_secret": "local",
    "tag": "v2",
}
SECRET = {"name": "hub", "address": "http://127.0.0.1:9", "username": "ci", "password": "pw-1"}

STEPS = [
    Step(
        "POST",
        "/buildenvironments/",
        "environment.create",
        "root",
        "/buildenvironments/",
        ENVIRONMENT,
    ),
    Step(
        "PUT",
        "/buildenvironments/{name}/",
        "environment.update",
        "root",
        "/buildenvironments/company-jre/",
        {**ENVIRONMENT, "title": "Company JRE"},
    ),
    Step(
        "PATCH",
        "/buildenvironments/{name}/",
        "environment.update",
        "root",
        "/buildenvironments/company-jre/",
        {"enabled": False},
    ),
    Step(
        "DELETE",
        "/buildenvironments/{name}/",
        "environment.delete",
        "root",
        "/buildenvironments/company-jre/",
    ),
    Step(
        "POST",
        "/tokens/",
        "token.create",
        "alice",
        "/tokens/",
        {"name": "ci"},
        remember=lambda s, d: s.update(token=d["id"]),
    ),
    Step(
        "DELETE", "/tokens/{token_id}/", "token.delete", "alice", lambda s: f"/tokens/{s['token']}/"
    ),
    Step("POST", "/workspaces/", "workspace.create", "root", "/workspaces/", {"name": "beta"}),
    Step(
        "PUT",
        "/workspaces/{workspace}/quota/",
        "quota.update",
        "root",
        "/workspaces/beta/quota/",
        {"max_concurrent_builds": 2, "max_artifact_bytes": None, "max_builders": 10},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/quota/",
        "quota.update",
        "root",
        "/workspaces/beta/quota/",
        {"max_builders": 20},
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/",
        "workspace.update",
        "root",
        "/workspaces/beta/",
        {"alias": "Beta", "description": "d"},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/",
        "workspace.update",
        "root",
        "/workspaces/beta/",
        {"alias": "B"},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/members/",
        "member.add",
        "alice",
        "/workspaces/acme/members/",
        {"username": "pete", "role": "workspace-regular"},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/members/{username}/",
        "member.update",
        "alice",
        "/workspaces/acme/members/pete/",
        {"role": "workspace-viewer"},
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/members/{username}/",
        "member.remove",
        "alice",
        "/workspaces/acme/members/pete/",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/",
        "project.create",
        "alice",
        "/workspaces/acme/projects/",
        {"name": "extra"},
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/projects/{project}/",
        "project.update",
        "alice",
        "/workspaces/acme/projects/extra/",
        {"alias": "Extra", "description": ""},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/projects/{project}/",
        "project.update",
        "alice",
        "/workspaces/acme/projects/extra/",
        {"alias": "X"},
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/",
        "project.delete",
        "alice",
        "/workspaces/acme/projects/extra/?confirm=extra",
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/",
        "workspace.delete",
        "root",
        "/workspaces/beta/?confirm=beta",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/members/",
        "member.add",
        "alice",
        "/workspaces/acme/projects/shop/members/",
        {"username": "walt", "role": "viewer"},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/projects/{project}/members/{username}/",
        "member.update",
        "alice",
        "/workspaces/acme/projects/shop/members/walt/",
        {"role": "operator"},
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/members/{username}/",
        "member.remove",
        "alice",
        "/workspaces/acme/projects/shop/members/walt/",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/registrysecrets/",
        "secret.create",
        "alice",
        "/workspaces/acme/projects/shop/registrysecrets/",
        SECRET,
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/projects/{project}/registrysecrets/{name}/",
        "secret.update",
        "alice",
        "/workspaces/acme/projects/shop/registrysecrets/hub/",
        {**SECRET, "password": "pw-2"},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/projects/{project}/registrysecrets/{name}/",
        "secret.update",
        "alice",
        "/workspaces/acme/projects/shop/registrysecrets/hub/",
        {"email": "ci@example.test"},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/registrysecrets/{name}/validate/",
        "secret.validate",
        "alice",
        "/workspaces/acme/projects/shop/registrysecrets/hub/validate/",
        {},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/registryprobe/",
        "secret.probe",
        "alice",
        "/workspaces/acme/projects/shop/registryprobe/",
        {"address": "http://127.0.0.1:9", "username": "ci", "password": "pw-3"},
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/registrysecrets/{name}/",
        "secret.delete",
        "alice",
        "/workspaces/acme/projects/shop/registrysecrets/hub/",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/artifacts/",
        "artifact.upload",
        "alice",
        "/workspaces/acme/projects/shop/artifacts/",
        binary_file,
        "multipart",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/uploads/",
        "upload.begin",
        "alice",
        "/workspaces/acme/projects/shop/uploads/",
        upload_begin,
        remember=lambda s, d: s.update(upload=d["id"]),
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/",
        "builder.create",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/",
        builder_create,
        "multipart",
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/",
        "builder.update",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/hello/",
        BUILDER_UPDATE,
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/",
        "builder.update",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/hello/",
        {"alias": "Hello"},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/run/",
        "run.start",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/hello/run/",
        {"tag": "v3"},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/runs/{number}/cancel/",
        "run.cancel",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/hello/runs/2/cancel/",
        {},
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/imagebuilders/{name}/",
        "builder.delete",
        "alice",
        "/workspaces/acme/projects/shop/imagebuilders/doomed/",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/services/preview/",
        "service.preview",
        "alice",
        "/workspaces/acme/projects/shop/services/preview/",
        {"builder": "web", "spec": SERVICE_SPEC},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/services/",
        "service.create",
        "alice",
        "/workspaces/acme/projects/shop/services/",
        {"builder": "web", "spec": SERVICE_SPEC},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/services/{name}/rollback/",
        "service.rollback",
        "alice",
        "/workspaces/acme/projects/shop/services/web/rollback/",
        {"run": 1},
    ),
    Step(
        "POST",
        "/group-mappings/",
        "group_mapping.create",
        "root",
        "/group-mappings/",
        {"provider": "ldap", "group": "devs", "workspace": "acme", "role": "workspace-regular"},
        remember=lambda s, d: s.update(mapping=d["id"]),
    ),
    Step(
        "PUT",
        "/group-mappings/{id}/",
        "group_mapping.update",
        "root",
        lambda s: f"/group-mappings/{s['mapping']}/",
        {"provider": "ldap", "group": "devs", "workspace": "acme", "role": "workspace-viewer"},
    ),
    Step(
        "PATCH",
        "/group-mappings/{id}/",
        "group_mapping.update",
        "root",
        lambda s: f"/group-mappings/{s['mapping']}/",
        {"group": "developers"},
    ),
    Step(
        "DELETE",
        "/group-mappings/{id}/",
        "group_mapping.delete",
        "root",
        lambda s: f"/group-mappings/{s['mapping']}/",
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/notifications/channels/",
        "channel.create",
        "alice",
        "/workspaces/acme/projects/shop/notifications/channels/",
        lambda s: {"name": "ci", "kind": "webhook", "url": s["hook"], "secret": "hook-s3cret"},
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/projects/{project}/notifications/channels/{name}/",
        "channel.update",
        "alice",
        "/workspaces/acme/projects/shop/notifications/channels/ci/",
        lambda s: {"url": s["hook"], "build_events": "all", "rollout_events": True},
    ),
    Step(
        "PATCH",
        "/workspaces/{workspace}/projects/{project}/notifications/channels/{name}/",
        "channel.update",
        "alice",
        "/workspaces/acme/projects/shop/notifications/channels/ci/",
        {"rollout_events": False},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/notifications/channels/{name}/test/",
        "channel.test",
        "alice",
        "/workspaces/acme/projects/shop/notifications/channels/ci/test/",
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/notifications/channels/{name}/",
        "channel.delete",
        "alice",
        "/workspaces/acme/projects/shop/notifications/channels/ci/",
    ),
    Step(
        "PUT",
        "/workspaces/{workspace}/projects/{project}/notifications/subscription/",
        "subscription.update",
        "alice",
        "/workspaces/acme/projects/shop/notifications/subscription/",
        {"build_events": "failed", "rollout_events": True},
    ),
    Step(
        "POST",
        "/workspaces/{workspace}/projects/{project}/notifications/subscription/test/",
        "subscription.test",
        "alice",
        "/workspaces/acme/projects/shop/notifications/subscription/test/",
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/notifications/subscription/",
        "subscription.delete",
        "alice",
        "/workspaces/acme/projects/shop/notifications/subscription/",
    ),
    Step(
        "DELETE",
        "/workspaces/{workspace}/projects/{project}/services/{name}/",
        "service.delete",
        "alice",
        "/workspaces/acme/projects/shop/services/web/",
    ),
]
