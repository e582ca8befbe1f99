"""Image builders' lifecycle as the API and the wizard drive it: validate a draft, create one
(and start its first run), edit, delete. Runs themselves are builders.services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from b2i.oci.errors import InvalidReferenceError
from b2i.oci.references import parse_reference
from b2i_console.errors import UserError
from builders import quotas
from builders.models import Artifact, BuildRun, BuildState, ImageBuilder
from builders.services import do_start_run

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from builders.models import BuildEnvironment
    from projects.models import Project, RegistrySecret


def check_builder_fields(
    project: Project,
    *,
    artifact_kind: str,
    environment: BuildEnvironment,
    registry_secret_name: str | None,
) -> RegistrySecret:
    """Validate environment/kind/secret of a builder; return the project's registry secret."""
    if artifact_kind not in environment.artifact_kinds:
        raise UserError(
            "builder:environment-kind-mismatch",
            f"The build environment {environment.name} does not take {artifact_kind.upper()} "
            f"artifacts; pick one for {artifact_kind.upper()}.",
        )
    secret = project.registry_secrets.filter(name=registry_secret_name or "").first()
    if secret is None:
        raise UserError(
            "builder:unknown-registry-secret",
            f"This project has no registry secret named {registry_secret_name!r}.",
        )
    return secret


def check_image_name(builder: ImageBuilder) -> None:
    """Refuse, when the builder is saved, an image name its build could not push."""
    reference = builder.image_reference("latest")
    try:
        parse_reference(reference)
    except InvalidReferenceError as exc:
        raise UserError(
            "builder:invalid-image-name", f"{exc.message} (the image would be {reference})."
        ) from exc


def check_artifact_matches(artifact: Artifact | None, artifact_kind: str) -> None:
    if artifact is not None and artifact.kind != artifact_kind:
        raise UserError(
            "build:user:kind-mismatch",
            f"this file is a {artifact.kind.upper()}, not a {artifact_kind.upper()}",
        )


def check_builder_draft(
    project: Project, *, artifact: Artifact | None, fields: dict[str, Any]
) -> ImageBuilder:
    """Validate a new builder's fields as create does; return it unsaved (for previews)."""
    if artifact is None:
        raise UserError(
            "builder:artifact-required",
            "Upload the artifact (file), or give artifact_id or upload_id.",
        )
    fields = dict(fields)
    secret_name = (fields.pop("registry_secret", None) or {}).get("name")
    secret = check_builder_fields(
        project,
        artifact_kind=fields["artifact_kind"],
        environment=fields["environment"],
        registry_secret_name=secret_name,
    )
    check_artifact_matches(artifact, fields["artifact_kind"])
    if ImageBuilder.objects.filter(project=project, name=fields["name"]).exists():
        raise UserError(
            "builder:name-taken",
            f"This project already has an image builder named {fields['name']!r}.",
            409,
        )
    builder = ImageBuilder(project=project, registry_secret=secret, artifact=artifact, **fields)
    check_image_name(builder)
    return builder


def check_create_builder(
    project: Project, user: User | AnonymousUser, *, artifact: Artifact, fields: dict[str, Any]
) -> tuple[ImageBuilder, BuildRun]:
    """Create a builder with its artifact, then start run #1."""
    builder = check_builder_draft(project, artifact=artifact, fields=fields)
    builder.created_by = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            quotas.check_builder_quota(project.workspace_id)
            builder.save()
    except IntegrityError as exc:  # created concurrently under the same name
        raise UserError("builder:name-taken", "That name was just taken.", 409) from exc
    run = do_start_run(builder, user=user)
    return builder, run


def check_update_builder(builder: ImageBuilder, fields: dict[str, Any]) -> ImageBuilder:
    """Apply edits to a builder (name and kind stay); checks environment and secret again."""
    fields = dict(fields)
    secret_field = fields.pop("registry_secret", None)
    secret = check_builder_fields(
        builder.project,
        artifact_kind=builder.artifact_kind,
        environment=fields.get("environment", builder.environment),
        registry_secret_name=(secret_field or {}).get("name") or builder.registry_secret.name,
    )
    for name, value in fields.items():
        setattr(builder, name, value)
    builder.registry_secret = secret
    check_image_name(builder)
    builder.save()
    return builder


def check_delete_builder(builder: ImageBuilder) -> None:
    """Delete a builder unless a run is still active (cancel it first)."""
    if builder.runs.filter(state__in=[BuildState.PENDING, BuildState.RUNNING]).exists():
        raise UserError(
            "builder:run-active",
            "A run of this builder is queued or running; cancel it before deleting the builder.",
            409,
        )
    builder.delete()
