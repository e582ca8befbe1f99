"""Build environments as one project sees them: can each base be resolved now, which to pick.

GET /api/v1/workspaces/<ws>/projects/<p>/buildenvironments/?kind=jar&artifact=<id>
    &registry_secret=<name>
answers every enabled environment (of that kind) with `availability` (state available /
unavailable / checking, code, reason, and a message for the reader: a platform admin gets the
settings to change, a project user whom to ask), and `recommended`: the environment to preselect
for the artifact, never one known unavailable. Unknown bases are checked in the background:
the page asks again while anything says "checking".
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from b2i_console.errors import UserError
from builders.api import serializers as s
from builders.api.views import BuildersApiView
from builders.availability import (
    CHECKING,
    UNAVAILABLE,
    environments_availability,
    unavailable_help,
)
from builders.models import Artifact, BuildEnvironment
from builders.recommendation import recommend_available
from projects.models import RegistrySecret

SETTINGS_PAGE = "admin:builders_installationsettings_changelist"
ANSWER = inline_serializer(
    "ProjectEnvironments",
    {
        "results": serializers.ListField(child=serializers.DictField()),
        "recommended": serializers.CharField(allow_null=True),
        "checking": serializers.BooleanField(),
        "unavailable_help": serializers.CharField(),
        "settings_url": serializers.CharField(allow_null=True),
    },
)


class ProjectEnvironmentList(BuildersApiView[BuildEnvironment]):
    serializer_class = s.BuildEnvironmentSerializer  # each result, plus its availability

    @extend_schema(responses=ANSWER)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = request.query_params
        environments = [env for env in BuildEnvironment.objects.filter(enabled=True)]
        if params.get("kind"):
            environments = [env for env in environments if params["kind"] in env.artifact_kinds]
        secret = self.chosen_secret(params.get("registry_secret"))
        known = environments_availability(environments, self.project, secret)
        admin = bool(request.user.is_superuser)
        results = [
            {
                **s.BuildEnvironmentSerializer(env).data,
                "availability": known[env.name].as_dict(admin=admin),
            }
            for env in environments
        ]
        artifact = self.chosen_artifact(params.get("artifact"))
        recommended = None
        if artifact is not None:
            recommended = recommend_available(artifact.inspection, environments, known)
        down = [env.base_image for env in environments if known[env.name].state == UNAVAILABLE]
        return Response({
            "results": results,
            "recommended": recommended,
            "checking": any(a.state == CHECKING for a in known.values()),
            "unavailable_help": unavailable_help(down, admin=admin),
            # Where an admin changes the mirror; project users get no link they cannot open.
            "settings_url": reverse(SETTINGS_PAGE) if admin and down else None,
        })  # fmt: skip

    def chosen_secret(self, name: str | None) -> RegistrySecret | None:
        if not name:
            return None
        secret = self.project.registry_secrets.filter(name=name).first()
        if secret is None:
            raise UserError("secret:unknown", "No such registry secret in this project.")
        return secret

    def chosen_artifact(self, public_id: str | None) -> Artifact | None:
        if not public_id:
            return None
        try:
            artifact = Artifact.objects.filter(project=self.project, public_id=public_id).first()
        except (ValueError, DjangoValidationError):  # not a UUID: as unknown as any other id
            artifact = None
        if artifact is None:
            raise UserError("artifact:unknown", "No such artifact in this project.")
        return artifact
