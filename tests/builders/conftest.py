"""A small world for the pipeline tests: workspace acme, project shop, personas per role."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from django.contrib.auth.models import User
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from b2i.packaging.environments import get_environment
from b2i_console.redis_options import channel_layers
from builders import services
from builders.models import Artifact, BuildEnvironment, ImageBuilder
from projects.models import Project, ProjectMembership, RegistrySecret, Workspace
from tests.fixtures.base_images import BaseImage
from tests.fixtures.celery_worker import CeleryWorker, point_celery_at
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry

# persona -> role in project "shop" (charlie is operator of another project, "lab")
PERSONAS = {"alice": "admin", "olga": "operator", "victor": "viewer"}


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    shop: Project | None = None
    lab: Project | None = None
    secret: RegistrySecret | None = None

    def client(self, persona: str) -> APIClient:
        api = APIClient()
        if persona != "anonymous":
            api.force_authenticate(self.users[persona])
        return api

    @property
    def project(self) -> Project:
        assert self.shop is not None
        return self.shop


def make_world(registry_address: str) -> World:
    world = World()
    acme = Workspace.objects.create(name="acme")
    world.shop = Project.objects.create(workspace=acme, name="shop")
    world.lab = Project.objects.create(workspace=acme, name="lab")
    for name, role in PERSONAS.items():
        world.users[name] = User.objects.create_user(name)
        ProjectMembership.objects.create(project=world.shop, user=world.users[name], role=role)
    world.users["charlie"] = User.objects.create_user("charlie")
    ProjectMembership.objects.create(project=world.lab, user=world.users["charlie"], role="admin")
    world.secret = RegistrySecret(project=world.shop, name="local", address=registry_address)
    world.secret.password = ""
    world.secret.save()
    return world


@pytest.fixture
def world(db: None) -> World:
    """Personas and a registry secret pointing at a closed port (no build reaches it)."""
    return make_world("http://127.0.0.1:9")


@pytest.fixture
def channel_layer_on_redis(settings: Any, redis_url: str) -> str:
    """Use the test Redis for the channel layer (as the worker does) and as Celery's broker."""
    settings.CHANNEL_LAYERS = channel_layers(redis_url)  # as the worker
    point_celery_at(redis_url)
    return redis_url


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def busybox(tmp_path: Path) -> Path:
    """A real static Linux binary (busybox-static)."""
    target = tmp_path / "busybox"
    shutil.copyfile("/bin/busybox", target)
    return target


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_artifact(project: Project, path: Path, kind: str = "binary") -> Artifact:
    """Store a file as an artifact the way an upload does (inspected, deduplicated)."""
    from builders.artifacts.uploads import store_artifact

    return store_artifact(
        project,
        None,
        path,
        file_name=path.name,
        sha256=sha256_of(path),
        size=path.stat().st_size,
        expected_kind=kind,
    ).artifact


def make_builder(
    world: World, artifact: Artifact, name: str = "hello", **extra: Any
) -> ImageBuilder:
    environment = BuildEnvironment.objects.get(name=extra.pop("environment", "binary-debian"))
    return ImageBuilder.objects.create(
        project=world.project,
        name=name,
        artifact_kind=artifact.kind,
        environment=environment,
        image_name=extra.pop("image_name", f"demo/{name}"),
        registry_secret=extra.pop("registry_secret", world.secret),
        artifact=artifact,
        **extra,
    )


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record enqueued run ids instead of sending them to a worker."""
    sent: list[int] = []
    monkeypatch.setattr(services, "enqueue_run", lambda run: sent.append(run.pk))
    monkeypatch.setattr(services, "enqueue_run_again", lambda run: sent.append(run.pk))
    monkeypatch.setattr(services, "revoke_task", lambda task_id: None)
    return sent


def busybox_environment(base: str, name: str = "busybox-test") -> BuildEnvironment:
    """A custom environment (as an admin adds one) on a base image in the test registry."""
    spec = get_environment("binary-debian").as_dict()
    for key in ("name", "title", "base_image", "artifact_kinds"):
        spec.pop(key)
    return BuildEnvironment.objects.create(
        name=name, title="Busybox (test)", base_image=base, artifact_kinds=["binary"], spec=spec
    )


@pytest.fixture
def pipeline(
    registry: Registry,
    busybox_base: BaseImage,
    celery_worker: CeleryWorker,
    channel_layer_on_redis: str,
) -> World:
    world = make_world(registry.url)
    busybox_environment(busybox_base.tagged)
    return world


S3_KEYS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@pytest.fixture
def s3_bucket(settings: Any, media_root: Path) -> Iterator[Any]:
    """An S3 API server on loopback with one bucket; default storage points at it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets in this process, across servers: start every test empty.
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="artifacts")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "artifacts",
                "endpoint_url": endpoint,
                "file_overwrite": False,  # as b2i_console.settings configures it
                **S3_KEYS,
            },
        },
    }
    yield client
    server.stop()
