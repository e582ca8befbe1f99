"""Every list the console's pages read costs a bounded number of queries, whatever the page size:
the same count for 20 rows as for 200 (issue 20.5: the builder list cost ~2 queries a builder)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from builders.models import Artifact, BuildEnvironment, BuildRun, ImageBuilder, RunSupplyChain
from projects.models import ProjectMembership, RegistrySecret
from tests.builders.conftest import World, make_artifact, make_builder
from workloads.models import Cluster, Service

SHOP = "/api/v1/workspaces/acme/projects/shop/"
# The most queries any of these lists may cost (session, access, count, rows, related rows).
MAX_QUERIES = 12


def add_builders(world: World, artifact: Artifact, count: int) -> None:
    """COUNT builders, each with two runs (the list shows the latest) by a user."""
    environment = BuildEnvironment.objects.get(name="binary-debian")
    olga = world.users["olga"]
    start = ImageBuilder.objects.count()
    builders = ImageBuilder.objects.bulk_create(
        ImageBuilder(
            project=world.project,
            name=f"b{start + number}",
            artifact_kind=artifact.kind,
            environment=environment,
            image_name=f"demo/b{start + number}",
            registry_secret=world.secret,
            artifact=artifact,
            created_by=olga,
        )
        for number in range(count)
    )
    BuildRun.objects.bulk_create(
        BuildRun(builder=builder, number=number, tag="latest", artifact=artifact, created_by=olga)
        for builder in builders
        for number in (1, 2)
    )


def add_runs(world: World, artifact: Artifact, count: int) -> None:
    """COUNT successful runs, each with an SBOM compared with the run before (issue 17: the
    list's one-line summary must not cost a query per run)."""
    builder = ImageBuilder.objects.get(project=world.project, name="hello")
    start = builder.runs.count()
    runs = BuildRun.objects.bulk_create(
        BuildRun(
            builder=builder,
            number=start + number + 1,
            tag="latest",
            state="successful",
            artifact=artifact,
            created_by=world.users["olga"],
        )
        for number in range(count)
    )
    RunSupplyChain.objects.bulk_create(
        RunSupplyChain(run=run, sbom=b"{}", provenance=b"{}", compared_with=previous, added=1)
        for previous, run in zip([None, *runs], runs, strict=False)
    )


def add_artifacts(world: World, artifact: Artifact, count: int) -> None:
    start = Artifact.objects.count()
    Artifact.objects.bulk_create(
        Artifact(
            project=world.project,
            storage_key=artifact.storage_key,
            file_name=f"a{start + number}",
            size=1,
            sha256=f"{start + number:064x}",
            kind=artifact.kind,
            uploaded_by=world.users["olga"],
        )
        for number in range(count)
    )


def add_secrets(world: World, artifact: Artifact, count: int) -> None:
    start = RegistrySecret.objects.count()
    for number in range(count):
        secret = RegistrySecret(
            project=world.project, name=f"s{start + number}", address="http://127.0.0.1:9"
        )
        secret.password = ""
        secret.save()


def add_members(world: World, artifact: Artifact, count: int) -> None:
    start = User.objects.count()
    users = User.objects.bulk_create(User(username=f"u{start + n}") for n in range(count))
    ProjectMembership.objects.bulk_create(
        ProjectMembership(project=world.project, user=user, role="viewer") for user in users
    )


def add_services(world: World, artifact: Artifact, count: int) -> None:
    cluster, _ = Cluster.objects.get_or_create(name="default")
    builder = ImageBuilder.objects.get(project=world.project, name="hello")
    run = builder.runs.first()
    start = Service.objects.count()
    Service.objects.bulk_create(
        Service(
            project=world.project,
            cluster=cluster,
            name=f"svc{start + number}",
            builder=builder,
            deployed_run=run,
            created_by=world.users["olga"],
        )
        for number in range(count)
    )


LISTS: dict[str, tuple[str, Callable[[World, Artifact, int], None]]] = {
    "imagebuilders": (SHOP + "imagebuilders/?limit=200", add_builders),
    "runs": (SHOP + "imagebuilders/hello/runs/?limit=200", add_runs),
    "artifacts": (SHOP + "artifacts/?limit=200", add_artifacts),
    "registrysecrets": (SHOP + "registrysecrets/?limit=200", add_secrets),
    "members": (SHOP + "members/?limit=200", add_members),
    "services": (SHOP + "services/", add_services),
}


def queries_for(world: World, url: str) -> int:
    api = world.client("olga")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries.captured_queries)


@pytest.mark.parametrize("name", LISTS)
def test_a_list_costs_the_same_queries_for_20_and_200_rows(
    world: World,
    media_root: Path,
    busybox: Path,
    name: str,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    url, add = LISTS[name]
    artifact = make_artifact(world.project, busybox)
    builder = make_builder(world, artifact)
    BuildRun.objects.create(builder=builder, number=1, tag="latest", artifact=artifact)
    add(world, artifact, 20)
    with django_assert_max_num_queries(MAX_QUERIES):  # type: ignore[operator]
        few = queries_for(world, url)
    add(world, artifact, 180)
    with django_assert_max_num_queries(MAX_QUERIES):  # type: ignore[operator]
        many = queries_for(world, url)
    assert many == few, f"{name}: {few} queries for 20 rows, {many} for 200"
