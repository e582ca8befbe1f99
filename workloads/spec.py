"""What the "Create Service" wizard submits: a validated, framework-free service specification.

The rules follow the KubeSphere wizard (names, version, ports `<protocol>-<n>`, …) with the
stricter checks KubeSphere lacks. `parse_service_spec(data)` turns a JSON-like dict into a
`ServiceSpec` or raises `SpecError` listing every problem with the field it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
CONTAINER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VERSION = re.compile(r"^[a-z0-9]*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")

PROTOCOLS = ("HTTP", "HTTP2", "HTTPS", "GRPC", "TCP", "TLS", "UDP", "MONGO", "REDIS")
HTTP_PROTOCOLS = ("HTTP", "HTTP2")
WORKLOAD_KINDS = ("stateless", "stateful")
EXTERNAL_ACCESS = ("none", "NodePort", "LoadBalancer")
VOLUME_KINDS = ("emptyDir", "pvc", "configMap", "secret", "claimTemplate")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")
MAX_STICKINESS_SECONDS = 86400
SPEC_ERROR_CODE = "service:user:invalid-spec"


class SpecError(ValueError):
    """The submitted service specification is invalid; `errors` maps field → message."""

    code = SPEC_ERROR_CODE

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        detail = "; ".join(f"{key}: {msg}" for key, msg in errors.items())
        super().__init__(f"Invalid service specification — {detail}")


@dataclass(frozen=True)
class PortSpec:
    protocol: str
    name: str
    container_port: int
    service_port: int

    @property
    def kube_protocol(self) -> str:
        # Everything but UDP travels over TCP; the application protocol is only a hint.
        return "UDP" if self.protocol == "UDP" else "TCP"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str = ""
    config_map: str = ""
    secret: str = ""
    key: str = ""


@dataclass(frozen=True)
class Resources:
    requests_cpu: str = ""
    requests_memory: str = ""
    limits_cpu: str = ""
    limits_memory: str = ""


@dataclass(frozen=True)
class ProbeSpec:
    enabled: bool = True
    path: str = "/"
    port_name: str = ""
    initial_delay_seconds: int = 0
    period_seconds: int = 10


@dataclass(frozen=True)
class VolumeSpec:
    kind: str
    name: str
    mount_path: str
    read_only: bool = False
    source: str = ""
    storage: str = ""
    storage_class: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    version: str = "v1"
    alias: str = ""
    kind: str = "stateless"
    replicas: int = 1
    container_name: str = "container"
    ports: tuple[PortSpec, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: Resources = field(default_factory=Resources)
    readiness: ProbeSpec = field(default_factory=ProbeSpec)
    liveness: ProbeSpec = field(default_factory=lambda: ProbeSpec(enabled=False))
    volumes: tuple[VolumeSpec, ...] = ()
    external_access: str = "none"
    session_affinity: bool = False
    session_affinity_seconds: int = 10800
    node_selector: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    image_pull_policy: str = "IfNotPresent"
    context_path: str = ""

    @property
    def workload_name(self) -> str:
        return f"{self.name}-{self.version}" if self.version else self.name

    @property
    def stateful(self) -> bool:
        return self.kind == "stateful"

    def first_http_port(self) -> PortSpec | None:
        return next((p for p in self.ports if p.protocol in HTTP_PROTOCOLS), None)


class _Collector:
    """Collects every validation problem so the user sees all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def check(self, ok: bool, key: str, message: str) -> bool:
        if not ok and key not in self.errors:
            self.errors[key] = message
        return ok


def _text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    return default if value is None else str(value)


def _integer(errors: _Collector, data: Mapping[str, Any], key: str, default: int, path: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.check(False, path, "must be a whole number")
        return default
    try:
        return int(value)
    except ValueError:
        errors.check(False, path, "must be a whole number")
        return default


def _rows(errors: _Collector, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    rows = data.get(key) or []
    if not isinstance(rows, list | tuple) or not all(isinstance(row, Mapping) for row in rows):
        errors.check(False, key, "must be a list of objects")
        return []
    return list(rows)


def _parse_ports(errors: _Collector, data: Mapping[str, Any]) -> tuple[PortSpec, ...]:
    rows = _rows(errors, data, "ports")
    errors.check(bool(rows), "ports", "at least one port is required")
    ports: list[PortSpec] = []
    for index, row in enumerate(rows):
        path = f"ports[{index}]"
        protocol = _text(row, "protocol", "HTTP").upper()
        errors.check(protocol in PROTOCOLS, f"{path}.protocol", f"must be one of {PROTOCOLS}")
        name = _text(row, "name") or f"{protocol.lower()}-{index}"
        errors.check(
            len(name) <= 15 and bool(DNS_LABEL.match(name)),
            f"{path}.name",
            "must be at most 15 lower-case letters, digits or '-', starting with a letter",
        )
        container_port = _integer(errors, row, "container_port", 0, f"{path}.container_port")
        service_port = _integer(errors, row, "service_port", container_port, f"{path}.service_port")
        for port, key in ((container_port, "container_port"), (service_port, "service_port")):
            errors.check(1 <= port <= 65535, f"{path}.{key}", "must be between 1 and 65535")
        ports.append(PortSpec(protocol, name, container_port, service_port))
    names = [p.name for p in ports]
    errors.check(len(set(names)) == len(names), "ports", "port names must be unique")
    return tuple(ports)


def _parse_env(errors: _Collector, data: Mapping[str, Any]) -> tuple[EnvVar, ...]:
    env: list[EnvVar] = []
    for index, row in enumerate(_rows(errors, data, "env")):
        path = f"env[{index}]"
        var = EnvVar(
            name=_text(row, "name"),
            value=_text(row, "value"),
            config_map=_text(row, "config_map"),
            secret=_text(row, "secret"),
            key=_text(row, "key"),
        )
        errors.check(bool(ENV_NAME.match(var.name)), f"{path}.name", "is not a valid variable name")
        if var.config_map or var.secret:
            errors.check(
                not (var.config_map and var.secret),
                path,
                "take the value from a ConfigMap or a Secret, not both",
            )
            errors.check(bool(var.key), f"{path}.key", "name the key to read")
            source = var.config_map or var.secret
            errors.check(bool(DNS_SUBDOMAIN.match(source)), path, "is not a valid object name")
        env.append(var)
    return tuple(env)


def _parse_resources(errors: _Collector, data: Mapping[str, Any]) -> Resources:
    raw = data.get("resources") or {}
    if not isinstance(raw, Mapping):
        errors.check(False, "resources", "must be an object")
        return Resources()
    values = {key: _text(raw, key) for key in Resources.__dataclass_fields__}
    for key, value in values.items():
        errors.check(
            not value or bool(QUANTITY.match(value)),
            f"resources.{key}",
            "must be a quantity such as 250m, 0.5, 512Mi or 1Gi",
        )
    return Resources(**values)


def _parse_probe(
    errors: _Collector, data: Mapping[str, Any], key: str, enabled_default: bool
) -> ProbeSpec:
    raw = data.get(key)
    if raw is None:
        return ProbeSpec(enabled=enabled_default)
    if isinstance(raw, bool):
        return ProbeSpec(enabled=raw)
    if not isinstance(raw, Mapping):
        errors.check(False, key, "must be an object or true/false")
        return ProbeSpec(enabled=enabled_default)
    path = _text(raw, "path", "/")
    errors.check(path.startswith("/"), f"{key}.path", "must start with '/'")
    return ProbeSpec(
        enabled=bool(raw.get("enabled", True)),
        path=path,
        port_name=_text(raw, "port_name"),
        initial_delay_seconds=_integer(errors, raw, "initial_delay_seconds", 0, key),
        period_seconds=_integer(errors, raw, "period_seconds", 10, key),
    )


def _parse_volumes(
    errors: _Collector, data: Mapping[str, Any], kind: str
) -> tuple[VolumeSpec, ...]:
    volumes: list[VolumeSpec] = []
    for index, row in enumerate(_rows(errors, data, "volumes")):
        path = f"volumes[{index}]"
        volume = VolumeSpec(
            kind=_text(row, "kind"),
            name=_text(row, "name"),
            mount_path=_text(row, "mount_path"),
            read_only=bool(row.get("read_only", False)),
            source=_text(row, "source"),
            storage=_text(row, "storage"),
            storage_class=_text(row, "storage_class"),
        )
        _check_volume(errors, path, volume, kind)
        volumes.append(volume)
    names = [v.name for v in volumes]
    errors.check(len(set(names)) == len(names), "volumes", "volume names must be unique")
    return tuple(volumes)


def _check_volume(errors: _Collector, path: str, volume: VolumeSpec, kind: str) -> None:
    errors.check(volume.kind in VOLUME_KINDS, f"{path}.kind", f"must be one of {VOLUME_KINDS}")
    errors.check(
        len(volume.name) <= 63 and bool(DNS_LABEL.match(volume.name)),
        f"{path}.name",
        "must be a DNS-1123 label",
    )
    errors.check(volume.mount_path.startswith("/"), f"{path}.mount_path", "must be absolute")
    if volume.kind in ("pvc", "configMap", "secret"):
        errors.check(
            bool(DNS_SUBDOMAIN.match(volume.source)), f"{path}.source", "name the object to mount"
        )
    if volume.kind == "claimTemplate":
        errors.check(kind == "stateful", f"{path}.kind", "volume claim templates need stateful")
        errors.check(bool(QUANTITY.match(volume.storage)), f"{path}.storage", "size like 1Gi")


def _parse_mapping(
    errors: _Collector, data: Mapping[str, Any], key: str, check_values: bool
) -> dict[str, str]:
    raw = data.get(key) or {}
    if not isinstance(raw, Mapping):
        errors.check(False, key, "must be an object")
        return {}
    result = {str(k): str(v) for k, v in raw.items()}
    for name, value in result.items():
        prefix, _, local = name.rpartition("/")
        errors.check(
            len(local) <= 63
            and bool(LABEL_NAME.match(local))
            and (not prefix or bool(DNS_SUBDOMAIN.match(prefix))),
            f"{key}.{name}",
            "is not a valid key",
        )
        if check_values:
            errors.check(
                len(value) <= 63 and bool(LABEL_VALUE.match(value)),
                f"{key}.{name}",
                "value must be at most 63 letters, digits, '-', '_' or '.'",
            )
    return result


def _check_identity(errors: _Collector, spec_name: str, version: str, alias: str) -> None:
    errors.check(
        0 < len(spec_name) <= 63 and bool(DNS_LABEL.match(spec_name)),
        "name",
        "must be at most 63 lower-case letters, digits or '-', starting with a letter",
    )
    errors.check(
        len(version) <= 16 and bool(VERSION.match(version)),
        "version",
        "must be at most 16 lower-case letters or digits",
    )
    errors.check(len(alias) <= 63, "alias", "must be at most 63 characters")


def _check_workload(errors: _Collector, spec: ServiceSpec) -> None:
    errors.check(spec.kind in WORKLOAD_KINDS, "kind", f"must be one of {WORKLOAD_KINDS}")
    errors.check(1 <= spec.replicas <= 1000, "replicas", "must be between 1 and 1000")
    errors.check(
        len(spec.container_name) <= 63 and bool(CONTAINER_NAME.match(spec.container_name)),
        "container_name",
        "must be a DNS-1123 label",
    )
    errors.check(
        spec.external_access in EXTERNAL_ACCESS,
        "external_access",
        f"must be one of {EXTERNAL_ACCESS}",
    )
    errors.check(
        0 <= spec.session_affinity_seconds <= MAX_STICKINESS_SECONDS,
        "session_affinity_seconds",
        f"must be between 0 and {MAX_STICKINESS_SECONDS}",
    )
    errors.check(
        spec.image_pull_policy in PULL_POLICIES,
        "image_pull_policy",
        f"must be one of {PULL_POLICIES}",
    )
    for key, probe in (("readiness", spec.readiness), ("liveness", spec.liveness)):
        if probe.enabled:
            _check_probe_port(errors, spec, key, probe)


def _check_probe_port(errors: _Collector, spec: ServiceSpec, key: str, probe: ProbeSpec) -> None:
    if probe.port_name:
        names = {p.name for p in spec.ports}
        errors.check(probe.port_name in names, f"{key}.port_name", "names no port of the service")
    elif key == "liveness":
        errors.check(spec.first_http_port() is not None, key, "needs an HTTP port or port_name")


def parse_service_spec(data: Mapping[str, Any]) -> ServiceSpec:
    """Validate a submitted service specification and return it, or raise `SpecError`."""
    errors = _Collector()
    kind = _text(data, "kind", "stateless")
    name, version = _text(data, "name"), _text(data, "version", "v1")
    _check_identity(errors, name, version, _text(data, "alias"))
    spec = ServiceSpec(
        name=name,
        version=version,
        alias=_text(data, "alias"),
        kind=kind,
        replicas=_integer(errors, data, "replicas", 1, "replicas"),
        container_name=_text(data, "container_name") or "container",
        ports=_parse_ports(errors, data),
        env=_parse_env(errors, data),
        resources=_parse_resources(errors, data),
        readiness=_parse_probe(errors, data, "readiness", True),
        liveness=_parse_probe(errors, data, "liveness", False),
        volumes=_parse_volumes(errors, data, kind),
        external_access=_text(data, "external_access", "none"),
        session_affinity=bool(data.get("session_affinity", False)),
        session_affinity_seconds=_integer(
            errors, data, "session_affinity_seconds", 10800, "session_affinity_seconds"
        ),
        node_selector=_parse_mapping(errors, data, "node_selector", True),
        labels=_parse_mapping(errors, data, "labels", True),
        annotations=_parse_mapping(errors, data, "annotations", False),
        image_pull_policy=_text(data, "image_pull_policy", "IfNotPresent"),
        context_path=_text(data, "context_path").strip("/"),
    )
    _check_workload(errors, spec)
    for path in _paths_with_nul(spec_to_dict(spec)):
        # PostgreSQL cannot store U+0000 in text or jsonb, and Kubernetes rejects it too.
        errors.check(False, path, "must not contain NUL characters")
    if errors.errors:
        raise SpecError(errors.errors)
    return spec


def _paths_with_nul(value: object, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _paths_with_nul(key, path or "spec")
            yield from _paths_with_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _paths_with_nul(item, f"{path}[{index}]")


def spec_to_dict(spec: ServiceSpec) -> dict[str, Any]:
    """Return the JSON form of a spec; `parse_service_spec` reads it back unchanged."""
    data = asdict(spec)
    data["node_selector"] = dict(spec.node_selector)
    data["labels"] = dict(spec.labels)
    data["annotations"] = dict(spec.annotations)
    return data
