"""Push the JRE 17 and Tomcat 10 bases made from Debian packages; add their build environments.

`make run` calls this after `seed_demo_base` so JARs and WARs build without Docker Hub. The
layers are cached under var/local-bases (keyed by the package versions): only the first run
builds them. No network beyond the local registry.
"""

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from audit.management.base import AuditedCommand
from b2i.local_bases import LocalBaseError, push_local_bases
from b2i.oci.errors import OciError
from b2i.oci.registry import RegistryClient
from builders.local_environments import save_debian_environments


class Command(AuditedCommand):
    audit_options = ("registry",)
    help = "Seed the local registry with Debian JRE 17 and Tomcat 10 bases and their environments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--registry", default="127.0.0.1:5000", help="host:port (plain HTTP)")
        parser.add_argument("--cache-dir", type=Path, default=settings.VAR_DIR / "local-bases")

    def handle(self, *args: Any, **options: Any) -> None:
        registry, started = options["registry"], time.monotonic()
        try:
            with RegistryClient(
                registry, scheme="http", allowed_networks=settings.B2I_ALLOWED_REGISTRY_NETWORKS
            ) as client:
                java, tomcat = push_local_bases(client, options["cache_dir"])
        except LocalBaseError as exc:
            raise CommandError(str(exc)) from exc
        except OciError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        images = [f"{registry}/{base.repository}:{base.tag}" for base in (java, tomcat)]
        environments = save_debian_environments(*images)
        self.stdout.write(
            f"local bases: {', '.join(images)} and build environments "
            f"{', '.join(env.name for env in environments)} ({time.monotonic() - started:.1f} s)"
        )
