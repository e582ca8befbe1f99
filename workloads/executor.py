"""The Kubernetes Job executor: runs a build as a Job in the project's namespace.

Select it with B2I_BUILD_EXECUTOR=workloads.executor.KubernetesJobExecutor. It implements the
pipeline's `BuildExecutor.execute(job, on_event, cancel_requested)`: the Job runs this console's
own image (`b2i build`, no Docker socket), fetches the artifact through a short-lived signed URL
(checksum verified), and reads push credentials from a Secret mounted into the pod — owned by the
Job, so it goes when the Job's TTL expires. The console's registry proxy settings (as the worker
would apply them: builders.proxy_settings) reach the build container from another such Secret.
Pod logs stream into the run's log; the Job's outcome is the run's outcome.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import db
from django.conf import settings
from django.core import signing

from b2i.oci.events import Event
from b2i.packaging.environments import ENVIRONMENTS_BY_NAME
from b2i_console.errors import UserError
from builders.build_jobs import BuildJob, RunCancelled
from builders.models import BuildRun
from builders.proxy_settings import registry_no_proxy, registry_proxy, registry_proxy_off
from builders.supply_chain.registry_documents import read_documents
from builders.supply_chain.store import RESULT_KEY
from workloads.client import KubeClient
from workloads.jobs import (
    BUILD_CONTAINER,
    FETCH_CONTAINER,
    BuildJobSpec,
    JobProxy,
    render_build_job,
    render_proxy_secret,
)
from workloads.manifests import Manifest, render_namespace, render_pull_secret, shorten_name
from workloads.models import Cluster
from workloads.services import connect, current_cluster

ARTIFACT_SALT = "workloads.build-artifact"
PUSHED_REFERENCE = re.compile(r"^(\S+@sha256:[0-9a-f]{64})\s*$")
CLI_ERROR = re.compile(r"^b2i: error: (\S+): (.*)$")
# `b2i build --sbom` names the referrers it pushed (b2i/cli.py).
SBOM_LINE = re.compile(
    r"^\s*SBOM \(\d+ components\) (sha256:[0-9a-f]{64}), provenance (sha256:[0-9a-f]{64}): "
    r"referrers via the (\w+)"
)


class JobFailed(Exception):
    """The build Job failed; `code`/`message` come from the build's own error line if any."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def sign_artifact_token(run_id: int, sha256: str) -> str:
    """Return a token naming one run's artifact; `artifact_for_token` accepts it for a while."""
    return signing.TimestampSigner(salt=ARTIFACT_SALT).sign(f"{run_id}:{sha256}")


def artifact_for_token(token: str) -> tuple[int, str]:
    """Return (run id, sha256) of a valid, unexpired token; raise `signing.BadSignature`."""
    signer = signing.TimestampSigner(salt=ARTIFACT_SALT)
    value = signer.unsign(token, max_age=settings.B2I_ARTIFACT_URL_TTL)
    run_id, _, sha256 = value.partition(":")
    return int(run_id), sha256


def artifact_url(cluster: Cluster, run_id: int, sha256: str) -> str:
    base = cluster.console_url.rstrip("/")
    return f"{base}/api/v1/build-artifacts/{sign_artifact_token(run_id, sha256)}/"


def credentials_secret(namespace: str, name: str, job: BuildJob) -> Manifest:
    """Render the push credentials as a dockerconfigjson Secret (mounted, never in env)."""
    registry = job.registry
    raw = f"{registry.username}:{registry.password}".encode()
    entry = {"username": registry.username, "password": registry.password}
    entry["auth"] = base64.b64encode(raw).decode()
    return render_pull_secret(namespace, name, {"auths": {registry.host: entry}})


def job_proxy(namespace: str, secret_name: str) -> tuple[JobProxy | None, list[Manifest]]:
    """Return the build container's proxy settings and the Secret with its URLs, if any.

    The same decision as a build in the worker; a bad setting raises `registry:proxy-invalid`
    before any Job exists. The artifact download gets none: it talks to the console only.
    """
    config = registry_proxy()
    by_scheme = {"https": config.https, "http": config.http}
    urls = {scheme: address.url for scheme, address in by_scheme.items() if address}
    if not urls:
        return (JobProxy() if registry_proxy_off() else None), []
    proxy = JobProxy(secret=secret_name, schemes=tuple(urls), no_proxy=registry_no_proxy())
    return proxy, [render_proxy_secret(namespace, secret_name, urls)]


def job_spec(
    run: BuildRun, job: BuildJob, cluster: Cluster, secret_name: str, proxy: JobProxy | None = None
) -> BuildJobSpec:
    if not cluster.console_image or not cluster.console_url:
        raise UserError(
            "kube:not-configured",
            "The Kubernetes Job executor needs the cluster's console image and console URL "
            "(admin → Workloads → Clusters).",
        )
    return BuildJobSpec(
        namespace=run.builder.project.namespace,
        builder=run.builder.name,
        run_number=run.number,
        console_image=cluster.console_image,
        artifact_url=artifact_url(cluster, run.pk, job.artifact_sha256),
        artifact_sha256=job.artifact_sha256,
        target=job.image_reference,
        credentials_secret=secret_name,
        **environment_args(job.environment),
        artifact_kind=job.artifact_kind,
        source=job.source,
        build_env=dict(job.environment_parameters),
        insecure_registry=job.registry.scheme == "http",
        proxy=proxy,
        allowed_networks=tuple(settings.B2I_ALLOWED_REGISTRY_NETWORKS),
        deadline_seconds=settings.B2I_BUILD_HARD_TIME_LIMIT,
        invocation_id=job.supply_chain.invocation_id if job.supply_chain else None,
    )


def environment_args(environment: dict[str, Any]) -> dict[str, Any]:
    """Name a built-in environment; give a custom one's base image and port instead."""
    name = str(environment.get("name", ""))
    if name in ENVIRONMENTS_BY_NAME:
        return {"environment": name}
    port = environment.get("port")
    return {
        "base_image": str(environment.get("base_image", "")),
        "port": int(port) if port else None,
    }


@dataclass
class LogFollower:
    """Streams the pod's container logs (fetch, then build) on a thread, line by line."""

    kube: KubeClient
    namespace: str
    job_name: str
    on_line: Callable[[str], None]
    stop: threading.Event

    def __post_init__(self) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _pod_name(self) -> str:
        selector = f"batch.kubernetes.io/job-name={self.job_name}"
        pods = self.kube.list("Pod", self.namespace, label_selector=selector)
        return pods[0]["metadata"]["name"] if pods else ""

    def _run(self) -> None:
        try:
            self._follow_containers()
        finally:
            # ON_LINE may flush the run's log from this thread: its database connection is its
            # own and would stay open (a session nobody closes) after the thread ends.
            db.connection.close()

    def _follow_containers(self) -> None:
        pod = ""
        while not pod and not self.stop.wait(0.1):
            pod = self._pod_name()
        for container in (FETCH_CONTAINER, BUILD_CONTAINER):
            while pod and not self.stop.is_set() and not self._follow(pod, container):
                self.stop.wait(0.2)  # the container has not started yet

    def _pod_finished(self, pod: str) -> bool:
        # A container that never started (its init container failed) will never have a log.
        found = self.kube.get("Pod", self.namespace, pod)
        return found is None or (found.get("status") or {}).get("phase") in ("Succeeded", "Failed")

    def _follow(self, pod: str, container: str) -> bool:
        # Checked before reading: a pod that had already finished and still has no log for
        # this container never started it; one that finishes meanwhile gets another read.
        finished_before = self._pod_finished(pod)
        try:
            response = self.kube.core.read_namespaced_pod_log(
                pod, self.namespace, container=container, follow=True, _preload_content=False
            )
        except Exception as error:  # 400 while waiting to start; 404 once deleted
            return getattr(error, "status", 0) == 404 or finished_before
        try:
            for raw in response.stream(decode_content=True):
                for line in raw.decode(errors="replace").splitlines():
                    self.lines.append(line)
                    self.on_line(line)
        finally:
            response.release_conn()
        return True


class KubernetesJobExecutor:
    """Builds a run in a Kubernetes Job (see the module docstring)."""

    poll_seconds = 0.2

    def execute(
        self,
        job: BuildJob,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        run = BuildRun.objects.select_related("builder__project__workspace").get(pk=job.run_id)
        cluster = current_cluster()
        kube = connect(cluster)
        try:
            return self._execute(kube, run, job, cluster, on_event, cancel_requested)
        finally:
            kube.close()

    def _execute(
        self,
        kube: KubeClient,
        run: BuildRun,
        job: BuildJob,
        cluster: Cluster,
        on_event: Callable[[Event], None],
        cancel_requested: Callable[[], bool],
    ) -> dict[str, Any]:
        namespace = run.builder.project.namespace
        prefix = f"b2i-build-{run.builder.name}-{run.number}"
        proxy, proxy_secrets = job_proxy(namespace, shorten_name(f"{prefix}-proxy"))
        spec = job_spec(run, job, cluster, shorten_name(f"{prefix}-registry"), proxy)
        manifest = render_build_job(spec)
        secrets = [credentials_secret(namespace, spec.credentials_secret, job), *proxy_secrets]
        workspace = render_namespace(namespace, run.builder.project.workspace.name)
        on_event(Event("step-started", step="kubernetes job", message=f"{namespace}/{spec.name}"))
        # A Job of the same name is an earlier attempt of this run (its worker was lost) or a
        # leftover of a deleted builder of the same name: a Job's template is immutable, so
        # it must go before this attempt can start.
        kube.delete("Job", namespace, spec.name)
        applied = kube.apply_all([*secrets, manifest], namespace=workspace)
        for secret in secrets:
            self._let_job_own_secret(kube, secret, applied[-1])
        stop = threading.Event()
        follower = LogFollower(
            kube, namespace, spec.name, lambda line: on_event(Event("log", message=line)), stop
        )
        follower.thread.start()
        try:
            outcome = self._wait(kube, namespace, spec.name, cancel_requested)
        except BaseException as error:
            stop.set()  # nobody reads the rest of the log; the socket closes with the pod
            if not isinstance(error, RunCancelled | JobFailed):
                # A time limit or a lost cluster: leave no build running that nobody awaits.
                with contextlib.suppress(Exception):
                    kube.delete("Job", namespace, spec.name)
            raise
        follower.thread.join(timeout=5)  # the Job ended: its log ends within moments
        stop.set()
        return self._result(outcome, follower.lines, job)

    @staticmethod
    def _let_job_own_secret(kube: KubeClient, secret: Manifest, job: Manifest) -> None:
        # Garbage collection then deletes the credentials with the Job (ttlSecondsAfterFinished).
        owner = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": job["metadata"]["name"],
            "uid": job["metadata"]["uid"],
        }
        kube.apply({**secret, "metadata": {**secret["metadata"], "ownerReferences": [owner]}})

    def _wait(
        self, kube: KubeClient, namespace: str, name: str, cancel_requested: Callable[[], bool]
    ) -> dict[str, str]:
        while True:
            if cancel_requested():
                kube.delete("Job", namespace, name)
                raise RunCancelled()
            current = kube.get("Job", namespace, name)
            if current is None:
                raise JobFailed("build:job-lost", f"The build Job {namespace}/{name} disappeared.")
            for condition in (current.get("status") or {}).get("conditions") or []:
                if condition.get("status") == "True" and condition.get("type") in (
                    "Complete",
                    "Failed",
                ):
                    return {k: str(condition.get(k, "")) for k in ("type", "reason", "message")}
            time.sleep(self.poll_seconds)

    @staticmethod
    def _result(outcome: dict[str, str], lines: list[str], job: BuildJob) -> dict[str, Any]:
        if outcome["type"] == "Failed":
            raise failure_of(outcome, lines)
        pushed = next(
            (m.group(1) for line in reversed(lines) if (m := PUSHED_REFERENCE.match(line))), ""
        )
        if not pushed:
            raise JobFailed(
                "build:job-no-digest", "The build Job succeeded but printed no pushed image digest."
            )
        digest = pushed.rsplit("@", 1)[1]
        result: dict[str, Any] = {
            "image_reference": job.image_reference,
            "digest": digest,
            "pull_command": f"docker pull {pushed}",
        }
        documents = pushed_documents(lines, job)
        if documents is not None:
            result[RESULT_KEY] = documents
        return result


def pushed_documents(lines: list[str], job: BuildJob) -> dict[str, Any] | None:
    """The SBOM and provenance the Job pushed, read back from the registry (None: none)."""
    named = next((m for line in reversed(lines) if (m := SBOM_LINE.match(line))), None)
    if job.supply_chain is None or named is None:
        return None
    return read_documents(job, named.group(1), named.group(2), named.group(3))


def failure_of(outcome: dict[str, str], lines: list[str]) -> JobFailed:
    """Explain a failed Job: the build's own error line, else the Job's reason."""
    for line in reversed(lines):
        if match := CLI_ERROR.match(line):
            return JobFailed(match.group(1), match.group(2))
        if line.startswith("Fetch failed: "):
            return JobFailed("build:artifact-fetch-failed", line.removeprefix("Fetch failed: "))
    if outcome["reason"] == "DeadlineExceeded":
        return JobFailed("build:timeout", "The build Job ran longer than its deadline.")
    return JobFailed(
        "build:job-failed",
        f"The build Job failed: {outcome['reason']} {outcome['message']}".strip(),
    )
