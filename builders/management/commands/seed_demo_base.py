"""Push a busybox base to the local registry and add the `demo-busybox` build environment.

`make run` calls this so the demo builds binaries end to end without Docker Hub (machines with
no internet access); with internet access the built-in environments work as they are.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from b2i.demo_base import BUSYBOX, push_busybox_base
from b2i.oci.errors import OciError
from b2i.packaging.environments import get_environment
from builders.environments_sync import row_values
from builders.models import BuildEnvironment

DEMO_ENVIRONMENT = "demo-busybox"
REPOSITORY, TAG = "library/busybox", "b2i-demo"


class Command(BaseCommand):
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
        self.save_environment(base)
        self.stdout.write(
            f"demo: base {base} ({digest}) and build environment {DEMO_ENVIRONMENT!r}"
        )

    def save_environment(self, base_image: str) -> None:
        values = row_values(get_environment("binary-debian"))
        values.update(
            title="Binary on busybox (local demo base)", base_image=base_image, builtin=False
        )
        environment = BuildEnvironment.objects.filter(name=DEMO_ENVIRONMENT).first()
        environment = environment or BuildEnvironment(name=DEMO_ENVIRONMENT)
        for field, value in values.items():
            setattr(environment, field, value)
        environment.full_clean()  # the same checks as the admin, before anything is saved
        environment.save()
