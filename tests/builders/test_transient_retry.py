"""A run that fails only on a transient registry error is built again, and the log says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b2i.oci.errors import AuthFailedError, RegistryRequestError, UnreachableError
from builders import runner, services
from builders.models import BuildEnvironment, BuildLogLine, BuildRun, BuildState, ImageBuilder
from builders.transient_retry import is_transient_registry_error
from tests.builders.conftest import World, busybox_environment, make_artifact, make_builder
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.registry import Registry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick_retries(settings: Any) -> Any:
    # No retry of single requests: the first 503 fails the build attempt itself.
    settings.B2I_REGISTRY_RETRY_BUDGET = 0
    settings.B2I_BUILD_TRANSIENT_RETRY_DELAY = 0
    settings.B2I_BUILD_TRANSIENT_RETRIES = 2
    return settings


def builder_via(world: World, proxy: FaultyProxy, base: BaseImage, tmp_path: Path) -> ImageBuilder:
    world.secret.address = f"http://{proxy.host}"
    world.secret.save()
    BuildEnvironment.objects.filter(name="busybox-test").delete()
    busybox_environment(f"{proxy.host}/{base.repository}:{base.tag}")
    binary = artifacts.build_static_binary(tmp_path, "transient")
    return make_builder(world, make_artifact(world.project, binary), environment="busybox-test")


def lines_of(run: BuildRun) -> list[str]:
    return list(BuildLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))


def test_a_run_failing_on_a_transient_registry_error_is_built_again(
    world: World,
    registry: Registry,
    busybox_base: BaseImage,
    media_root: Path,
    enqueued: list[int],
    channel_layer_on_redis: str,
    quick_retries: Any,
    tmp_path: Path,
) -> None:
    with FaultyProxy(registry.url, FaultPlan(script=["503"])) as proxy:
        run = services.do_start_run(builder_via(world, proxy, busybox_base, tmp_path))
        assert runner.run_build(run.pk) == BuildState.SUCCESSFUL
    run.refresh_from_db()
    assert run.digest.startswith("sha256:")
    retried = [line for line in lines_of(run) if line.startswith("Build attempt 1 failed")]
    assert len(retried) == 1
    assert "transient registry error (registry:request-failed" in retried[0]
    assert "503" in retried[0] and "retry 1/2" in retried[0]
    assert lines_of(run)[-1] == "Build completed successfully"


def test_a_registry_down_for_every_attempt_fails_after_the_retries(
    world: World,
    registry: Registry,
    busybox_base: BaseImage,
    media_root: Path,
    enqueued: list[int],
    channel_layer_on_redis: str,
    quick_retries: Any,
    tmp_path: Path,
) -> None:
    plan = FaultPlan(share=1.0, kinds=("503",), max_in_a_row=10**6)
    with FaultyProxy(registry.url, plan) as proxy:
        run = services.do_start_run(builder_via(world, proxy, busybox_base, tmp_path))
        assert runner.run_build(run.pk) == BuildState.FAILED
    run.refresh_from_db()
    assert run.error_code == "registry:request-failed"
    assert len([line for line in lines_of(run) if line.startswith("Build attempt")]) == 2
    assert len(proxy.requests) == 3  # three attempts, one request each


def test_only_registry_unavailability_counts_as_transient() -> None:
    assert is_transient_registry_error(UnreachableError("connection refused"))
    assert is_transient_registry_error(RegistryRequestError("busy", status=503))
    assert is_transient_registry_error(RegistryRequestError("slow down", status=429))
    assert not is_transient_registry_error(RegistryRequestError("bad", status=400))
    assert not is_transient_registry_error(AuthFailedError("no", status=401))
    assert not is_transient_registry_error(ValueError("a bug of ours"))
