"""Shared fixtures: real services (registries, Redis, a Celery worker) started per session."""

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.registry",
    "tests.fixtures.celery_worker",
    "tests.fixtures.kube_apiserver",
    "tests.fixtures.base_images",
    "tests.fixtures.run_image",
]
