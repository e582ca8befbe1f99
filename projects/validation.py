"""The Validate action of registry secrets: a real login + push-permission probe of the registry.

The probe itself (b2i.oci.probe) is framework-free; this module feeds it a secret's fields
and the installation's network policy, and turns its outcome into a report. The password is
passed to the probe only, never logged.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.conf import settings

from b2i.oci.probe import probe_registry
from b2i_console.errors import UserError
from builders.proxy_settings import registry_proxy
from projects.models import RegistrySecret

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 10.0
# Refusals of the address itself are the user's request being refused, not a registry's answer.
REFUSED_CODES = {"registry:blocked-address", "reference:invalid"}


@dataclass(frozen=True)
class ValidationReport:
    login_ok: bool
    login_message: str
    push_ok: bool | None
    push_message: str
    repository: str
    login_code: str | None = None
    push_code: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def default_probe_repository(secret: RegistrySecret) -> str:
    return f"{secret.project.name}/b2i-validate"


def validate_registry_secret(secret: RegistrySecret, repository: str | None) -> ValidationReport:
    """Probe login and push permission with the secret; raise UserError when the host is refused."""
    repository = repository or default_probe_repository(secret)
    result = probe_registry(
        secret.address,
        secret.username or None,
        secret.password or None,
        repository,
        verify=not secret.skip_tls_verify,
        ca_bundle=secret.ca_bundle or None,
        allowed_networks=tuple(settings.B2I_ALLOWED_REGISTRY_NETWORKS),
        timeout=PROBE_TIMEOUT_SECONDS,
        proxy=registry_proxy(),
    )
    if result.login_code in REFUSED_CODES:
        logger.info("registry secret %s validation refused: %s", secret.pk, result.login_code)
        raise UserError(result.login_code, result.login_message, status=400)
    logger.info(
        "registry secret %s validated: login_ok=%s push_ok=%s",
        secret.pk,
        result.login_ok,
        result.push_ok,
    )
    return ValidationReport(
        login_ok=result.login_ok,
        login_message=result.login_message,
        push_ok=result.push_ok,
        push_message=result.push_message,
        repository=repository,
        login_code=result.login_code,
        push_code=result.push_code,
    )
