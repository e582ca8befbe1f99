"""Serializers of the builders API: public ids are names, numbers and UUIDs, never pks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from b2i_console.safe_text import reject_unsafe_characters, reject_unsafe_in_text
from builders.models import (
    DNS1123_LABEL,
    IMAGE_TAG,
    TRIGGER_TOKEN,
    Artifact,
    ArtifactUpload,
    BuildEnvironment,
    BuildRun,
    ImageBuilder,
    RunSupplyChain,
    generate_trigger_token,
)
from projects import access
from projects.crypto import SecretDecryptionError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ArtifactSerializer(serializers.ModelSerializer[Artifact]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    uploaded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Artifact
        fields = [
            "id",
            "file_name",
            "size",
            "sha256",
            "kind",
            "summary",
            "inspection",
            "uploaded_by",
            "created_at",
        ]
        read_only_fields = fields


class ArtifactUploadSerializer(serializers.ModelSerializer[ArtifactUpload]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    offset = serializers.IntegerField(source="received", read_only=True)
    size = serializers.IntegerField(source="total_size", min_value=1)
    sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", source="expected_sha256", required=False, allow_blank=True
    )
    # null until the upload completes
    artifact = ArtifactSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ArtifactUpload
        fields = ["id", "file_name", "size", "sha256", "offset", "artifact", "created_at"]
        read_only_fields = ["id", "offset", "artifact", "created_at"]


class BuildEnvironmentSerializer(serializers.ModelSerializer[BuildEnvironment]):
    class Meta:
        model = BuildEnvironment
        fields = [
            "name",
            "title",
            "base_image",
            "artifact_kinds",
            "spec",
            "builtin",
            "enabled",
        ]
        read_only_fields = ["builtin"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = BuildEnvironment(**{**self.current_values(), **attrs})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def current_values(self) -> dict[str, Any]:
        if self.instance is None:
            return {"spec": {}}
        fields = ("name", "title", "base_image", "artifact_kinds", "spec", "enabled")
        return {name: getattr(self.instance, name) for name in fields}


class SupplyChainSummarySerializer(serializers.ModelSerializer[RunSupplyChain]):
    """What the run list shows of a run's SBOM: its size and what changed since `compared_with`."""

    compared_with = serializers.IntegerField(
        source="compared_with.number", allow_null=True, read_only=True
    )

    class Meta:
        model = RunSupplyChain
        fields = [
            "component_count",
            "compared_with",
            "added",
            "removed",
            "upgraded",
            "referrers_via",
            "sbom_referrer_digest",
            "provenance_referrer_digest",
        ]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer[BuildRun]):
    builder = serializers.CharField(source="builder.name", read_only=True)
    artifact = ArtifactSerializer(read_only=True, allow_null=True)  # none yet, or a URL's
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    duration = serializers.FloatField(read_only=True, allow_null=True)  # null until finished
    # "" when the run built an uploaded artifact: a plain string, not a "uri".
    artifact_url = serializers.CharField(read_only=True)
    # null: no SBOM (not successful, or made without the supply chain).
    supply_chain = SupplyChainSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = BuildRun
        fields = [
            "number",
            "builder",
            "state",
            "error_code",
            "error_message",
            "tag",
            "artifact",
            "artifact_url",
            "created_by",
            "triggered_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "attempt",
            "requeues",
            "requeued_at",
            "worker_host",
            "heartbeat_at",
            "image_reference",
            "digest",
            "compressed_size",
            "layers_pushed",
            "layers_reused",
            "bytes_pushed",
            "bytes_reused",
            "pull_command",
            "step_timings",
            "supply_chain",
        ]
        read_only_fields = fields


class BuilderListSerializer(serializers.ListSerializer[ImageBuilder]):
    """A page of builders: their latest runs in one query, not one per builder."""

    def to_representation(self, data: Any) -> list[Any]:
        builders = list(data.all() if hasattr(data, "all") else data)
        attach_latest_runs(builders)
        return super().to_representation(builders)


class TriggerTokenField(serializers.CharField):
    """The trigger token: written as given, answered (decrypted) to operators only, by
    BuilderSerializer.to_representation. Not write-only: the schema documents the answer."""

    def get_attribute(self, instance: Any) -> str:
        return ""  # never decrypted here: to_representation decides who sees it


class BuilderSerializer(serializers.ModelSerializer[ImageBuilder]):
    name = serializers.CharField(max_length=63, validators=[DNS1123_LABEL])
    tag = serializers.CharField(max_length=128, validators=[IMAGE_TAG], default="latest")
    trigger_token = TriggerTokenField(
        max_length=128, validators=[TRIGGER_TOKEN], required=False, allow_blank=True
    )
    environment = serializers.SlugRelatedField(
        slug_field="name", queryset=BuildEnvironment.objects.filter(enabled=True)
    )
    registry_secret = serializers.CharField(source="registry_secret.name")
    artifact = ArtifactSerializer(read_only=True, allow_null=True)  # none yet, or a URL's
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    status = serializers.SerializerMethodField()
    latest_run = serializers.SerializerMethodField()
    trigger_url = serializers.SerializerMethodField()
    # Whether a token is set, for everyone: a viewer sees no URL, but must not be told "none".
    has_trigger_token = serializers.SerializerMethodField()
    generate_trigger_token = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Replace the trigger token with a new random one made by the console.",
    )
    # Explicit default: a multipart create (with the artifact file) that leaves the box out
    # would otherwise read as False, like an unticked HTML checkbox.
    update_workloads = serializers.BooleanField(default=True)

    class Meta:
        model = ImageBuilder
        list_serializer_class = BuilderListSerializer
        fields = [
            "name",
            "alias",
            "description",
            "artifact_kind",
            "environment",
            "image_name",
            "tag",
            "registry_secret",
            "environment_parameters",
            "trigger_token",
            "generate_trigger_token",
            "trigger_url",
            "update_workloads",
            "artifact",
            "status",
            "latest_run",
            "has_trigger_token",
            "created_by",
            "created_at",
            "updated_at",
        ]
        # Shown on pages: no control or bidi characters (b2i_console/safe_text.py).
        extra_kwargs = {
            "alias": {"validators": [reject_unsafe_characters]},
            "description": {"validators": [reject_unsafe_in_text]},
        }

    def get_status(self, builder: ImageBuilder) -> str:
        return builder_status(latest_run_of(builder))

    def get_latest_run(self, builder: ImageBuilder) -> dict[str, Any] | None:
        run = latest_run_of(builder)
        if run is None:
            return None
        return {
            "number": run.number,
            "state": run.state,
            "tag": run.tag,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration": run.duration,  # seconds, once finished
        }

    def get_has_trigger_token(self, builder: ImageBuilder) -> bool:
        return bool(builder.trigger_token_encrypted)

    def get_trigger_url(self, builder: ImageBuilder) -> str | None:
        token = readable_token(builder)
        if not token:
            return None
        path = reverse(
            "api-imagebuilder-trigger",
            kwargs={
                "workspace": builder.project.workspace.name,
                "project": builder.project.name,
                "name": builder.name,
            },
        )
        request = self.context.get("request")
        # The token goes in a header (X-B2I-Trigger-Token), never in the URL: URLs end up in
        # access logs, proxies' logs and shell histories.
        return request.build_absolute_uri(path) if request is not None else path

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.pop("generate_trigger_token", False):
            attrs["trigger_token"] = generate_trigger_token()
        return attrs

    def to_representation(self, instance: ImageBuilder) -> dict[str, Any]:
        data = super().to_representation(instance)
        # The token is a credential: only those who may run the builder see it.
        if not self.may_operate(instance):
            data["trigger_url"] = None
            del data["trigger_token"]
        else:
            data["trigger_token"] = readable_token(instance)
        return data

    def may_operate(self, builder: ImageBuilder) -> bool:
        """Whether the request's user may run BUILDER; asked once per project, not per row."""
        request = self.context.get("request")
        if request is None:
            return False
        if not hasattr(self, "_may_operate"):
            # One serializer renders every row of a list: its answers outlive a row.
            self._may_operate: dict[int, bool] = {}
        if builder.project_id not in self._may_operate:
            allowed = access.can(request.user, builder.project, "operate")
            self._may_operate[builder.project_id] = allowed
        return self._may_operate[builder.project_id]

    def validate_environment_parameters(self, value: object) -> dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise serializers.ValidationError(_("Give an object of NAME: value pairs."))
        bad_names = sorted(key for key in value if not ENV_NAME.fullmatch(key))
        if bad_names:
            raise serializers.ValidationError(
                _(
                    "Not an environment variable name: %(names)s "
                    "(letters, digits and _, not starting with a digit)."
                )
                % {"names": ", ".join(bad_names)}
            )
        values = {key: str(item) for key, item in value.items()}
        # A NUL byte cannot be stored (PostgreSQL) nor passed to a process environment.
        with_nul = sorted(key for key, item in values.items() if "\x00" in item)
        if with_nul:
            raise serializers.ValidationError(
                _("A NUL character in the value of %(names)s.") % {"names": ", ".join(with_nul)}
            )
        return values


class BuilderUpdateSerializer(BuilderSerializer):
    name = serializers.CharField(read_only=True)
    artifact_kind = serializers.CharField(read_only=True)


class BuilderCreateSerializer(BuilderSerializer):
    """Create fields plus the artifact: a file, an uploaded artifact's id, or a finished upload."""

    file = serializers.FileField(write_only=True, required=False)
    artifact_id = serializers.UUIDField(write_only=True, required=False)
    upload_id = serializers.UUIDField(write_only=True, required=False)

    class Meta(BuilderSerializer.Meta):
        fields = [*BuilderSerializer.Meta.fields, "file", "artifact_id", "upload_id"]


class RunRequestSerializer(serializers.Serializer[ImageBuilder]):
    tag = serializers.CharField(max_length=128, validators=[IMAGE_TAG], required=False)
    file = serializers.FileField(write_only=True, required=False)
    artifact_id = serializers.UUIDField(required=False)
    upload_id = serializers.UUIDField(required=False)


class TriggerRequestSerializer(serializers.Serializer[ImageBuilder]):
    tag = serializers.CharField(max_length=128, validators=[IMAGE_TAG], required=False)
    artifact_url = serializers.URLField(max_length=2048, required=False)
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", required=False)


def readable_token(builder: ImageBuilder) -> str:
    """Return the decrypted trigger token, or "" when the keys cannot decrypt it."""
    try:
        return builder.trigger_token
    except SecretDecryptionError:
        return ""


def attach_latest_runs(builders: Iterable[ImageBuilder]) -> None:
    """Fetch the latest run of every builder of a page in one query (not one per builder).

    Only builders annotated with `latest_run_id` (BuilderList's queryset) are served; others
    keep fetching their own in latest_run_of."""
    page = [b for b in builders if hasattr(b, "latest_run_id")]
    wanted: dict[int, int | None] = {b.pk: getattr(b, "latest_run_id") for b in page}  # noqa: B009
    runs = BuildRun.objects.in_bulk([pk for pk in wanted.values() if pk is not None])
    for builder in page:
        run_id = wanted[builder.pk]
        # The cache latest_run_of reads: not a model field, so the stubs know no such attribute.
        builder._latest_run_cache = runs.get(run_id) if run_id else None  # type: ignore[attr-defined]


def latest_run_of(builder: ImageBuilder) -> BuildRun | None:
    cached = getattr(builder, "_latest_run_cache", "unset")
    if cached == "unset":
        cached = builder.runs.order_by("-number").first()
        # A per-instance cache: not a model field, so the stubs know no such attribute.
        builder._latest_run_cache = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]  # not "unset" here: the cached BuildRun | None


def builder_status(run: BuildRun | None) -> str:
    """Return the list-page status: not-run, building, successful, failed or cancelled."""
    if run is None:
        return "not-run"
    if run.state in ("pending", "running"):
        return "building"
    return str(run.state)
