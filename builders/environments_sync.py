"""Keep the database's built-in BuildEnvironment rows equal to the engine's BUILTIN_ENVIRONMENTS.

Runs after every `migrate` (post_migrate signal) and from `manage.py sync_build_environments`.
Custom environments (builtin=False) made by admins are never touched; a built-in row an admin
disabled stays disabled.
"""

from __future__ import annotations

from typing import Any

from b2i.packaging.environments import BUILTIN_ENVIRONMENTS
from builders.models import BuildEnvironment

TOP_LEVEL = ("name", "title", "base_image", "artifact_kinds")


def row_values(environment: Any) -> dict[str, Any]:
    data = environment.as_dict()
    spec = {key: value for key, value in data.items() if key not in TOP_LEVEL}
    return {
        "title": data["title"],
        "base_image": data["base_image"],
        "artifact_kinds": list(data["artifact_kinds"]),
        "spec": spec,
        "builtin": True,
    }


def sync_builtin_environments(using: str = "default") -> tuple[int, int]:
    """Create or update a row per built-in environment; return (created, updated)."""
    created = updated = 0
    for environment in BUILTIN_ENVIRONMENTS:
        _, was_created = BuildEnvironment.objects.using(using).update_or_create(
            name=environment.name, defaults=row_values(environment)
        )
        created += was_created
        updated += not was_created
    return created, updated


def sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    sync_builtin_environments(using=kwargs.get("using") or "default")
