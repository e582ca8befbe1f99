"""manage.py sync_build_environments: seed/refresh the built-in build environments."""

from typing import Any

from audit.management.base import AuditedCommand
from builders.environments_sync import sync_builtin_environments


class Command(AuditedCommand):
    help = "Create or update the built-in build environments from the engine's list."

    def handle(self, *args: Any, **options: Any) -> None:
        created, updated = sync_builtin_environments()
        self.stdout.write(f"build environments: {created} created, {updated} updated")
