"""Offline validation of rendered manifests against the Kubernetes OpenAPI schemas."""

from collections.abc import Iterable
from typing import Any

import kubernetes_validate

# The newest Kubernetes minor that kubernetes-validate 1.37 ships strict schemas for.
KUBERNETES_VERSION = "1.37.0"


def assert_valid_manifests(objects: Iterable[dict[str, Any]]) -> int:
    """Validate each object strictly (unknown fields rejected); return how many were checked."""
    count = 0
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            raise AssertionError(f"{name} is invalid: {error.message} at {error.path}") from error
        count += 1
    return count
