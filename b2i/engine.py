"""The image engine, framework-free: artifact in, pushed image out.

    from b2i.engine import BuildRequest, RegistryAccess, build_image, BuildCancelled
    result = build_image(
        BuildRequest(
            artifact=Path("app.jar"),
            target="registry.example.com/team/app:v1",
            environment="java-17",                 # a name, a BuildEnvironment, or None
            env={"JAVA_TOOL_OPTIONS": "-Xmx256m"},
            registries={"registry.example.com": RegistryAccess(credentials=...)},
        ),
        on_event=print,                            # an EventSink: b2i.oci.events.Event
        cancel_requested=lambda: False,            # polled; a cancel interrupts blocked requests
    )
    result.reference  # "registry.example.com/team/app@sha256:…"

Supply chain (opt-in): `BuildRequest(..., supply_chain=SupplyChainOptions(builder_id=...,
invocation_id=...))` also makes a CycloneDX 1.6 SBOM and an in-toto SLSA v1 provenance
statement, pushes both as OCI 1.1 referrers of the image (b2i.sbom) and returns them in
`result.sbom_document` / `result.provenance_document` with their referrer digests.

Steps (each announced by `step-started` / `step-finished` events with its duration):
inspect → resolve-base → write-layers → compose → push. The artifact is inspected before
anything is written to a registry, so bad input never pushes anything; when the base is known
without the inspection (`base_image`, or a named `environment`) it is resolved (read only)
while the artifact is inspected, and its step is announced once the inspection is done.
The base is resolved to one
platform (linux/amd64 by default, attestations skipped) and pinned by digest; the output is
reproducible (same artifact + same base digest + same settings → same image digest).
`platform="all"` (JARs/WARs only) builds on every linux platform of a base index and pushes
an image index (b2i.oci.multiplatform); the artifact layers are written and uploaded once.

Errors: `ArtifactError` (b2i.packaging.errors) for unusable artifacts, `OciError`
(b2i.oci.errors) for registries and images, `BuildError` for everything else the user
can fix; all three carry a stable `code` and an actionable `message`. A cancel raises
`BuildCancelled`, within a fraction of a second whatever the build is waiting for: the
request's CancelToken (set by the caller, or by `cancel_requested` turning true) shuts down the
build's registry connections and ends retry waits (b2i.oci.cancel); any failure that follows
a cancel is reported as the cancel. Registry requests are retried on their own (408/429/5xx,
connection errors) within `retry_budget` seconds per registry. No Django, no printing:
progress goes to the EventSink only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from b2i.base_in_advance import AdvanceResolve, base_in_advance
from b2i.engine_layers import EarlyUploads, WrittenLayers, write_artifact_layers
from b2i.engine_types import BuildError as BuildError
from b2i.engine_types import BuildRequest as BuildRequest
from b2i.engine_types import BuildResult as BuildResult
from b2i.engine_types import RegistryAccess as RegistryAccess
from b2i.engine_types import with_supply_chain
from b2i.oci.cancel import BuildCancelled as BuildCancelled  # the engine's public name
from b2i.oci.cancel import CancelToken, linked
from b2i.oci.digest_cache import digest_cache_in
from b2i.oci.errors import OciError
from b2i.oci.events import Event, EventSink, ignore_event
from b2i.oci.image import (
    BaseImage,
    ComposedImage,
    ContainerSettings,
    ImageMetadata,
    Platform,
    compose_image,
)
from b2i.oci.layers import LayerError
from b2i.oci.multiplatform import (
    ALL_PLATFORMS,
    DEFAULT_PLATFORM,
    base_platform,
    push_platform_images,
    resolve_bases,
)
from b2i.oci.netpolicy import check_host_allowed, split_host_port
from b2i.oci.push import BaseSource, PushReport, push_image, resolve_base
from b2i.oci.references import Reference, parse_reference
from b2i.oci.registry import RegistryClient
from b2i.packaging.environments import (
    BuildEnvironment,
    check_environment_accepts,
    environment_warnings,
    get_environment,
    rewrite_docker_hub_reference,
)
from b2i.packaging.errors import ArtifactError
from b2i.packaging.inspection import HASH_CHUNK, Inspection, file_sha256, inspect_artifact
from b2i.sbom.options import BuildFacts, SupplyChainResult
from b2i.sbom.options import SupplyChainOptions as SupplyChainOptions

if TYPE_CHECKING:
    from b2i.engine_supply import SupplyChainWork

USER_ERRORS = (ArtifactError, OciError)


@dataclass
class _Run:
    """The state of one build while it runs: events, timings, cancel checks, clients."""

    request: BuildRequest
    on_event: EventSink
    cancel_requested: Callable[[], bool]
    token: CancelToken = field(default_factory=CancelToken)
    timings: dict[str, float] = field(default_factory=dict)
    clients: dict[str, RegistryClient] = field(default_factory=dict)

    def checkpoint(self) -> None:
        if self.cancel_requested():
            self.token.set()
        self.token.check()

    @contextlib.contextmanager
    def step(self, name: str, message: str = "") -> Iterator[None]:
        self.checkpoint()
        self.on_event(Event("step-started", step=name, message=message))
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        self.timings[name] = round(took, 3)
        self.on_event(Event("step-finished", step=name, duration=took))

    def log(self, step: str, message: str) -> None:
        self.on_event(Event("log", step=step, message=message))

    def client(self, reference: Reference) -> RegistryClient:
        """Return one client per registry, so base and target share it (mounts work)."""
        host = reference.api_host
        if host not in self.clients:
            self.clients[host] = self.new_client(reference, self.on_event)
            self.log_route(reference)
        return self.clients[host]

    def log_route(self, reference: Reference) -> None:
        """Say which proxy (credentials redacted) a registry is reached through, if any."""
        proxy = self.request.proxy
        scheme = self.access(reference.registry).scheme
        via = proxy.proxy_for(scheme, *split_host_port(reference.api_host)) if proxy else None
        if via is not None:
            self.log("registry", f"{reference.api_host} via the proxy {via}")

    def new_client(self, reference: Reference, on_event: EventSink) -> RegistryClient:
        """Return a client of its own for REFERENCE's registry, reporting to ON_EVENT."""
        access = self.access(reference.registry)
        return RegistryClient(
            reference.registry,
            scheme=access.scheme,
            credentials=access.credentials,
            verify=access.verify,
            ca_bundle=access.ca_bundle,
            allowed_networks=self.request.allowed_networks,
            on_event=on_event,
            proxy=self.request.proxy,
            retry_budget=self.request.retry_budget,
            cancel=self.token,
        )

    def events_to(self, reference: Reference) -> Callable[[EventSink], RegistryClient]:
        """Return a maker of clients for REFERENCE that report to a given sink."""
        return lambda sink: self.new_client(reference, sink)

    def access(self, registry: str) -> RegistryAccess:
        """Return the access settings for REGISTRY (as named in references, e.g. docker.io)."""
        access = self.request.registries.get(registry)
        if access is not None:
            return access
        lookup = self.request.access_for
        return lookup(registry) if lookup is not None else RegistryAccess()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def build_image(
    request: BuildRequest,
    on_event: EventSink = ignore_event,
    cancel_requested: Callable[[], bool] = lambda: False,
) -> BuildResult:
    """Inspect the artifact, build the image on its base and push it; return what was pushed."""
    token = request.cancel or CancelToken()
    run = _Run(request, on_event, cancel_requested, token)
    with linked(cancel_requested, token):
        try:
            return _build(run)
        except BuildCancelled:
            raise
        except Exception as error:
            # A cancel makes the requests in flight fail (their connections are shut down):
            # whatever error that surfaces as, the build was cancelled.
            if token.is_set():
                raise BuildCancelled("the build was cancelled") from error
            raise
        finally:
            run.close()


def _build(run: _Run) -> BuildResult:
    request = run.request
    target = parse_target(request.target)
    every_platform = request.platform == ALL_PLATFORMS
    platform = DEFAULT_PLATFORM if every_platform else Platform.parse(request.platform)
    # Refuse a blocked target (metadata, link-local, unlisted private) before doing any work.
    check_host_allowed(target.api_host, request.allowed_networks)
    base_platforms = None if every_platform else platform
    known_base = known_base_reference(request)
    # Big new layers are streamed to the target while written (one platform: one target).
    early = None if every_platform else EarlyUploads(run.events_to(target), target.repository)
    with (
        _hashing(request.artifact) as artifact_sha256,
        base_in_advance(
            run, known_base, run.client, lambda ref: resolve_for(run, ref, base_platforms)
        ) as advance,
        _closing(early),
        _supply_chain(request) as supply,
    ):
        inspection, environment, warnings = _inspect_step(run, platform)
        if supply is not None:
            supply.read_artifact(request.artifact, inspection, artifact_sha256)
        if every_platform and inspection.kind == "binary":
            raise BuildError(
                "build:user:platform-all-needs-jvm",
                "--platform all is for JARs and WARs; a Linux binary runs on one architecture: "
                "choose --platform OS/ARCH.",
            )
        base_ref = base_reference(request, environment)
        with _workdir(request) as workdir, ThreadPoolExecutor(max_workers=1) as background:
            # The layers are written (CPU) while the base is resolved (network round trips);
            # the write-layers step then only shows what was left to wait for. Events stay in
            # order.
            writing = background.submit(
                write_artifact_layers,
                request, inspection, environment, workdir, early, artifact_sha256, run.checkpoint,
            )  # fmt: skip
            bases = _resolve_base(run, advance, base_ref, base_platforms)
            if supply is not None:
                base_client = partial(run.new_client, base_ref, ignore_event)
                supply.read_base(bases[0], base_ref.repository, base_client)
            _say_which_mirror(run, environment, base_ref)
            layers = _write_layers_step(run, writing)
            if supply is not None:
                supply.share_layer_digests(layers.archive)
            if layers.inspection is not None:
                inspection = layers.inspection
                warnings = inspection_warnings(inspection, environment, platform)
            inspection = replace(inspection, sha256=artifact_sha256())
            with run.step("compose"):
                images = [compose_for(request, inspection, environment, b, layers) for b in bases]
            if supply is not None and len(images) == 1:
                # Made (and its blob uploaded) while the image is pushed.
                target_client = partial(run.new_client, target, ignore_event)
                supply.prepare(target, images[0], inspection, target_client)
            with run.step("push", str(target)):
                pairs = list(zip(bases, images, strict=True))
                report = push_to(run, target, base_ref, pairs, layers, early)
            chain = None
            if supply is not None:
                with run.step("sbom", "SBOM and provenance"):
                    facts = build_facts(request, environment)
                    chain = supply.finish(
                        run.client(target), target, report, images[0], bases, inspection, facts
                    )
                    run.log("sbom", _describe_chain(chain))
    result = _result(run, target, report, bases, images[0], inspection, environment, warnings)
    return with_supply_chain(result, chain)


def _say_which_mirror(run: _Run, environment: BuildEnvironment, base_ref: Reference) -> None:
    """Log the mirror that served a Docker Hub base (users ask where a base came from)."""
    mirror = run.request.mirror
    original = environment.base_image
    if run.request.base_image or rewrite_docker_hub_reference(original, mirror) == original:
        return
    run.log("resolve-base", f"{original} was served by the registry mirror {mirror} ({base_ref})")


def _resolve_step(run: _Run, base_ref: Reference, platform: Platform | None) -> list[BaseImage]:
    with run.step("resolve-base", str(base_ref)):
        bases = resolve_for(run, base_ref, platform)
        for base in bases:
            run.log("resolve-base", f"pinned {base.pinned_name} ({base_platform(base)})")
    return bases


def _resolve_base(
    run: _Run, advance: AdvanceResolve | None, base_ref: Reference, platform: Platform | None
) -> list[BaseImage]:
    """Return the base resolved in advance when it is BASE_REF; else resolve it now."""
    if advance is not None:
        if advance.base_ref == base_ref:
            return advance.join()
        advance.abandon()
    return _resolve_step(run, base_ref, platform)


def _write_layers_step(run: _Run, writing: Future[WrittenLayers]) -> WrittenLayers:
    with run.step("write-layers"):
        try:
            layers = writing.result()
        except LayerError as error:
            raise BuildError("build:user:unreadable-artifact", str(error)) from error
        for blob, line, hit in zip(layers.blobs, layers.created_by, layers.cached, strict=True):
            how = ", from the layer cache" if hit else ""
            run.log("write-layers", f"{line} ({blob.size} bytes, {blob.digest[:19]}{how})")
        if layers.inspection is not None:
            _report_class_scan(run, layers.inspection, layers.environment_warnings)
    return layers


def _report_class_scan(run: _Run, inspection: Inspection, warnings: Sequence[str]) -> None:
    run.log("write-layers", f"classes read: {inspection.summary()}")
    for warning in warnings:
        run.log("write-layers", f"warning: {warning}")


def _result(
    run: _Run,
    target: Reference,
    report: PushReport,
    bases: Sequence[BaseImage],
    image: ComposedImage,
    inspection: Inspection,
    environment: BuildEnvironment,
    warnings: Sequence[str],
) -> BuildResult:
    return BuildResult(
        reference=f"{target.name}@{report.digest}",
        digest=report.digest,
        tags=report.tags,
        base_reference=bases[0].pinned_name,
        environment=environment.name,
        compressed_size=image.compressed_size,
        layers_pushed=report.layers_pushed,
        layers_reused=report.layers_reused,
        bytes_pushed=report.layer_bytes_pushed,
        bytes_reused=report.layer_bytes_reused,
        step_timings=dict(run.timings),
        inspection=inspection.as_dict(),
        warnings=tuple(warnings),
        platforms=tuple(str(base_platform(b)) for b in bases),
    )


def _inspect_step(run: _Run, platform: Platform) -> tuple[Inspection, BuildEnvironment, list[str]]:
    request = run.request
    with run.step("inspect", request.filename or request.artifact.name):
        inspection, environment, warnings = inspect_for(request, platform)
        environment_variables(request, environment)  # a missing parameter fails before any pull
        run.log("inspect", f"{inspection.summary()}; environment {environment.name}")
        for warning in warnings:
            run.log("inspect", f"warning: {warning}")
    return inspection, environment, warnings


def parse_target(text: str) -> Reference:
    """Parse the target `REGISTRY/REPO:TAG`; a digest cannot be a push target."""
    reference = parse_reference(text)
    if reference.digest:
        raise BuildError(
            "build:user:invalid-target",
            f"the target {text!r} names a digest; push to a tag (REGISTRY/REPO:TAG) instead.",
        )
    return reference


def inspect_for(
    request: BuildRequest, platform: Platform
) -> tuple[Inspection, BuildEnvironment, list[str]]:
    """Inspect the artifact and pick its environment; return both and the warnings.

    With the environment chosen by the request, a JAR's class-file versions (only warnings
    depend on them) are left to the layer writer, which reads every class anyway.
    """
    inspection = inspect_artifact(
        request.artifact,
        request.expected_kind,
        request.filename,
        context=request.context,
        scan_classes=not request.environment,
        hash_file=False,  # hashed beside it (see _hashing)
    )
    environment = choose_environment(request, inspection)
    check_environment_accepts(inspection, environment)
    return inspection, environment, inspection_warnings(inspection, environment, platform)


def inspection_warnings(
    inspection: Inspection, environment: BuildEnvironment, platform: Platform
) -> list[str]:
    """Return the artifact's own warnings and those of running it in this environment."""
    facts = inspection.jar or inspection.war
    own = list(facts.warnings) if facts is not None else []
    warnings = [*own, *environment_warnings(inspection, environment, platform.architecture)]
    return list(dict.fromkeys(warnings))


def choose_environment(request: BuildRequest, inspection: Inspection) -> BuildEnvironment:
    """Return the requested environment, else the one the inspection recommends."""
    chosen = request.environment
    if isinstance(chosen, BuildEnvironment):
        return chosen
    name = chosen or inspection.recommended_environment
    if not name:
        raise BuildError("build:user:no-environment", "choose a build environment (--env).")
    return get_environment(name)


def known_base_reference(request: BuildRequest) -> Reference | None:
    """Return the base when it does not depend on the inspection (--from, a named environment).

    None when the recommended environment decides, or when the name is bad: that error is then
    reported where it always was, after the inspection.
    """
    chosen = request.environment
    text = request.base_image or None  # as base_reference: an empty --from means none
    try:
        if text is None and isinstance(chosen, BuildEnvironment):
            text = chosen.base_image
        elif text is None and isinstance(chosen, str) and chosen:
            text = get_environment(chosen).base_image
        if text is None:
            return None
        return parse_reference(rewrite_docker_hub_reference(text, request.mirror))
    except (ArtifactError, OciError):
        return None


def base_reference(request: BuildRequest, environment: BuildEnvironment) -> Reference:
    """Return the base to build on: --from wins over the environment's; mirror applied."""
    text = request.base_image or environment.base_image
    return parse_reference(rewrite_docker_hub_reference(text, request.mirror))


@contextlib.contextmanager
def _hashing(artifact: Path) -> Iterator[Callable[[], str]]:
    # The artifact's digest (for its label and a packaged layer's cache key) is computed in a
    # thread of its own, beside the inspection and the layer writing rather than before them.
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(file_sha256, artifact, HASH_CHUNK).result


@contextlib.contextmanager
def _supply_chain(request: BuildRequest) -> Iterator[SupplyChainWork | None]:
    if request.supply_chain is None:
        yield None
        return
    # Imported by the builds that ask for it (start-up speed: its readers and cyclonedx).
    from b2i.engine_supply import SupplyChainWork

    work = SupplyChainWork(request.supply_chain, request.layer_cache)
    try:
        yield work
    finally:
        work.close()


def build_facts(request: BuildRequest, environment: BuildEnvironment) -> BuildFacts:
    """Return the build's settings as the provenance records them (variables by name)."""
    settings = {
        "platform": request.platform, "port": request.port or environment.port,
        "baseImage": request.base_image or environment.base_image, "context": request.context,
        "exploded": request.exploded, "expectedKind": request.expected_kind,
    }  # fmt: skip
    names = sorted(environment_variables(request, environment))
    return BuildFacts(environment.name, settings, names, tuple(request.extra_tags))


def _describe_chain(chain: SupplyChainResult) -> str:
    count = len(chain.sbom_document.get("components") or [])
    if not chain.sbom_referrer_digest:
        return f"SBOM of {count} components and provenance made (not pushed)"
    how = "the referrers API" if chain.referrers_via == "api" else "the referrers tag"
    return (
        f"SBOM of {count} components ({chain.sbom_referrer_digest[:19]}) and provenance "
        f"({(chain.provenance_referrer_digest or '')[:19]}) pushed as referrers via {how}"
    )


@contextlib.contextmanager
def _closing(early: EarlyUploads | None) -> Iterator[None]:
    try:
        yield
    finally:
        if early is not None:
            early.close()


@contextlib.contextmanager
def _workdir(request: BuildRequest) -> Iterator[Path]:
    if request.workdir is not None:
        request.workdir.mkdir(parents=True, exist_ok=True)
    # The pid lets a console worker tell a killed build's directory from a live one's.
    prefix = f"b2i-build-{os.getpid()}-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=request.workdir) as directory:
        yield Path(directory)


def container_settings(
    request: BuildRequest, environment: BuildEnvironment, layers: WrittenLayers
) -> ContainerSettings:
    """Return the run settings: the environment's, the layout's, then the request's env/port."""
    port = request.port or environment.port
    keep = environment.keep_base_command
    entrypoint = layers.entrypoint or (None if keep else environment.entrypoint)
    cmd = layers.cmd if layers.entrypoint else (None if keep else environment.cmd)
    return ContainerSettings(
        entrypoint=None if entrypoint is None else list(entrypoint),
        cmd=None if cmd is None else list(cmd),
        env=environment_variables(request, environment),
        exposed_ports=[str(port)] if port else [],
        working_dir=layers.workdir or environment.workdir,
        user=environment.user,
    )


def environment_variables(request: BuildRequest, environment: BuildEnvironment) -> dict[str, str]:
    """Return parameter defaults overlaid with the request's values; refuse missing required."""
    values = {p.key: p.default for p in environment.parameters if p.default}
    values.update(request.env)
    for name in values:
        if not name or "=" in name or "\0" in name:
            raise BuildError("build:user:invalid-env", f"{name!r} is not a valid variable name.")
    missing = [p.key for p in environment.parameters if p.required and not values.get(p.key)]
    if missing:
        raise BuildError(
            "build:user:missing-parameter",
            f"the environment {environment.name} needs {', '.join(missing)}; give it a value.",
        )
    return values


def compose_for(
    request: BuildRequest,
    inspection: Inspection,
    environment: BuildEnvironment,
    base: BaseImage,
    layers: WrittenLayers,
) -> ComposedImage:
    """Compose the image: base + artifact layers + environment settings + provenance."""
    metadata = ImageMetadata(
        title=inspection.filename or request.artifact.name,
        artifact_sha256=inspection.sha256,
        source=request.source,
    )
    settings = container_settings(request, environment, layers)
    return compose_image(base, layers.new_layers(), settings, metadata)


def resolve_for(run: _Run, base_ref: Reference, platform: Platform | None) -> list[BaseImage]:
    """Resolve the base for PLATFORM, or (None) for every linux platform of its index."""
    client, name = run.client(base_ref), str(base_ref)
    repository, reference = base_ref.repository, base_ref.manifest_reference
    cache = digest_cache_in(run.request.layer_cache)  # the base's manifests and config
    if platform is None:
        return resolve_bases(client, repository, reference, name, cache)
    return [resolve_base(client, repository, reference, name, platform, cache)]


def push_to(
    run: _Run,
    target: Reference,
    base_ref: Reference,
    images: list[tuple[BaseImage, ComposedImage]],
    layers: WrittenLayers,
    early: EarlyUploads | None = None,
) -> PushReport:
    """Push the image (several: each by digest, then their index) to the target."""
    target_client = run.client(target)
    uploaded_early = early.by_digest() if early is not None else {}
    for upload in uploaded_early.values():
        upload.wait()  # its retries happened in its thread: replayed here, in order
    if early is not None:
        early.replay_events(run.on_event)
    source = BaseSource(run.client(base_ref), base_ref.repository)
    tags = [target.tag or "latest", *run.request.extra_tags]
    local_blobs = {blob.digest: blob.path for blob in layers.blobs}
    if run.request.platform == ALL_PLATFORMS and len(images) > 1:
        return push_platform_images(
            target_client, target.repository, tags, images, local_blobs=local_blobs,
            base=source, on_event=run.on_event, checkpoint=run.checkpoint,
        )  # fmt: skip
    return push_image(
        target_client, target.repository, tags, images[0][1], local_blobs=local_blobs,
        base=source, on_event=run.on_event, checkpoint=run.checkpoint, early=uploaded_early,
    )  # fmt: skip
