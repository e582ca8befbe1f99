"""The installation's Docker Hub mirror: the admin's setting, else B2I_REGISTRY_MIRROR."""

from __future__ import annotations

from django.conf import settings

from builders.models import InstallationSettings


def effective_mirror() -> str | None:
    """Return the registry mirror builds and availability checks pull Docker Hub bases through."""
    chosen = InstallationSettings.objects.filter(pk=1).values_list("registry_mirror", flat=True)
    return chosen.first() or settings.B2I_REGISTRY_MIRROR or None
