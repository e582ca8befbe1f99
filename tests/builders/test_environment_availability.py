"""Base availability is checked in the background, kept a short time, never blocks a request;
the recommendation picks the best environment among those that can work."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from builders import availability
from builders.availability import Availability
from builders.models import BuildEnvironment
from builders.recommendation import recommend_available
from tests.builders.conftest import World, busybox_environment
from tests.fixtures.base_images import BaseImage
from tests.fixtures.registry import Registry

PROJECT = "/api/v1/workspaces/acme/projects/shop/"


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


@pytest.fixture
def hung_registry() -> Iterator[str]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def ask(world: World, kind: str = "binary") -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = world.client("olga").get(PROJECT + "buildenvironments/", {"kind": kind})
    assert response.status_code == 200, response.json()
    answer = {env["name"]: env["availability"] for env in response.json()["results"]}
    return answer, time.monotonic() - started


def wait_for_state(world: World, name: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        known = ask(world)[0][name]
        if known["state"] != "checking":
            return known
        time.sleep(0.1)
    raise AssertionError(f"{name} still checking after {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_hung_registry_never_blocks_the_page_and_ends_unavailable(
    world: World, hung_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(availability, "CHECK_TIMEOUT", 1.0)
    busybox_environment(f"{hung_registry}/base/busybox:1", name="hung")
    ask(world, "war")  # the first request of a process imports and warms up the API
    first, took = ask(world)
    assert first["hung"]["state"] == "checking" and took < 2
    again, took = ask(world)
    assert again["hung"]["state"] == "checking" and took < 2  # the check runs once, elsewhere
    known = wait_for_state(world, "hung")
    assert (known["state"], known["code"]) == ("unavailable", "registry:timeout"), known


@pytest.mark.django_db(transaction=True)
def test_an_available_base_is_resolved_once_then_kept(
    world: World, registry: Registry, busybox_base: BaseImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.secret.address = registry.url  # type: ignore[union-attr]
    world.secret.save()  # type: ignore[union-attr]
    busybox_environment(busybox_base.tagged, name="local-busybox")
    checks: list[str] = []
    real_check = availability.run_check

    def counted(check: availability.BaseCheck) -> Availability:
        checks.append(check.reference)
        return real_check(check)

    monkeypatch.setattr(availability, "run_check", counted)
    assert wait_for_state(world, "local-busybox")["state"] == "available"
    ask(world)
    ask(world)
    assert checks.count(busybox_base.tagged) == 1


def environment(name: str, template: str, **spec: Any) -> BuildEnvironment:
    base = BuildEnvironment.objects.get(name=template)
    return BuildEnvironment(
        name=name, title=name, base_image="local/x:1", artifact_kinds=base.artifact_kinds,
        spec={**base.spec, **spec},
    )  # fmt: skip


def pick(inspection: dict[str, Any], states: dict[str, str]) -> str | None:
    environments = [environment(name, name) for name in states if not name.startswith("local-")]
    environments += [
        environment("local-java-17", "java-17"),
        environment("local-busybox", "binary-debian"),
        environment("local-tomcat-10", "tomcat-10-java-17"),
        environment("local-tomcat-10-javaee", "tomcat-10-java-17", servlet_namespace="javax"),
    ]
    known = {name: Availability(state) for name, state in states.items()}
    return recommend_available(inspection, environments, known)


STATIC = {"kind": "binary", "binary": {"linkage": "static"}}
JAVA8_JAR = {"kind": "jar", "java_release": 8, "recommended_environment": "java-8"}
JAVAX_WAR = {"kind": "war", "java_release": 8, "servlet_namespace": "javax"}


@pytest.mark.parametrize(
    ("inspection", "states", "expected"),
    [
        # Online, nothing changes: the engine's choice.
        (STATIC | {"recommended_environment": "binary-distroless-static"},
         {"binary-distroless-static": "available", "local-busybox": "available"},
         "binary-distroless-static"),
        (JAVA8_JAR, {"java-8": "available", "local-java-17": "available"}, "java-8"),
        # Offline: never an unreachable base; the oldest Java that runs the bytecode.
        (STATIC | {"recommended_environment": "binary-distroless-static"},
         {"binary-distroless-static": "unavailable", "local-busybox": "available"},
         "local-busybox"),
        (JAVA8_JAR, {"java-8": "unavailable", "java-21": "unavailable",
                     "local-java-17": "available"}, "local-java-17"),
        (JAVAX_WAR | {"recommended_environment": "tomcat-9-java-8"},
         {"tomcat-9-java-8": "unavailable", "local-tomcat-10": "available",
          "local-tomcat-10-javaee": "available"}, "local-tomcat-10-javaee"),
        # Java 21 bytecode: a JVM too old is worse than one still being checked.
        ({"kind": "jar", "java_release": 21}, {"java-21": "checking",
                                               "local-java-17": "available"}, "java-21"),
        # Nothing can take it.
        (JAVA8_JAR, {"java-8": "unavailable", "local-java-17": "unavailable"}, None),
    ],
)  # fmt: skip
def test_the_recommendation_prefers_working_fitting_environments(
    db: None, inspection: dict[str, Any], states: dict[str, str], expected: str | None
) -> None:
    for local in ("local-java-17", "local-busybox", "local-tomcat-10", "local-tomcat-10-javaee"):
        states.setdefault(local, "unavailable")
    assert pick(inspection, states) == expected
