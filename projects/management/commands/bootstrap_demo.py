"""Create the demo admin for `make run` (the password is printed once, on creation)."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create the demo admin, workspace, project and local registry secret if missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--registry", default="http://127.0.0.1:5000")

    def handle(self, *args: Any, **options: Any) -> None:
        self.ensure_admin(options["username"])

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
