"""End to end through the Kubernetes Job executor with nothing scripted but the kubelet: the
test API server's kubelet runs the Job's own command lines locally — the init container's
`python -m workloads.artifact_fetch` against the live console's signed URL, then the build
container's `b2i build` against a real registry with the credentials from the mounted Secret —
and the service rolls to the digest the registry reports."""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from b2i.packaging.environments import get_environment
from builders.artifacts.uploads import store_artifact
from builders.models import BuildEnvironment, BuildRun
from builders.runner import run_build
from projects.models import RegistrySecret
from tests.fixtures.forward_proxy import ForwardProxy
from tests.fixtures.kube_controller import JobScript
from tests.workloads.conftest import make_builder
from workloads.executor import KubernetesJobExecutor
from workloads.jobs import ARTIFACT_PATH, CREDENTIALS_DIR
from workloads.models import Cluster
from workloads.services import check_create_service

pytestmark = pytest.mark.django_db(transaction=True)
B2I = str(Path(sys.executable).with_name("b2i"))
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def local_kubelet(kube_apiserver, workdir):
    """Run the pod's containers as local processes, mapping its volumes onto `workdir`."""
    artifact = workdir / "artifact"

    def init_run(container):
        command = [sys.executable, *container["command"][1:], *container["args"]]
        command[-1] = str(artifact)
        return execute(command)

    def run(job):
        pod = job["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if "secret" in v)
        namespace = job["metadata"]["namespace"]
        secret = kube_apiserver.store.get(
            "v1", "secrets", namespace, volume["secret"]["secretName"]
        )
        config = workdir / "config.json"
        config.write_bytes(base64.b64decode(secret["data"][".dockerconfigjson"]))
        mapping = {ARTIFACT_PATH: str(artifact), f"{CREDENTIALS_DIR}/config.json": str(config)}
        args = [mapping.get(arg, arg) for arg in pod["containers"][0]["args"]]
        env = container_env(kube_apiserver, namespace, pod["containers"][0])
        return execute([B2I, *args], env={**env, "HOME": str(workdir)})

    return JobScript(init_run=init_run, run=run)


def container_env(kube_apiserver, namespace, container):
    """Resolve a container's env as the kubelet does: literal values and Secret keys."""
    env = {}
    for var in container.get("env", []):
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            secret = kube_apiserver.store.get("v1", "secrets", namespace, ref["name"])
            env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        else:
            env[var["name"]] = var["value"]
    return env


def execute(command, env=None):
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})}
    )
    return (done.stderr + done.stdout).splitlines(), done.returncode


@pytest.fixture
def hello_run(world, live_server, registry, busybox_base, settings, tmp_path):
    """A pending run of a busybox-based builder pushing to the real `registry` fixture."""
    settings.MEDIA_ROOT = tmp_path / "media"
    Cluster.objects.filter(pk=world.cluster.pk).update(
        console_image="registry.example/b2i-console:0.1.0", console_url=live_server.url
    )
    spec = get_environment("binary-debian").as_dict()
    for key in ("name", "title", "base_image", "artifact_kinds"):
        spec.pop(key)
    BuildEnvironment.objects.create(
        name="busybox-test", title="Busybox", base_image=busybox_base.tagged,
        artifact_kinds=["binary"], spec=spec,
    )  # fmt: skip
    secret = RegistrySecret(project=world.project, name="test-registry", address=registry.url)
    secret.password = ""
    secret.save()
    binary = tmp_path / "hello"
    shutil.copyfile("/bin/busybox", binary)
    artifact = store_artifact(
        world.project, None, binary, file_name="hello", expected_kind="binary",
        sha256=hashlib.sha256(binary.read_bytes()).hexdigest(), size=binary.stat().st_size,
    ).artifact  # fmt: skip
    builder = make_builder(
        world.project, secret, name="hello", environment="busybox-test", artifact_kind="binary"
    )
    return BuildRun.objects.create(
        builder=builder, number=1, tag="v1", state="pending", artifact=artifact
    )


def test_job_build_pushes_a_real_image_and_rolls_the_service(
    world, kube_apiserver, registry, hello_run, tmp_path
):
    run, builder = hello_run, hello_run.builder
    service = {"name": "hello", "replicas": 1, "ports": [{"container_port": 8080}]}
    check_create_service(world.project, service, builder, None)
    workdir = tmp_path / "pod"
    workdir.mkdir()
    kube_apiserver.script_job("b2i-build-hello-1", local_kubelet(kube_apiserver, workdir))

    assert run_build(run.pk, executor=KubernetesJobExecutor()) == "successful"

    run.refresh_from_db()
    head = httpx.head(
        f"{registry.url}/v2/demo/hello/manifests/v1",
        # Both families: registry 2.8 down-converts to schema 1 for clients accepting neither.
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
    )
    assert run.digest == head.headers["Docker-Content-Digest"]
    texts = list(run.log_lines.order_by("seq").values_list("text", flat=True))
    assert any(t.startswith("Fetched artifact") and "sha256 verified" in t for t in texts)
    assert texts[-1] == "Build completed successfully"
    deployment = kube_apiserver.store.get("apps/v1", "deployments", "shop", "hello-v1")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{registry.host}/demo/hello@{run.digest}"
    assert deployment["spec"]["replicas"] == 1


def test_job_build_goes_through_the_console_proxy_and_the_artifact_download_does_not(
    world, kube_apiserver, registry, hello_run, tmp_path, settings, monkeypatch
):
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "pod"
    workdir.mkdir()
    kube_apiserver.script_job("b2i-build-hello-1", local_kubelet(kube_apiserver, workdir))
    with ForwardProxy(credentials=("build-bot", "proxy-pass")) as proxy:
        settings.B2I_REGISTRY_PROXY, settings.B2I_NO_PROXY = proxy.url, ""  # loopback too

        assert run_build(hello_run.pk, executor=KubernetesJobExecutor()) == "successful"

        relayed = proxy.relayed_to(registry.host)
    manifest = f"http://{registry.host}/v2/demo/hello/manifests/v1"
    assert ("PUT", manifest) in relayed
    assert any("/v2/base/busybox/" in target for _, target in relayed)  # the base, too
    assert proxy.log.proxy_authorizations  # with the credentials from the Secret
    # The signed artifact URL is the console's own: fetched directly, never through the proxy.
    assert not any("build-artifacts" in target for _, target in proxy.log.relayed)
    texts = list(hello_run.log_lines.order_by("seq").values_list("text", flat=True))
    assert any(f"via the proxy http://***@{proxy.address}" in text for text in texts)
    assert not any("proxy-pass" in text for text in texts)
