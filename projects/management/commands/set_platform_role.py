"""Give a user a platform role: platform-admin, platform-self-provisioner or platform-regular."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import CommandError, CommandParser

from audit.management.base import AuditedCommand

PLATFORM_ROLES = ("platform-admin", "platform-self-provisioner", "platform-regular")


class Command(AuditedCommand):
    audit_options = ("username", "role")
    help = "Set a user's platform role (admin = superuser; self-provisioner may create workspaces)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=PLATFORM_ROLES)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}; create it first.")
        role = options["role"]
        create_workspaces = Permission.objects.get(
            content_type__app_label="projects", codename="create_workspaces"
        )
        user.is_superuser = user.is_staff = role == "platform-admin"
        user.save(update_fields=["is_superuser", "is_staff"])
        if role == "platform-self-provisioner":
            user.user_permissions.add(create_workspaces)
        else:
            user.user_permissions.remove(create_workspaces)
        self.stdout.write(f"{user.get_username()} is now {role}")
