"""The Kubernetes Job executor against the test API server: the Job is rendered hardened, the
init container really downloads the artifact over the signed URL from a live console and
verifies its checksum, pod logs stream into the run, and the Job's outcome is the run's."""

import base64
import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django import db
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from b2i.oci.errors import InvalidProxyError
from builders.build_jobs import RunCancelled
from builders.models import Artifact, BuildRun
from builders.runner import build_job, describe_error, run_build
from tests.fixtures.kube_controller import JobScript
from tests.workloads.validation import assert_valid_manifests
from workloads.executor import JobFailed, KubernetesJobExecutor, sign_artifact_token
from workloads.jobs import BuildJobSpec, JobProxy, render_build_job, render_proxy_secret
from workloads.models import Cluster

DIGEST = "sha256:" + "c" * 64
PUSHED = f"127.0.0.1:5000/demo/shop@{DIGEST}"
PAYLOAD = b"PK\x03\x04 not really a jar, but bytes with a checksum" * 100
PROXY_PASSWORD = "proxy-s3cret"
PROXY_URL = f"http://build-bot:{PROXY_PASSWORD}@proxy.corp.example:3128"
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def setup(world, live_server, media, tmp_path):
    Cluster.objects.filter(pk=world.cluster.pk).update(
        console_image="registry.example/b2i-console:0.1.0", console_url=live_server.url
    )
    key = default_storage.save("artifacts/shop.jar", ContentFile(PAYLOAD))
    artifact = Artifact.objects.create(
        project=world.project,
        file_name="shop.jar",
        size=len(PAYLOAD),
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        kind="jar",
        storage_key=key,
    )
    run = BuildRun.objects.create(
        builder=world.builder, number=1, tag="latest", state="running", artifact=artifact
    )
    return run, artifact, tmp_path


def real_fetch(tmp_path):
    """Run the init container's own command line (URL and checksum from the pod spec)."""

    def init_run(container):
        url, sha256, _ = container["args"]
        dest = tmp_path / "fetched"
        command = [sys.executable, "-m", "workloads.artifact_fetch", url, sha256, str(dest)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        return (done.stdout + done.stderr).strip().splitlines(), done.returncode

    return init_run


def execute(run, artifact, cancel=lambda: False):
    job = build_job(run, artifact, Path(default_storage.path(artifact.storage_key)))
    lines = []
    executor = KubernetesJobExecutor()
    result = executor.execute(job, lambda event: lines.append(event.message), cancel)
    return result, lines


def test_job_fetches_over_signed_url_streams_logs_and_returns_the_digest(setup, kube_apiserver):
    run, artifact, tmp_path = setup
    build_lines = ["==> resolve base", "==> push", PUSHED]
    script = JobScript(lines=build_lines, init_run=real_fetch(tmp_path))
    kube_apiserver.script_job("b2i-build-shop-1", script)
    result, lines = execute(run, artifact)
    assert result["digest"] == DIGEST
    assert result["pull_command"] == f"docker pull {PUSHED}"
    assert (tmp_path / "fetched").read_bytes() == PAYLOAD
    fetched = [line for line in lines if line.startswith("Fetched artifact")]
    assert fetched == [f"Fetched artifact: {len(PAYLOAD)} bytes, sha256 verified"]
    assert lines[-3:] == build_lines


def test_job_is_hardened_and_credentials_come_only_from_a_mounted_secret(setup, kube_apiserver):
    run, artifact, _ = setup
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=[PUSHED]))
    execute(run, artifact)
    job = kube_apiserver.store.get("batch/v1", "jobs", "shop", "b2i-build-shop-1")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] > 0
    assert spec["ttlSecondsAfterFinished"] > 0
    for container in pod["initContainers"] + pod["containers"]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
        assert "pusher-password" not in str(container)
    assert pod["tolerations"][0]["key"] == "node.kubernetes.io/ci"
    volume = next(v for v in pod["volumes"] if "secret" in v)
    secret = kube_apiserver.store.get("v1", "secrets", "shop", volume["secret"]["secretName"])
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]


def test_build_error_line_becomes_the_run_error(setup, kube_apiserver):
    run, artifact, _ = setup
    error = "b2i: error: build:user:not-executable-jar: the JAR has no Main-Class"
    kube_apiserver.script_job(
        "b2i-build-shop-1", JobScript(lines=["==> inspect", error], exit_code=1)
    )
    with pytest.raises(JobFailed) as caught:
        execute(run, artifact)
    assert caught.value.code == "build:user:not-executable-jar"
    assert caught.value.message == "the JAR has no Main-Class"


def test_corrupted_artifact_fails_the_checksum_and_the_build_never_runs(setup, kube_apiserver):
    run, artifact, tmp_path = setup
    Path(default_storage.path(artifact.storage_key)).write_bytes(PAYLOAD[:-10] + b"x" * 10)
    script = JobScript(lines=["build must not run", PUSHED], init_run=real_fetch(tmp_path))
    kube_apiserver.script_job("b2i-build-shop-1", script)
    with pytest.raises(JobFailed) as caught:
        execute(run, artifact)
    assert caught.value.code == "build:artifact-fetch-failed"
    assert "checksum mismatch" in caught.value.message
    assert not (tmp_path / "fetched").exists()


def test_deadline_exceeded_is_a_timeout(setup, kube_apiserver, settings):
    run, artifact, _ = setup
    settings.B2I_BUILD_HARD_TIME_LIMIT = 1
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["==> push"], hang=True))
    with pytest.raises(JobFailed) as caught:
        execute(run, artifact)
    assert caught.value.code == "build:timeout"


def test_cancel_deletes_the_job(setup, kube_apiserver):
    run, artifact, _ = setup
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["==> push"], hang=True))
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(RunCancelled):
        execute(run, artifact, cancel.is_set)
    assert time.monotonic() - started < 5
    assert kube_apiserver.store.find("batch/v1", "jobs", "shop", "b2i-build-shop-1") is None


def test_the_log_follower_closes_the_database_connection_of_its_thread(setup, kube_apiserver):
    # In the pipeline each line goes to the run's log, flushed from the follower's thread: its
    # connection was never closed, a session left open until garbage collection.
    run, artifact, _ = setup
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["==> push", PUSHED]))
    used = []

    def on_event(event):
        if threading.current_thread() is not threading.main_thread():
            assert BuildRun.objects.filter(pk=run.pk).exists()  # as RunLog.flush would
            used.append(db.connections["default"])  # this thread's own wrapper

    job = build_job(run, artifact, Path(default_storage.path(artifact.storage_key)))
    KubernetesJobExecutor().execute(job, on_event, lambda: False)
    assert used and all(wrapper.connection is None for wrapper in used)


def test_signed_artifact_url_refuses_forged_and_expired_tokens(setup, client, settings):
    run, artifact, _ = setup
    token = sign_artifact_token(run.pk, artifact.sha256)
    response = client.get(f"/api/v1/build-artifacts/{token}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PAYLOAD
    forged = client.get(f"/api/v1/build-artifacts/{token[:-2]}xx/")
    assert forged.status_code == 403 and forged.json()["code"] == "artifact:bad-link"
    other = sign_artifact_token(run.pk, "0" * 64)
    assert client.get(f"/api/v1/build-artifacts/{other}/").status_code == 403
    settings.B2I_ARTIFACT_URL_TTL = -1
    expired = client.get(f"/api/v1/build-artifacts/{token}/")
    assert expired.status_code == 403 and expired.json()["code"] == "artifact:link-expired"


def test_pipeline_runner_builds_through_the_job_executor(setup, kube_apiserver):
    run, _, _ = setup
    BuildRun.objects.filter(pk=run.pk).update(state="pending")
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["==> push", PUSHED]))
    assert run_build(run.pk, executor=KubernetesJobExecutor()) == "successful"
    run.refresh_from_db()
    assert run.digest == DIGEST
    texts = list(run.log_lines.order_by("seq").values_list("text", flat=True))
    assert "==> push" in texts and texts[-1] == "Build completed successfully"


def test_rendered_build_job_is_schema_valid():
    spec = BuildJobSpec(
        namespace="shop",
        builder="a-builder-with-a-rather-long-name-that-keeps-going-and-going",
        run_number=12345,
        console_image="registry.example/b2i-console:0.1.0",
        artifact_url="https://console.example/api/v1/build-artifacts/t/",
        artifact_sha256="a" * 64,
        target="127.0.0.1:5000/demo/shop:latest",
        credentials_secret="b2i-build-shop-1-registry",
        environment="java-17",
        port=8080,
        build_env={"JAVA_OPTIONS": "-Xmx256m"},
        insecure_registry=True,
        proxy=JobProxy(secret="b2i-build-shop-1-proxy", schemes=("https",), no_proxy=".corp"),
    )
    job = render_build_job(spec)
    secret = render_proxy_secret("shop", "b2i-build-shop-1-proxy", {"https": PROXY_URL})
    assert_valid_manifests([job, secret])
    assert len(job["metadata"]["name"]) <= 63
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:4] == ["build", "/workspace/artifact", "--to", "127.0.0.1:5000/demo/shop:latest"]
    assert "--insecure" in args and "JAVA_OPTIONS=-Xmx256m" in args


def test_successful_job_run_rolls_the_waiting_service_and_a_failed_one_does_not(
    setup, kube_apiserver, world
):
    from workloads.services import check_create_service

    run, artifact, _ = setup
    spec = {"name": "shop", "replicas": 2, "ports": [{"container_port": 8080}]}
    check_create_service(world.project, spec, world.builder, None)
    deployment = ("apps/v1", "deployments", "shop", "shop-v1")
    assert kube_apiserver.store.get(*deployment)["spec"]["replicas"] == 0
    BuildRun.objects.filter(pk=run.pk).update(state="pending")
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=[PUSHED]))
    assert run_build(run.pk, executor=KubernetesJobExecutor()) == "successful"
    rolled = kube_apiserver.store.get(*deployment)
    assert rolled["spec"]["replicas"] == 2
    image = rolled["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"127.0.0.1:5000/demo/shop@{DIGEST}"
    failed = BuildRun.objects.create(
        builder=world.builder, number=2, tag="latest", state="pending", artifact=artifact
    )
    failing = "b2i: error: registry:auth-failed: the registry refused the credentials"
    kube_apiserver.script_job("b2i-build-shop-2", JobScript(lines=[failing], exit_code=1))
    assert run_build(failed.pk, executor=KubernetesJobExecutor()) == "failed"
    failed.refresh_from_db()
    assert failed.error_code == "registry:auth-failed"
    after = kube_apiserver.store.get(*deployment)
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert after["metadata"]["generation"] == rolled["metadata"]["generation"]


def test_a_leftover_job_of_the_same_name_is_replaced(setup, kube_apiserver):
    run, artifact, _ = setup
    # An earlier attempt's Job (its worker died) is still there, with another template.
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=["old attempt"], hang=True))
    store = kube_apiserver.store
    namespace = {"metadata": {"name": "shop"}}
    if not store.find("v1", "namespaces", "", "shop"):
        store.create("v1", "namespaces", "", namespace)
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "b", "image": "old"}]}}
    old = {"metadata": {"name": "b2i-build-shop-1"}, "spec": {"template": template}}
    first = store.create("batch/v1", "jobs", "shop", old)
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=[PUSHED]))
    result, lines = execute(run, artifact)
    assert result["digest"] == DIGEST and "old attempt" not in lines
    current = store.get("batch/v1", "jobs", "shop", "b2i-build-shop-1")
    assert current["metadata"]["uid"] != first["metadata"]["uid"]
    assert current["spec"]["template"]["spec"]["containers"][0]["name"] == "build"


@pytest.fixture
def no_standard_proxy_variables(monkeypatch):
    for name in (*PROXY_VARIABLES, "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def executed_job(kube_apiserver, run, artifact):
    """Run the build Job (scripted to succeed); return the Job and its pod's two containers."""
    kube_apiserver.script_job("b2i-build-shop-1", JobScript(lines=[PUSHED]))
    execute(run, artifact)
    job = kube_apiserver.store.get("batch/v1", "jobs", "shop", "b2i-build-shop-1")
    pod = job["spec"]["template"]["spec"]
    return job, pod["initContainers"][0], pod["containers"][0]


def env_of(container):
    return {var["name"]: var for var in container.get("env", [])}


def secret_value(kube_apiserver, ref):
    secret = kube_apiserver.store.get("v1", "secrets", "shop", ref["name"])
    return secret, base64.b64decode(secret["data"][ref["key"]]).decode()


def test_the_console_proxy_reaches_the_build_container_only_from_an_owned_secret(
    setup, kube_apiserver, settings, no_standard_proxy_variables
):
    run, artifact, _ = setup
    settings.B2I_REGISTRY_PROXY, settings.B2I_NO_PROXY = PROXY_URL, ".corp.example,10.0.0.0/8"
    job, fetch, build = executed_job(kube_apiserver, run, artifact)
    env = env_of(build)
    for name in PROXY_VARIABLES:  # one proxy for both registry schemes, as in the worker
        assert "value" not in env[name]
        secret, value = secret_value(kube_apiserver, env[name]["valueFrom"]["secretKeyRef"])
        assert value == PROXY_URL
        assert secret["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert env["B2I_NO_PROXY"] == {"name": "B2I_NO_PROXY", "value": ".corp.example,10.0.0.0/8"}
    assert "env" not in fetch  # the signed artifact URL is the console's own, never proxied
    pods = kube_apiserver.store.list("v1", "pods", "shop")
    assert pods and all(PROXY_PASSWORD not in str(obj) for obj in [job, *pods])


def test_standard_proxy_variables_of_the_worker_are_handed_on_per_scheme(
    setup, kube_apiserver, monkeypatch, no_standard_proxy_variables
):
    run, artifact, _ = setup
    monkeypatch.setenv("HTTPS_PROXY", PROXY_URL)
    monkeypatch.setenv(
        "NO_PROXY", ".corp.example,127.0.0.1"
    )  # the console's API client reads it too
    job, fetch, build = executed_job(kube_apiserver, run, artifact)
    env = env_of(build)
    for name in ("https_proxy", "HTTPS_PROXY"):
        _, value = secret_value(kube_apiserver, env[name]["valueFrom"]["secretKeyRef"])
        assert value == PROXY_URL
    # No HTTP proxy in the worker: none in the pod either, whatever the cluster injects.
    assert env["http_proxy"] == {"name": "http_proxy", "value": ""}
    assert env["HTTP_PROXY"] == {"name": "HTTP_PROXY", "value": ""}
    # The worker's bypass list with its loopback default, given as the explicit list.
    assert env["B2I_NO_PROXY"]["value"] == ".corp.example,127.0.0.1,localhost,127.0.0.0/8,::1"
    assert "env" not in fetch and PROXY_PASSWORD not in str(job)


def test_no_proxy_configured_renders_nothing_proxy_related(
    setup, kube_apiserver, no_standard_proxy_variables
):
    run, artifact, _ = setup
    job, fetch, build = executed_job(kube_apiserver, run, artifact)
    assert list(env_of(build)) == ["HOME", "B2I_ALLOWED_REGISTRY_NETWORKS"] and "env" not in fetch
    secrets = kube_apiserver.store.list("v1", "secrets", "shop")
    assert [s["metadata"]["name"] for s in secrets] == ["b2i-build-shop-1-registry"]
    assert "proxy" not in str(job["spec"]).lower()


def test_proxy_off_keeps_the_build_pod_direct(
    setup, kube_apiserver, settings, monkeypatch, no_standard_proxy_variables
):
    run, artifact, _ = setup
    settings.B2I_REGISTRY_PROXY = "off"
    monkeypatch.setenv("HTTPS_PROXY", PROXY_URL)  # the worker's own, which `off` overrides
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the API server
    job, _, build = executed_job(kube_apiserver, run, artifact)
    env = env_of(build)
    assert env["B2I_REGISTRY_PROXY"] == {"name": "B2I_REGISTRY_PROXY", "value": "off"}
    assert set(env) == {"HOME", "B2I_ALLOWED_REGISTRY_NETWORKS", "B2I_REGISTRY_PROXY"}
    assert PROXY_PASSWORD not in str(job)
    assert not kube_apiserver.store.find("v1", "secrets", "shop", "b2i-build-shop-1-proxy")


def test_a_bad_proxy_setting_fails_before_any_job_exists(
    setup, kube_apiserver, settings, no_standard_proxy_variables
):
    run, artifact, _ = setup
    settings.B2I_REGISTRY_PROXY = "socks5://proxy.corp.example:1080"
    with pytest.raises(InvalidProxyError) as caught:
        execute(run, artifact)
    assert describe_error(caught.value)[0] == "registry:proxy-invalid"
    assert kube_apiserver.store.find("batch/v1", "jobs", "shop", "b2i-build-shop-1") is None


def test_the_build_pod_applies_the_workers_registry_address_policy(
    setup, kube_apiserver, settings, no_standard_proxy_variables
):
    # b2i alone allows loopback and private registries; in a Job it must not be more lenient
    # than the worker, whose empty setting means public registries only.
    run, artifact, _ = setup
    settings.B2I_ALLOWED_REGISTRY_NETWORKS = []
    _, _, build = executed_job(kube_apiserver, run, artifact)
    assert env_of(build)["B2I_ALLOWED_REGISTRY_NETWORKS"]["value"] == "none"


def test_the_build_pod_gets_the_networks_the_worker_allows(
    setup, kube_apiserver, settings, no_standard_proxy_variables
):
    run, artifact, _ = setup
    settings.B2I_ALLOWED_REGISTRY_NETWORKS = ["10.20.0.0/16", "127.0.0.0/8"]
    _, _, build = executed_job(kube_apiserver, run, artifact)
    value = env_of(build)["B2I_ALLOWED_REGISTRY_NETWORKS"]["value"]
    assert value == "10.20.0.0/16,127.0.0.0/8"
