"""Configure the installation's Kubernetes cluster (what the admin form does), for scripts and
Helm: `manage.py configure_cluster --in-cluster --console-image IMG --console-url URL` or
`manage.py configure_cluster --kubeconfig PATH`. The kubeconfig is stored encrypted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import CommandError, CommandParser

from audit.management.base import AuditedCommand
from workloads.models import Cluster


class Command(AuditedCommand):
    audit_options = ("in_cluster", "name", "console_image", "console_url")
    help = "Create or update the Kubernetes cluster the console deploys to."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--kubeconfig", type=Path, help="a kubeconfig file to store")
        source.add_argument("--in-cluster", action="store_true", help="use the pod's account")
        parser.add_argument("--name", default="default")
        parser.add_argument("--console-image", help="image of this console (build Jobs)")
        parser.add_argument("--console-url", help="URL build pods reach the console at")

    def handle(self, *args: Any, **options: Any) -> None:
        cluster, created = Cluster.objects.get_or_create(name=options["name"])
        if options["kubeconfig"]:
            cluster.kubeconfig = read_kubeconfig(options["kubeconfig"])
            cluster.in_cluster = False
        elif options["in_cluster"]:
            cluster.kubeconfig = ""
            cluster.in_cluster = True
        for option in ("console_image", "console_url"):
            if options[option] is not None:
                setattr(cluster, option, options[option])
        if not cluster.in_cluster and not cluster.kubeconfig_encrypted:
            raise CommandError("Give --kubeconfig PATH or --in-cluster.")
        cluster.save()
        how = "in-cluster" if cluster.in_cluster else "kubeconfig (stored encrypted)"
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} cluster {cluster.name}: {how}")


def read_kubeconfig(path: Path) -> str:
    try:
        text = path.read_text()
        loaded = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise CommandError(f"Cannot read the kubeconfig {path}: {error}") from error
    if not isinstance(loaded, dict) or not loaded.get("clusters"):
        raise CommandError(f"{path} is not a kubeconfig (it has no clusters).")
    return text
