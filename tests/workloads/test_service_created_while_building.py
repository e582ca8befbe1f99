"""A service created while its builder's first build finishes is deployed once its row commits.

The API creates the service in one transaction with its audit entry; a build that succeeds
before that commit rolls the builder's services without seeing the new one. The creation looks
again after its commit (workloads.services.deploy_if_built_meanwhile)."""

from __future__ import annotations

from typing import Any

import pytest

from builders.models import BuildRun
from workloads import services
from workloads.models import Service

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = {
    "name": "web",
    "replicas": 1,
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
}


def test_a_build_that_succeeds_during_the_creation_is_deployed_after_it(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_deploy = services.do_deploy
    built: list[BuildRun] = []

    def deploy_while_a_build_succeeds(service: Service, run: BuildRun | None) -> Any:
        applied = real_deploy(service, run)
        if run is None and not built:  # the creation's deploy, at 0 replicas: the build ends now
            built.append(world.run(1))
        return applied

    monkeypatch.setattr(services, "do_deploy", deploy_while_a_build_succeeds)
    response = world.client("olga").post(
        "/api/v1/workspaces/acme/projects/shop/services/",
        {"builder": "shop", "spec": SPEC},
        format="json",
    )
    assert response.status_code == 201, response.json()
    service = Service.objects.get()
    assert (service.state, service.deployed_run) == ("Deployed", built[0])
