"""Create the demo for `make run`: admin (password shown once), workspace, project, registry secret.

Idempotent: what exists is left as it is (the secret's address is updated to --registry).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from audit.management.base import AuditedCommand
from projects import services
from projects.models import (
    Project,
    ProjectMembership,
    ProjectRole,
    RegistrySecret,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)

DEMO = "demo"
DEMO_SECRET_NAME = "local"  # noqa: S105 (a name, not a password)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Command(AuditedCommand):
    audit_options = ("username", "registry")
    help = "Create the demo admin, workspace, project and local registry secret if missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--registry", default="http://127.0.0.1:5000")

    def handle(self, *args: Any, **options: Any) -> None:
        self.ensure_admin(options["username"])
        admin = get_user_model().objects.get(username=options["username"])
        project = self.ensure_workspace_and_project(admin)
        self.ensure_registry_secret(project, options["registry"])

    def ensure_admin(self, username: str) -> None:
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(
                f"demo: admin {username!r} exists (its password was printed when it was made; "
                f"reset it with: .venv/bin/python manage.py changepassword {username})"
            )
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"demo: created admin — username: {username}  password: {password}")

    def ensure_workspace_and_project(self, admin: User) -> Project:
        workspace, _ = Workspace.objects.get_or_create(
            name=DEMO, defaults={"alias": "Demo", "creator": admin}
        )
        WorkspaceMembership.objects.get_or_create(
            workspace=workspace, user=admin, defaults={"role": WorkspaceRole.ADMIN}
        )
        project, created = Project.objects.get_or_create(
            name=DEMO, defaults={"workspace": workspace, "alias": "Demo", "creator": admin}
        )
        ProjectMembership.objects.get_or_create(
            project=project, user=admin, defaults={"role": ProjectRole.ADMIN}
        )
        verb = "created" if created else "exists:"
        self.stdout.write(f"demo: {verb} workspace {DEMO!r}, project {DEMO!r}")
        return project

    def ensure_registry_secret(self, project: Project, registry: str) -> None:
        secret = RegistrySecret.objects.filter(project=project, name=DEMO_SECRET_NAME).first()
        if secret is None:
            secret = RegistrySecret(project=project, name=DEMO_SECRET_NAME)
        secret.address = registry
        secret.is_default = True
        # The demo registry runs without authentication: no username or password.
        services.save_registry_secret(secret)
        self.stdout.write(
            f"demo: registry secret {DEMO_SECRET_NAME!r} -> {secret.address} (default of {DEMO!r})"
        )
