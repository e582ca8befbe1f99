"""Issue 17 for builds run as Kubernetes Jobs: the Job's `b2i build` is asked for an SBOM and
provenance naming the run, and the executor reads the documents its log names back from the
registry (a real image and real referrers pushed by the engine, read by the console)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from b2i.cli import print_result
from b2i.engine import BuildRequest, BuildResult, RegistryAccess, SupplyChainOptions, build_image
from builders.build_jobs import BuildJob, RegistryTarget
from builders.supply_chain.store import RESULT_KEY
from tests.fixtures import artifacts
from tests.fixtures.base_images import BaseImage
from tests.fixtures.registry import Registry
from workloads.executor import KubernetesJobExecutor, pushed_documents
from workloads.jobs import BuildJobSpec, render_build_job

INVOCATION = "https://console.test/workspaces/acme/projects/shop/imagebuilders/hello/#run-3"
OPTIONS = SupplyChainOptions(builder_id="urn:test", invocation_id=INVOCATION)
COMPLETE = {"type": "Complete", "reason": "", "message": ""}


def job_for(registry: Registry, reference: str, supply_chain: bool = True) -> BuildJob:
    host = registry.url.split("://", 1)[1]
    return BuildJob(
        run_id=3,
        artifact_path=Path("/nowhere"),
        artifact_file_name="hello",
        artifact_sha256="0" * 64,
        artifact_kind="binary",
        environment={},
        environment_parameters={},
        image_reference=reference,
        registry=RegistryTarget(host, "http", "", "", True, None),
        allowed_networks=("127.0.0.0/8",),
        supply_chain=OPTIONS if supply_chain else None,
    )


def build_with_documents(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> BuildResult:
    host = registry.url.split("://", 1)[1]
    request = BuildRequest(
        artifact=artifacts.build_static_binary(tmp_path, f"job sbom {tmp_path.name}"),
        target=f"{host}/demo/job-sbom:latest",
        registries={host: RegistryAccess(scheme="http")},
        allowed_networks=("127.0.0.0/8",),
        base_image=busybox_base.tagged,
        supply_chain=OPTIONS,
    )
    return build_image(request)


def cli_lines(result: BuildResult) -> list[str]:
    """What the Job's pod prints (stderr summary, then the reference), line by line."""
    err, out = io.StringIO(), io.StringIO()
    print_result(result, err, out)
    return [*err.getvalue().splitlines(), *out.getvalue().splitlines()]


def test_the_job_is_asked_for_documents_naming_the_run() -> None:
    spec = BuildJobSpec(
        namespace="shop",
        builder="hello",
        run_number=3,
        console_image="console:1",
        artifact_url="https://console.test/a/",
        artifact_sha256="0" * 64,
        target="127.0.0.1:5000/demo/hello:latest",
        credentials_secret="creds",
        invocation_id=INVOCATION,
    )
    args = render_build_job(spec)["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-3:] == ["--sbom", "--invocation-id", INVOCATION]
    plain = BuildJobSpec(**{**spec.__dict__, "invocation_id": None})
    assert (
        "--sbom" not in render_build_job(plain)["spec"]["template"]["spec"]["containers"][0]["args"]
    )


@pytest.mark.django_db
def test_the_documents_a_job_pushed_are_read_back_from_the_registry(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    result = build_with_documents(registry, busybox_base, tmp_path)
    assert result.sbom_document and result.sbom_referrer_digest
    job = job_for(registry, result.reference.split("@")[0])
    lines = cli_lines(result)
    fields = KubernetesJobExecutor._result(COMPLETE, lines, job)
    documents = fields[RESULT_KEY]
    assert documents["sbom_document"] == result.sbom_document
    assert documents["provenance_document"] == result.provenance_document
    assert documents["sbom_referrer_digest"] == result.sbom_referrer_digest
    assert documents["referrers_via"] == result.referrers_via == "tag"
    # A build without --sbom, or a console that asked for none, reads nothing.
    assert pushed_documents(lines, job_for(registry, job.image_reference, False)) is None
    assert pushed_documents([line for line in lines if "SBOM" not in line], job) is None


@pytest.mark.django_db
def test_documents_that_cannot_be_read_are_no_documents_not_a_failed_build(
    registry: Registry, busybox_base: BaseImage, tmp_path: Path
) -> None:
    result = build_with_documents(registry, busybox_base, tmp_path)
    job = job_for(registry, result.reference.split("@")[0])
    # The log names the image manifest itself as the SBOM: not a one-document artifact.
    lines = [
        line.replace(str(result.sbom_referrer_digest), result.digest) for line in cli_lines(result)
    ]
    fields = KubernetesJobExecutor._result(COMPLETE, lines, job)
    assert RESULT_KEY not in fields and fields["digest"] == result.digest
