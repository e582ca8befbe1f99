"""State changes of services (check_… validates then acts, do_… acts).

`roll_services_after_build` receives `builders.signals.build_succeeded` (sent after the run's
Successful state committed) and calls `on_build_succeeded(run)`: a service rolls to the run's
digest only then — never after a failed run (KubeSphere rewrote the image even when
the build failed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from django.db import transaction

from b2i_console.errors import UserError
from builders.models import BuildRun, BuildState, ImageBuilder
from projects.models import Project, render_dockerconfigjson
from workloads.client import KubeClient, KubeError, WorkloadStatus
from workloads.jobs import BUILD_JOB_SELECTOR, job_summary
from workloads.manifests import (
    Manifest,
    pinned_image,
    redact_secrets,
    render_namespace,
    render_pull_secret,
    render_service_objects,
    shorten_name,
    to_yaml,
)
from workloads.models import Cluster, Service, ServiceState
from workloads.signals import rollout_finished
from workloads.spec import ServiceSpec, SpecError, parse_service_spec, spec_to_dict

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)
RESERVED_NAMES = {"preview"}  # a path segment of the API (services/preview/)


def current_cluster() -> Cluster:
    cluster = Cluster.objects.order_by("pk").first()
    if cluster is None:
        raise UserError(
            "kube:not-configured",
            "No Kubernetes cluster is configured: a platform admin adds one (kubeconfig or "
            "in-cluster) in the admin under Workloads → Clusters.",
            status=409,
        )
    return cluster


def connect(cluster: Cluster) -> KubeClient:
    return KubeClient.connect(None if cluster.in_cluster else cluster.kubeconfig)


# --- rendering ---------------------------------------------------------------------------


def last_successful_run(builder: ImageBuilder | None) -> BuildRun | None:
    if builder is None:
        return None
    runs = builder.runs.filter(state=BuildState.SUCCESSFUL).exclude(digest="")
    return runs.order_by("-number").first()


def render_objects(
    spec: ServiceSpec, project: Project, builder: ImageBuilder, run: BuildRun | None
) -> tuple[Manifest, list[Manifest]]:
    """Render (namespace, objects) for a service; 0 replicas until a successful run exists."""
    secret = builder.registry_secret
    dockerconfig = render_dockerconfigjson([secret])
    pull_secret = render_pull_secret(project.namespace, secret.name, dockerconfig)
    if run is not None:
        image = pinned_image(run.image_reference or builder.image_reference(), run.digest)
        replicas = spec.replicas
    else:
        image, replicas = builder.image_reference(), 0
    objects = render_service_objects(
        spec, namespace=project.namespace, image=image, replicas=replicas, pull_secret=pull_secret
    )
    return render_namespace(project.namespace, project.workspace.name), objects


PENDING_NOTE = (
    "# Nothing is created yet. Until the builder's first successful build the {kind} runs 0\n"
    "# replicas and names the image by tag ({image}); that build pins it to the image's\n"
    "# digest and scales it to {replicas}.\n"
)


def preview_yaml(project: Project, spec_data: dict[str, Any], builder: ImageBuilder) -> str:
    """Return the YAML of every object the service would create (Secret data redacted).

    `builder` may be unsaved (the wizard's review step, before anything exists): the workload
    then names `<image>:<tag>` at 0 replicas, as created before its first build.
    """
    spec = check_spec(with_default_context(spec_data, builder))
    check_service_name(project, spec)
    run = last_successful_run(builder) if builder.pk else None
    namespace, objects = render_objects(spec, project, builder, run)
    text = to_yaml(redact_secrets([namespace, *objects]))
    if run is not None:
        return text
    note = PENDING_NOTE.format(
        kind=workload_kind(spec), image=builder.image_reference(), replicas=spec.replicas
    )
    return note + text


def export_yaml(service: Service) -> str:
    """Return the YAML of the service's objects as currently deployed (Secret data redacted)."""
    spec = parse_service_spec(service.spec)
    if service.builder is None:
        raise UserError("service:no-builder", "This service's image builder was deleted.")
    namespace, objects = render_objects(
        spec, service.project, service.builder, service.deployed_run
    )
    return to_yaml(redact_secrets([namespace, *objects]))


def with_default_context(spec_data: dict[str, Any], builder: ImageBuilder) -> dict[str, Any]:
    """Default the access URL's context path to a WAR's base name (Tomcat deploys it there)."""
    if spec_data.get("context_path") or builder.artifact_kind != "war" or not builder.artifact:
        return spec_data
    return {**spec_data, "context_path": PurePosixPath(builder.artifact.file_name).stem}


def check_spec(spec_data: dict[str, Any]) -> ServiceSpec:
    try:
        return parse_service_spec(spec_data)
    except SpecError as error:
        raise UserError(error.code, str(error)) from error


# --- create, deploy, rollback ------------------------------------------------------------


def check_service_name(project: Project, spec: ServiceSpec) -> None:
    """Refuse a reserved name or one another service of the project has."""
    if spec.name in RESERVED_NAMES:
        raise UserError("service:user:name-reserved", f"{spec.name!r} is reserved; pick another.")
    if Service.objects.filter(project=project, name=spec.name).exists():
        raise UserError(
            "service:user:name-taken", f"A service named {spec.name!r} exists already.", 409
        )


def check_create_service(
    project: Project,
    spec_data: dict[str, Any],
    builder: ImageBuilder,
    user: User | AnonymousUser | None,
) -> Service:
    """Validate, record and apply a service: at 0 replicas until its builder's first success."""
    spec = check_spec(with_default_context(spec_data, builder))
    if builder.project_id != project.pk:
        raise UserError("service:user:builder-elsewhere", "The builder is in another project.")
    check_service_name(project, spec)
    cluster = current_cluster()
    with transaction.atomic():
        service = Service.objects.create(
            project=project,
            cluster=cluster,
            name=spec.name,
            builder=builder,
            spec=spec_to_dict(spec),
            created_by=user if user is not None and user.is_authenticated else None,
        )
    run = last_successful_run(builder)
    try:
        do_deploy(service, run)
    except KubeError:
        service.delete()  # nothing was created in the cluster either (dry run first)
        raise
    if run is None:
        transaction.on_commit(lambda: deploy_if_built_meanwhile(service.pk))
    return service


def deploy_if_built_meanwhile(service_id: int) -> None:
    """Deploy a service created at 0 replicas whose builder's first build succeeded meanwhile.

    The worker rolls a builder's services when a build succeeds; a service whose row was not yet
    committed then (the API creates it in the transaction of its audit entry) was not among
    them, so it looks again once its row is visible."""
    service = (
        Service.objects.select_related("project__workspace", "builder__registry_secret")
        .filter(pk=service_id, deployed_run=None)
        .first()
    )
    run = last_successful_run(service.builder) if service is not None else None
    if service is None or run is None:
        return
    try:
        do_deploy(service, run)
    except (KubeError, UserError):
        logger.warning("service %s not rolled to run %s", service.pk, run.pk, exc_info=True)


def do_deploy(service: Service, run: BuildRun | None) -> list[Manifest]:
    """Apply the service's objects for `run` (None: 0 replicas) and record the outcome."""
    if run is not None and (run.state != BuildState.SUCCESSFUL or not run.digest):
        raise UserError("service:user:run-not-successful", "Only successful runs deploy.")
    if service.builder is None:
        raise UserError("service:no-builder", "This service's image builder was deleted.")
    spec = parse_service_spec(service.spec)
    namespace, objects = render_objects(spec, service.project, service.builder, run)
    kube = connect(service.cluster)
    try:
        applied = kube.apply_all(objects, namespace=namespace)
    except KubeError as error:
        _record(service, ServiceState.FAILED, error_code=error.code, error_message=error.message)
        raise
    finally:
        kube.close()
    state = ServiceState.WAITING if run is None else ServiceState.DEPLOYED
    image = objects[-1]["spec"]["template"]["spec"]["containers"][0]["image"]
    _record(
        service,
        state,
        deployed_run=run,
        deployed_image=image,
        unchanged_run=None,
        error_code="",
        error_message="",
    )
    return applied


def _record(service: Service, state: ServiceState, **fields: object) -> None:
    for name, value in {"state": state, **fields}.items():
        setattr(service, name, value)
    service.save(update_fields=[*fields, "state", "updated_at"])


def on_build_succeeded(run: BuildRun) -> list[Service]:
    """Roll the run's builder's services to its digest; return the services updated.

    Call it after a run ended Successful (e.g. from `transaction.on_commit`). A run that is not
    Successful changes nothing. The first successful run always deploys (the service waited at
    0 replicas); later ones only when the builder's "update workloads" is on, and only when their
    digest differs from the deployed one (a rerun with identical inputs gives the same digest:
    rolling would restart every pod for nothing, so the service records "no change" instead).
    Cluster errors are recorded on the service, never raised into the pipeline.
    """
    run = BuildRun.objects.select_related("builder").get(pk=run.pk)
    if run.state != BuildState.SUCCESSFUL or not run.digest:
        return []
    updated = []
    for service in Service.objects.filter(builder=run.builder).select_related("project__workspace"):
        if service.deployed_run_id is not None and not run.builder.update_workloads:
            continue
        if runs_deployed_digest(service, run):
            _record(service, ServiceState.DEPLOYED, unchanged_run=run)
            continue
        try:
            do_deploy(service, run)
        except (KubeError, UserError) as error:
            logger.warning("service %s not rolled to run %s", service.pk, run.pk, exc_info=True)
            announce_rollout(service, run, succeeded=False, message=error.message)
            continue
        announce_rollout(service, run, succeeded=True)
        updated.append(service)
    return updated


def announce_rollout(
    service: Service, run: BuildRun, *, succeeded: bool, message: str = ""
) -> None:
    """Send `rollout_finished` (notifications tell the members); receivers' errors are logged."""
    outcomes = rollout_finished.send_robust(
        sender=Service, service=service, run=run, succeeded=succeeded, message=message
    )
    for receiver, outcome in outcomes:
        if isinstance(outcome, Exception):  # a subscriber's problem never changes the rollout
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("%s failed after service %s rolled", name, service.pk, exc_info=outcome)


def runs_deployed_digest(service: Service, run: BuildRun) -> bool:
    """True when SERVICE is deployed and already runs RUN's image digest (pinned `…@digest`)."""
    return service.state == ServiceState.DEPLOYED and service.deployed_image.endswith(
        f"@{run.digest}"
    )


def roll_services_after_build(sender: Any, *, run: BuildRun, **kwargs: Any) -> None:
    """Receive `build_succeeded` (connected in WorkloadsConfig.ready)."""
    on_build_succeeded(run)


def check_rollback(service: Service, run_number: int) -> BuildRun:
    """Deploy the digest of an earlier successful run of the service's builder."""
    if service.builder is None:
        raise UserError("service:no-builder", "This service's image builder was deleted.")
    run = service.builder.runs.filter(number=run_number).first()
    if run is None:
        raise UserError("service:user:no-such-run", f"There is no run #{run_number}.", 404)
    if run.state != BuildState.SUCCESSFUL or not run.digest:
        raise UserError(
            "service:user:run-not-successful",
            f"Run #{run_number} did not succeed, so there is no image to roll back to.",
            409,
        )
    try:
        do_deploy(service, run)
    except (KubeError, UserError) as error:
        announce_rollout(service, run, succeeded=False, message=error.message)
        raise
    announce_rollout(service, run, succeeded=True)
    return run


# --- status and deletion -----------------------------------------------------------------


def workload_kind(spec: ServiceSpec) -> str:
    return "StatefulSet" if spec.stateful else "Deployment"


def service_status(service: Service) -> dict[str, Any]:
    """Return rollout progress, pods, events and access URLs of a service, read live."""
    spec = parse_service_spec(service.spec)
    kube = connect(service.cluster)
    try:
        status: WorkloadStatus = kube.workload_status(
            workload_kind(spec), service.project.namespace, shorten_name(spec.workload_name)
        )
        urls = kube.access_urls(service.project.namespace, spec.name, spec.context_path)
    finally:
        kube.close()
    return {**status.as_dict(), "access_urls": urls}


def list_build_jobs(project: Project) -> list[dict[str, Any]]:
    """Return the project's build Jobs (Kubernetes executor) in its namespace, newest first."""
    kube = connect(current_cluster())
    try:
        jobs = kube.list("Job", project.namespace, label_selector=BUILD_JOB_SELECTOR)
    finally:
        kube.close()
    summaries = [job_summary(job) for job in jobs]
    return sorted(summaries, key=lambda job: job["created_at"] or "", reverse=True)


@dataclass(frozen=True)
class DeleteOptions:
    """What to delete along with the service record (the dialog's checkboxes)."""

    workload: bool = True
    kube_service: bool = True
    pull_secret: bool = True
    builder: bool = False  # deleting the builder deletes its runs too


def do_delete_service(service: Service, options: DeleteOptions) -> list[str]:
    """Delete the service and the chosen objects; return what was deleted, for the user."""
    spec = parse_service_spec(service.spec)
    namespace = service.project.namespace
    targets = []
    if options.workload:
        targets.append((workload_kind(spec), shorten_name(spec.workload_name)))
    if options.kube_service:
        targets.append(("Service", spec.name))
        if spec.stateful:
            targets.append(("Service", shorten_name(f"{spec.name}-headless")))
    if options.pull_secret and service.builder is not None and not _secret_shared(service):
        targets.append(("Secret", service.builder.registry_secret.name))
    kube = connect(service.cluster)
    try:
        deleted = [f"{k}/{n}" for k, n in targets if kube.delete(k, namespace, n)]
    finally:
        kube.close()
    builder = service.builder
    service.delete()
    if options.builder and builder is not None and not builder.services.exists():
        builder.delete()
        deleted.append(f"ImageBuilder/{builder.name}")
    return deleted


def _secret_shared(service: Service) -> bool:
    """Return whether another service of the project still pulls with the same secret."""
    others = Service.objects.filter(project=service.project).exclude(pk=service.pk)
    secret_id = service.builder.registry_secret_id if service.builder else None
    return others.filter(builder__registry_secret_id=secret_id).exists()


def runs_services_use(sender: object, **kwargs: object) -> set[int]:
    """Runs a service deploys or found unchanged (builders.signals.runs_in_use): kept."""
    rows = Service.objects.values_list("deployed_run_id", "unchanged_run_id")
    return {run_id for pair in rows for run_id in pair if run_id is not None}
