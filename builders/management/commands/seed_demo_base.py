"""Push a busybox base to the local registry and add the `demo-busybox` build environment.

`make run` calls this so the demo builds binaries end to end without Docker Hub (machines with
no internet access); with internet access the built-in environments work as they are.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from audit.management.base import AuditedCommand
from b2i.demo_base import BUSYBOX, push_busybox_base
from b2i.oci.errors import OciError
from builders.local_environments import save_local_environment

DEMO_ENVIRONMENT = "demo-busybox"
REPOSITORY, TAG = "library/busybox", "b2i-demo"


class Command(AuditedCommand):
    audit_options = ("registry",)
    help = "Seed the local registry with a busybox base and a demo-busybox build environment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--registry", default="127.0.0.1:5000", help="host:port (plain HTTP)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not BUSYBOX.exists():
            raise CommandError(f"{BUSYBOX} is missing: install Debian's busybox-static")
        registry = options["registry"]
        try:
            digest = push_busybox_base(
                registry, REPOSITORY, TAG, allowed_networks=settings.B2I_ALLOWED_REGISTRY_NETWORKS
            )
        except OciError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        base = f"{registry}/{REPOSITORY}:{TAG}"
        title = "Binary on busybox (local demo base)"
        save_local_environment(DEMO_ENVIRONMENT, "binary-debian", base, title)
        self.stdout.write(
            f"demo: base {base} ({digest}) and build environment {DEMO_ENVIRONMENT!r}"
        )
