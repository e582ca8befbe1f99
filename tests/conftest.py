"""Shared fixtures: real services (registries, Redis, a Celery worker) started per session."""

import pytest

from b2i.oci.auth import PROCESS_AUTH

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.registry",
    "tests.fixtures.smtp_server",
    "tests.fixtures.celery_worker",
    "tests.fixtures.kube_apiserver",
    "tests.fixtures.base_images",
    "tests.fixtures.run_image",
    "tests.fixtures.sbom_bases",
    "tests.fixtures.referrers_api",
    "tests.fixtures.ldap_server",
    "tests.fixtures.oidc_provider",
]


@pytest.fixture(autouse=True)
def fresh_registry_auth_memory() -> None:
    """Each test starts with no challenge or token learned by an earlier one.

    Registry clients share them within a process (as a worker's builds do); a later test's
    registry can reuse an earlier one's port with another auth setup."""
    PROCESS_AUTH.clear()
