"""Whether each build environment's base image can be resolved right now, known before Create.

A check resolves the base exactly as a build would (mirror applied, through the proxy, with the
project's registry secrets for their hosts, the chosen secret first) with the registry client's
public functions, read only. Checks run in a small thread pool, never in a request: a page asks,
gets "checking" for what is not known yet, and asks again. Results are kept a short time in the
Django cache (longer when available: an outage should show up within a minute).

Messages depend on who reads them: a project user cannot change the installation, so is told
whom to ask and what to ask for; a platform admin is told which setting to change.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from b2i.engine import RegistryAccess
from b2i.oci.auth import Credentials
from b2i.oci.errors import OciError
from b2i.oci.image import Platform
from b2i.oci.proxy import ProxyConfig
from b2i.oci.push import resolve_base
from b2i.oci.references import Reference, parse_reference
from b2i.oci.registry import RegistryClient
from b2i.packaging.environments import rewrite_docker_hub_reference
from b2i_console.errors import UserError
from builders.models import BuildEnvironment
from builders.proxy_settings import registry_proxy
from builders.registry_mirror import effective_mirror

if TYPE_CHECKING:
    from builders.models import ImageBuilder
    from projects.models import Project, RegistrySecret

logger = logging.getLogger(__name__)

AVAILABLE, UNAVAILABLE, CHECKING = "available", "unavailable", "checking"
KEEP_SECONDS = {AVAILABLE: 300, UNAVAILABLE: 60}
CHECK_TIMEOUT = 10.0
UNAVAILABLE_CODE = "environment:base-unavailable"
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="base-check")
_pending: set[str] = set()
_pending_lock = threading.Lock()


@dataclass(frozen=True)
class Availability:
    """What is known about one base: state, and for an unavailable one the code and reason."""

    state: str
    base_image: str = ""
    code: str = ""
    reason: str = ""

    def as_dict(self, *, admin: bool) -> dict[str, Any]:
        data = asdict(self)
        if self.state == UNAVAILABLE and not admin:
            data["reason"] = _user_reason(self.code)  # the engine's text names admin settings
        data["message"] = (
            unavailable_message(self, admin=admin) if self.state == UNAVAILABLE else ""
        )
        # The few words an environment card shows; the page explains once (unavailable_help).
        data["short_reason"] = _user_reason(self.code) if self.state == UNAVAILABLE else ""
        return data


@dataclass(frozen=True)
class BaseCheck:
    """Everything one check needs, made in the request (no database access in the pool)."""

    reference: str
    access: RegistryAccess
    proxy: ProxyConfig
    allowed_networks: tuple[str, ...]

    @property
    def key(self) -> str:
        access, credentials = self.access, self.access.credentials
        who = f"{credentials.username}:{credentials.password}" if credentials else ""
        parts = [self.reference, access.scheme, str(access.verify), access.ca_bundle or "", who]
        parts += [repr(self.proxy), ",".join(self.allowed_networks)]
        return "b2i:base-availability:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


# What a project user is told went wrong: the engine's own messages name operator settings.
USER_REASONS = {
    "registry:dns-failed": N_("the registry's name cannot be resolved"),
    "registry:unreachable": N_("the registry does not answer"),
    "registry:timeout": N_("the registry does not answer in time"),
    "registry:tls": N_("the registry's certificate is not trusted"),
    "registry:auth-failed": N_("the registry refused the credentials"),
    "registry:pull-denied": N_("the registry denies pulling it"),
    "registry:manifest-unknown": N_("the registry does not have it"),
    "registry:blocked-address": N_("the installation may not contact that registry"),
}


def _user_reason(code: str) -> str:
    if code.startswith("registry:proxy"):
        return _("the installation's proxy does not let it through")
    return _(USER_REASONS.get(code, "the registry cannot be reached"))


def unavailable_message(availability: Availability, *, admin: bool) -> str:
    """Explain an unavailable base to an admin (the settings) or a project user (whom to ask)."""
    base, reason = availability.base_image, availability.reason
    if not admin:
        reason = _user_reason(availability.code)
    if admin:
        return _(
            "The base image %(base)s cannot be resolved from this installation: %(reason)s. "
            "Make it reachable: set the registry mirror (B2I_REGISTRY_MIRROR, or Installation "
            "settings in the admin) to a registry that has it, set B2I_REGISTRY_PROXY if the "
            "workers reach registries through a proxy, or push the image to a registry they "
            "reach and point this environment at it; else disable the environment."
        ) % {"base": base, "reason": reason}
    return _(
        "The base image %(base)s cannot be reached from this installation right now (%(reason)s). "
        "Choose another environment, or ask your platform admin to make %(base)s available "
        "(through the installation's registry mirror or proxy)."
    ) % {"base": base, "reason": reason}


def unavailable_help(base_images: Iterable[str], *, admin: bool) -> str:
    """The page's one explanation of its unavailable environments, for who reads it ("" if none).

    A project user cannot change the installation: told whom to ask and what for. A platform
    admin is told the setting (the page links to it)."""
    images = ", ".join(sorted(set(base_images), key=_version_order))
    if not images:
        return ""
    if admin:
        return _(
            "Some build environments cannot be used: their base images cannot be pulled from "
            "this installation. Set the registry mirror (Installation settings in the admin, or "
            "B2I_REGISTRY_MIRROR) to a registry that has these images: %(images)s. If the "
            "workers reach registries through a proxy, set B2I_REGISTRY_PROXY. Or disable those "
            "environments."
        ) % {"images": images}
    return _(
        "Some build environments cannot be used: their base images cannot be pulled from this "
        "installation. Ask your platform admin to set a registry mirror that has these images: "
        "%(images)s."
    ) % {"images": images}


def _version_order(image: str) -> list[str | int]:
    """Numbers compare as numbers: eclipse-temurin:8-jre before eclipse-temurin:11-jre (as the
    environment cards are ordered), not after 25. Digit runs are at the odd positions."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", image)]


def registry_accesses(
    project: Project, chosen_secret: RegistrySecret | None = None
) -> dict[str, RegistryAccess]:
    """Return the access a build of PROJECT would use per registry host (chosen secret wins)."""
    secrets = list(project.registry_secrets.all())
    if chosen_secret is not None:
        secrets = [s for s in secrets if s.pk != chosen_secret.pk] + [chosen_secret]
    accesses = {}
    for secret in secrets:
        try:
            accesses[secret.registry_host] = _access_of(secret)
        except Exception:  # an undecryptable secret: the base is checked anonymously, as built
            logger.warning("registry secret %s cannot be decrypted; skipped", secret.pk)
    return accesses


def _access_of(secret: RegistrySecret) -> RegistryAccess:
    credentials = Credentials(secret.username, secret.password) if secret.username else None
    return RegistryAccess(
        scheme=secret.scheme,
        credentials=credentials,
        verify=not secret.skip_tls_verify,
        ca_bundle=secret.ca_bundle or None,
    )


def base_check(environment: BuildEnvironment, accesses: Mapping[str, RegistryAccess]) -> BaseCheck:
    """Describe how a build would reach ENVIRONMENT's base (as builders.engine_adapter does)."""
    reference = rewrite_docker_hub_reference(environment.base_image, effective_mirror())
    try:
        registry = parse_reference(reference).registry
    except OciError:
        registry = ""
    return BaseCheck(
        reference,
        accesses.get(registry) or RegistryAccess(),
        registry_proxy(),
        tuple(settings.B2I_ALLOWED_REGISTRY_NETWORKS),
    )


def run_check(check: BaseCheck) -> Availability:
    """Resolve the base for linux/amd64, read only; any failure is the reason it is unavailable."""
    try:
        reference = parse_reference(check.reference)
        with _client(reference, check) as client:
            resolve_base(
                client, reference.repository, reference.manifest_reference, str(reference),
                Platform("linux", "amd64"),
            )  # fmt: skip
    except OciError as exc:
        return Availability(UNAVAILABLE, check.reference, exc.code, exc.message)
    except Exception as exc:  # a check must end with an answer, whatever went wrong
        logger.exception("checking the base %s failed", check.reference)
        return Availability(UNAVAILABLE, check.reference, "registry:error", str(exc))
    return Availability(AVAILABLE, check.reference)


def _client(reference: Reference, check: BaseCheck) -> RegistryClient:
    access = check.access
    return RegistryClient(
        reference.registry,
        scheme=access.scheme,
        credentials=access.credentials,
        verify=access.verify,
        ca_bundle=access.ca_bundle,
        allowed_networks=check.allowed_networks,
        proxy=check.proxy,
        retries=0,
        timeout=CHECK_TIMEOUT,
    )


def _check_and_keep(check: BaseCheck) -> None:
    try:
        result = run_check(check)
        cache.set(check.key, asdict(result), KEEP_SECONDS[result.state])
    finally:
        with _pending_lock:
            _pending.discard(check.key)


def known_availability(check: BaseCheck, *, start: bool = True) -> Availability:
    """Return what the cache knows; else "checking", starting a background check (once)."""
    kept = cache.get(check.key)
    if kept is not None:
        return Availability(**kept)
    if start:
        with _pending_lock:
            if check.key not in _pending:
                _pending.add(check.key)
                _pool.submit(_check_and_keep, check)
    return Availability(CHECKING, check.reference)


def environments_availability(
    environments: Iterable[BuildEnvironment],
    project: Project,
    chosen_secret: RegistrySecret | None = None,
) -> dict[str, Availability]:
    """Return each environment's availability by name (unknown ones start being checked)."""
    accesses = registry_accesses(project, chosen_secret)
    return {env.name: known_availability(base_check(env, accesses)) for env in environments}


def check_builder_base_not_known_unreachable(builder: ImageBuilder, *, admin: bool) -> None:
    """Refuse (409) to run BUILDER when its environment's base is known unreachable now.

    The rule of Create, applied wherever a build starts or its environment changes (Run, the
    trigger, an edit): a run queued on a dead base would only fail after the queue wait.
    """
    check_base_not_known_unreachable(
        builder.project, builder.environment, builder.registry_secret, admin=admin
    )


def check_base_not_known_unreachable(
    project: Project,
    environment: BuildEnvironment,
    chosen_secret: RegistrySecret | None,
    *,
    admin: bool,
) -> None:
    """Refuse (409) an environment whose base is known unreachable now; unknown ones pass."""
    check = base_check(environment, registry_accesses(project, chosen_secret))
    known = known_availability(check, start=False)
    if known.state == UNAVAILABLE:
        raise UserError(
            UNAVAILABLE_CODE,
            unavailable_message(known, admin=admin),
            409,
            environment=environment.name,
            reason_code=known.code,
        )
