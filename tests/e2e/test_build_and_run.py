"""End to end, no network: build JAR / WAR / static-binary images on our own bases, push them
to a real registry, pull them back with skopeo, unpack with umoci and run them under unshare +
chroot; the app answers HTTP."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from b2i.engine import (
    BuildCancelled,
    BuildError,
    BuildRequest,
    BuildResult,
    RegistryAccess,
    build_image,
)
from b2i.oci.errors import OciError
from b2i.oci.events import Event
from b2i.oci.image import OCI_MANIFEST
from b2i.packaging.environments import EnvironmentParameter, get_environment
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.faulty_proxy import FaultPlan, FaultyProxy
from tests.fixtures.processes import free_port
from tests.fixtures.registry import Registry
from tests.fixtures.run_image import ImageRunner, run_tool

LOOPBACK = ("127.0.0.0/8",)


def build(registry: Registry, artifact: Path, target: str, **options: object) -> BuildResult:
    events: list[Event] = []
    request = BuildRequest(
        artifact=artifact,
        target=f"{registry.host}/{target}",
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
        mirror=registry.host,
        **options,  # type: ignore[arg-type]
    )
    result = build_image(request, on_event=events.append)
    finished = [event.step for event in events if event.kind == "step-finished"]
    assert finished == ["inspect", "resolve-base", "write-layers", "compose", "push"]
    return result


def skopeo_inspect(reference: str, *options: str) -> dict:
    return json.loads(
        run_tool(["skopeo", "inspect", "--tls-verify=false", *options, f"docker://{reference}"])
    )


def test_jar_on_the_jre_base_answers_http(
    registry: Registry, jre_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    jar = artifacts.build_http_jar(tmp_path, "hello from the jar")
    result = build(registry, jar, "e2e/jar:v1", environment="java-17")
    assert result.reference == f"{registry.host}/e2e/jar@{result.digest}"
    assert result.base_reference == f"{registry.host}/library/eclipse-temurin@{jre_base.digest}"
    raw = skopeo_inspect(f"{registry.host}/e2e/jar:v1", "--raw")
    assert raw["mediaType"] == OCI_MANIFEST  # the base was OCI, so is the image
    config = skopeo_inspect(result.reference, "--config")["config"]
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Labels"]["org.opencontainers.image.title"] == "app.jar"
    image = image_runner.pull(result.reference)
    assert image.args == ["java", "-jar", "/app/app.jar"]
    assert image.cwd == "/app"
    port = free_port()
    running = image_runner.start(image, env={"PORT": str(port)})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/", timeout=60)
    assert response.text == "hello from the jar\n"


def test_exploded_war_on_the_tomcat_base_answers_http_under_its_context(
    registry: Registry, tomcat_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    war = artifacts.build_war(tmp_path, "hello from the war", namespace="jakarta")
    result = build(registry, war, "e2e/war:v1", environment="tomcat-10-java-17", exploded=None)
    assert result.environment == "tomcat-10-java-17"
    assert result.layers_pushed == 2  # WEB-INF/lib apart from the application
    image = image_runner.pull(result.reference)
    webapp = image.rootfs / "usr/local/tomcat/webapps/shop"
    assert (webapp / "WEB-INF/web.xml").is_file()  # exploded, as Tomcat would unpack it
    assert image.args == ["catalina.sh", "run"]  # the base's command is kept
    port = free_port()
    running = image_runner.start(image, env={"CATALINA_OPTS": f"-Dhttp.port={port}"})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/shop/hello", timeout=90)
    assert response.status_code == 200
    assert response.text == "hello from the war\n"


def test_static_binary_on_busybox_answers_http(
    registry: Registry, busybox_base: BaseImage, image_runner: ImageRunner, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "hello from the binary", name="server")
    result = build(
        registry, binary, "e2e/bin:v1", base_image=busybox_base.tagged, port=9090,
        env={"GREETING": "x"},
    )  # fmt: skip
    assert result.environment == "binary-distroless-static"
    image = image_runner.pull(result.reference)
    placed = image.rootfs / "app" / "app"
    assert stat.S_IMODE(placed.stat().st_mode) == 0o755
    assert image.args == ["/app/app"]
    assert image.env["GREETING"] == "x"
    assert (image.rootfs / "bin" / "busybox").exists()  # the base's layer is under ours
    port = free_port()
    running = image_runner.start(image, env={"PORT": str(port)})
    response = running.wait_for_http(f"http://127.0.0.1:{port}/", timeout=20)
    assert response.text.startswith("hello from the binary")


def test_build_through_a_faulty_registry_proxy_succeeds_with_the_same_digest(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "through faults", name="server")
    with FaultyProxy(registry.url, FaultPlan(share=0.0)) as proxy:
        # The base's name (with the proxy's address) is in the image's labels: build both
        # through the same proxy, first without faults, then with them.
        def build_via_proxy(repository: str, events: list[Event]) -> BuildResult:
            request = BuildRequest(
                artifact=binary,
                target=f"{proxy.host}/{repository}:v1",
                base_image=f"{proxy.host}/{busybox_base.repository}:{busybox_base.tag}",
                registries={proxy.host: RegistryAccess(scheme="http")},
                allowed_networks=LOOPBACK,
            )
            return build_image(request, on_event=events.append)

        clean = build_via_proxy("e2e/faults-clean", [])
        proxy.plan = FaultPlan(share=0.3, seed=11)
        events: list[Event] = []
        result = build_via_proxy("e2e/faults", events)
    assert len(proxy.faults) >= 2, proxy.faults
    assert any(event.kind == "retry" for event in events)
    assert result.digest == clean.digest
    assert result.layers_pushed == 1  # ours; the base layer was mounted despite the faults


def build_cancelled(
    registry: Registry, base: BaseImage, binary: Path, repository: str,
    cancel_requested: Callable[[], bool], events: list[Event], workdir: Path | None = None,
) -> None:  # fmt: skip
    """Build BINARY to REPOSITORY (its events into EVENTS): cancelled, nothing pushed."""
    request = BuildRequest(
        artifact=binary,
        target=f"{registry.host}/{repository}:v1",
        base_image=base.tagged,
        registries={registry.host: RegistryAccess(scheme="http")},
        allowed_networks=LOOPBACK,
        workdir=workdir,
    )
    with pytest.raises(BuildCancelled):
        build_image(request, on_event=events.append, cancel_requested=cancel_requested)
    catalog = httpx.get(f"{registry.url}/v2/_catalog").json()["repositories"] or []
    assert repository not in catalog


def test_cancel_after_compose_stops_before_anything_is_pushed(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "cancelled", name="server")
    events: list[Event] = []

    def cancel_requested() -> bool:
        return any(e.kind == "step-finished" and e.step == "compose" for e in events)

    build_cancelled(registry, busybox_base, binary, "e2e/cancelled", cancel_requested, events)
    assert not any(event.step == "push" for event in events)


def test_cancel_while_the_layers_are_written_stops_the_writing(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    binary = artifacts.build_static_binary(tmp_path, "cancelled while written", name="server")
    main = threading.main_thread()

    def cancel_requested() -> bool:
        # Steps check in the main thread; the layers are written in a thread of their own:
        # answering yes only there means the writing itself noticed the cancel.
        return threading.current_thread() is not main

    workdir = tmp_path / "work"
    workdir.mkdir()
    events: list[Event] = []
    build_cancelled(
        registry, busybox_base, binary, "e2e/cancelled-writing", cancel_requested, events, workdir
    )
    assert not any(event.step in ("compose", "push") for event in events)
    assert list(workdir.iterdir()) == []  # the half-written layer is gone too


def test_missing_required_parameter_is_a_user_error_before_the_push(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    environment = replace(
        get_environment("binary-distroless-static"),
        parameters=(EnvironmentParameter("LICENSE_KEY", "product key", required=True),),
    )
    binary = artifacts.build_static_binary(tmp_path, "needs a key", name="server")
    with pytest.raises(BuildError) as caught:
        build(registry, binary, "e2e/param:v1", base_image=busybox_base.tagged,
              environment=environment)  # fmt: skip
    assert caught.value.code == "build:user:missing-parameter"
    assert "LICENSE_KEY" in caught.value.message
    result = build(registry, binary, "e2e/param:v1", base_image=busybox_base.tagged,
                   environment=environment, env={"LICENSE_KEY": "k-1"})  # fmt: skip
    assert result.digest.startswith("sha256:")


def test_push_to_a_tls_registry_needs_its_ca_and_streams_the_base_across(
    registry: Registry, tls_registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    assert tls_registry.ca_bundle is not None
    binary = artifacts.build_static_binary(tmp_path, "over tls", name="server")

    def request(target_access: RegistryAccess) -> BuildRequest:
        return BuildRequest(
            artifact=binary,
            target=f"{tls_registry.host}/e2e/tls:v1",
            base_image=busybox_base.tagged,
            registries={
                registry.host: RegistryAccess(scheme="http"),
                tls_registry.host: target_access,
            },
            allowed_networks=LOOPBACK,
        )

    with pytest.raises(OciError) as caught:
        build_image(request(RegistryAccess()))
    assert caught.value.code == "registry:tls"
    trusted = RegistryAccess(ca_bundle=tls_registry.ca_bundle.read_text())
    result = build_image(request(trusted))
    assert result.layers_pushed == 2  # different registries: the base layer is streamed over
    assert result.reference == f"{tls_registry.host}/e2e/tls@{result.digest}"
