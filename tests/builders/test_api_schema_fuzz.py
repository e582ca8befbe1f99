"""schemathesis over the whole OpenAPI schema: generated requests to every operation, signed in
with a full-scope token of the workspace and project admin, with a real workspace, project,
builder and run, never get a 5xx, and every documented answer matches the schema.

A few derandomized examples per operation (no coverage phase, no shrinking) keep the run short
and the same on every run, so a failure is reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from builders import availability, services
from builders.availability import AVAILABLE, Availability, BaseCheck
from projects.authentication import create_api_token
from projects.models import WorkspaceMembership, WorkspaceRole
from tests.builders.conftest import World, make_artifact, make_builder

EXAMPLES_PER_OPERATION = 3
# Path parameters that name real objects, so requests reach the views' logic, not only 404s.
REAL_NAMES = {"workspace": "acme", "project": "shop", "name": "hello", "number": 1}
# Registry addresses in bodies (registryprobe/ connects at once): a closed loopback port, so no
# generated host name is ever looked up or contacted.
CLOSED_REGISTRY = "127.0.0.1:9"
# Webhook URLs in bodies (a channel's "send test" posts at once): the same closed port.
CLOSED_WEBHOOK = "http://127.0.0.1:9/hook"
# Only the fuzzing phase: the schema has no examples and the coverage phase sends dozens of
# requests per operation.
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}}}
)


@pytest.fixture
def requests_keep_the_test_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection around each request (Django's test
    client unhooks this too): it would close the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def bases_known_available(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every base counts as available: listing environments would otherwise start background
    checks of the real Docker Hub bases (no contact beyond loopback), whose cached "unavailable"
    answers would refuse later tests' builders."""

    def available(check: BaseCheck, *, start: bool = True) -> Availability:
        return Availability(AVAILABLE, check.reference)

    monkeypatch.setattr(availability, "known_availability", available)
    yield
    cache.clear()


def load_schema() -> Any:
    """The schema /api/schema/ serves (it requires a sign-in), generated in-process, with
    requests sent to the WSGI application of the test process."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(
        json.loads(OpenApiJsonRenderer().render(document)), config=CONFIG
    )
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return path_parameters
    known = {key: REAL_NAMES[key] for key in path_parameters if key in REAL_NAMES}
    return {**path_parameters, **known}


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    if isinstance(body, dict) and "address" in body:
        return {**body, "address": CLOSED_REGISTRY}
    if isinstance(body, dict) and "url" in body:
        return {**body, "url": CLOSED_WEBHOOK}
    return body


@pytest.fixture
def token(
    world: World,
    media_root: Path,
    busybox: Path,
    enqueued: list[int],
    requests_keep_the_test_connection: None,
    bases_known_available: None,
) -> str:
    """A full-scope token of alice, admin of workspace acme and of project shop, which has a
    builder (hello) and its run #1."""
    alice = world.users["alice"]
    WorkspaceMembership.objects.create(
        workspace=world.project.workspace, user=alice, role=WorkspaceRole.ADMIN
    )
    builder = make_builder(world, make_artifact(world.project, busybox))
    # As the console numbers runs (next_run_number), so POST …/run/ makes #2, not a clash.
    services.do_start_run(builder, user=alice)
    return create_api_token(alice, "fuzz")[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
)
def test_no_operation_answers_5xx_or_breaks_its_schema(case: Any, token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
