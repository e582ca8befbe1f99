"""A small world for the workloads tests: project shop in workspace acme, a builder, a cluster
(the test API server), and personas per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from builders.models import BuildEnvironment, BuildRun, ImageBuilder
from projects.models import Project, ProjectMembership, RegistrySecret, Workspace
from workloads.models import Cluster

PERSONAS = {"alice": "admin", "olga": "operator", "victor": "viewer"}
REGISTRY = "http://127.0.0.1:5000"


@dataclass
class World:
    project: Project
    builder: ImageBuilder
    cluster: Cluster
    users: dict[str, User] = field(default_factory=dict)

    def client(self, persona: str) -> APIClient:
        api = APIClient()
        if persona != "anonymous":
            api.force_authenticate(self.users[persona])
        return api

    def run(self, number: int, state: str = "successful", digest: str = "") -> BuildRun:
        digest = digest or ("sha256:" + f"{number:x}" * 64)[:71]
        return BuildRun.objects.create(
            builder=self.builder,
            number=number,
            tag="latest",
            state=state,
            digest=digest if state == "successful" else "",
            image_reference="127.0.0.1:5000/demo/shop:latest" if state == "successful" else "",
        )


def make_builder(project: Project, secret: RegistrySecret, name: str = "shop", **extra: Any):
    kind = extra.pop("artifact_kind", "jar")
    environments = BuildEnvironment.objects.order_by("pk")
    if "environment" in extra:
        environments = environments.filter(name=extra.pop("environment"))
    # Filtered here: SQLite (the default without DATABASE_URL) has no JSON `contains` lookup.
    environment = next((env for env in environments if kind in env.artifact_kinds), None)
    assert environment is not None, "built-in build environments are seeded after migrate"
    return ImageBuilder.objects.create(
        project=project,
        name=name,
        artifact_kind=kind,
        environment=environment,
        image_name=f"demo/{name}",
        registry_secret=secret,
        **extra,
    )


@pytest.fixture
def world(db: None, kube_apiserver: Any) -> World:
    acme = Workspace.objects.create(name="acme")
    project = Project.objects.create(workspace=acme, name="shop")
    other = Project.objects.create(workspace=acme, name="lab")
    secret = RegistrySecret(project=project, name="local", address=REGISTRY, username="pusher")
    secret.password = "pusher-password"
    secret.save()
    cluster = Cluster(name="default")
    cluster.kubeconfig = yaml.safe_dump(kube_apiserver.kubeconfig())
    cluster.save()
    world = World(project=project, builder=make_builder(project, secret), cluster=cluster)
    for name, role in PERSONAS.items():
        world.users[name] = User.objects.create_user(name)
        ProjectMembership.objects.create(project=project, user=world.users[name], role=role)
    world.users["charlie"] = User.objects.create_user("charlie")
    ProjectMembership.objects.create(project=other, user=world.users["charlie"], role="admin")
    return world
