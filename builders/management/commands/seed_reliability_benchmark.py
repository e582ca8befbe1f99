"""Fill the database with the reliability benchmark's project (benchmarks/reliability.py): a
workspace `bench`, project `shop`, 200 builders x 50 runs = 10,000 runs (the largest page is
200 rows) with 30 log lines each
(300,000 lines). Idempotent: a database already seeded is left as it is. Prints a new API token
of the benchmark's user (an admin of the project) on its last line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User

from audit.management.base import AuditedCommand
from builders.environments_sync import sync_builtin_environments
from builders.models import Artifact, BuildEnvironment, BuildLogLine, BuildRun, ImageBuilder
from projects.authentication import create_api_token
from projects.models import Project, ProjectMembership, RegistrySecret, Workspace

BUILDERS = 200
RUNS_PER_BUILDER = 50
LINES_PER_RUN = 30
BATCH = 5000


class Command(AuditedCommand):
    help = "Seed the reliability benchmark's project (10,000 runs, 300,000 log lines)."

    def handle(self, *args: Any, **options: Any) -> None:
        user, _ = User.objects.get_or_create(username="bench")
        if not Project.objects.filter(workspace__name="bench", name="shop").exists():
            seed_project(user)
        token = create_api_token(user, f"bench-{datetime.now(UTC).timestamp()}")[1]
        self.stdout.write(token)


def seed_project(user: User) -> None:
    sync_builtin_environments()
    workspace = Workspace.objects.create(name="bench")
    project = Project.objects.create(workspace=workspace, name="shop")
    ProjectMembership.objects.create(project=project, user=user, role="admin")
    secret = RegistrySecret(project=project, name="local", address="http://127.0.0.1:9")
    secret.password = ""
    secret.save()
    artifact = Artifact.objects.create(
        project=project, file_name="app", size=1, sha256="0" * 64, kind="binary",
        storage_key="bench/app", uploaded_by=user,
    )  # fmt: skip
    builders = seed_builders(project, secret, artifact, user)
    seed_runs_and_logs(builders, artifact, user)


def seed_builders(
    project: Project, secret: RegistrySecret, artifact: Artifact, user: User
) -> list[ImageBuilder]:
    environment = BuildEnvironment.objects.get(name="binary-debian")
    return ImageBuilder.objects.bulk_create(
        ImageBuilder(
            project=project, name=f"b{number}", artifact_kind="binary", environment=environment,
            image_name=f"bench/b{number}", registry_secret=secret, artifact=artifact,
            created_by=user, next_run_number=RUNS_PER_BUILDER + 1,
        )
        for number in range(BUILDERS)
    )  # fmt: skip


def seed_runs_and_logs(builders: list[ImageBuilder], artifact: Artifact, user: User) -> None:
    runs = BuildRun.objects.bulk_create(
        (
            BuildRun(builder=builder, number=number, tag="latest", artifact=artifact,
                     state="successful", created_by=user)
            for builder in builders
            for number in range(1, RUNS_PER_BUILDER + 1)
        ),
        batch_size=BATCH,
    )  # fmt: skip
    now = datetime.now(UTC)
    BuildLogLine.objects.bulk_create(
        (
            BuildLogLine(run=run, seq=seq, time=now, text=f"step {seq}: pushing layer {seq:04d}")
            for run in runs
            for seq in range(1, LINES_PER_RUN + 1)
        ),
        batch_size=BATCH,
    )
