"""Pure rendering of the Kubernetes objects of a service: namespace, pull Secret, Service(s) and
the Deployment or StatefulSet. Plain dicts in, plain dicts out; nothing here talks to a cluster.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from workloads.spec import PortSpec, ProbeSpec, ServiceSpec, VolumeSpec

MAX_NAME = 63
MANAGED_BY = {"app.kubernetes.io/managed-by": "b2i-console"}
WORKSPACE_LABEL = "kubesphere.io/workspace"
ALIAS_ANNOTATION = "kubesphere.io/alias-name"
APP_PROTOCOLS = {"HTTP": "http", "HTTPS": "https", "HTTP2": "kubernetes.io/h2c"}

Manifest = dict[str, Any]


def shorten_name(name: str, limit: int = MAX_NAME) -> str:
    """Return `name`, or a prefix plus an 8-hex hash suffix when it exceeds `limit`.

    KubeSphere let generated names grow past 63 characters and the objects were rejected; the
    hash keeps two long names that share a prefix distinct.
    """
    if len(name) <= limit:
        return name
    suffix = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - len(suffix) - 1].rstrip('-.')}-{suffix}"


def pinned_image(repository: str, digest: str) -> str:
    """Return `repository@digest`, dropping any tag or digest: the workload runs exactly what
    was built (a run's image reference already ends in `@sha256:…`)."""
    name = repository.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name[: name.rfind(":")]
    return f"{name}@{digest}"


def selector_labels(spec: ServiceSpec) -> dict[str, str]:
    return {"app": spec.name, "version": spec.version}


def pod_labels(spec: ServiceSpec) -> dict[str, str]:
    # The selector labels win over user labels so a label row cannot detach the Service.
    return {**spec.labels, **MANAGED_BY, **selector_labels(spec)}


def _metadata(name: str, namespace: str, labels: Mapping[str, str], spec: ServiceSpec) -> Manifest:
    annotations = dict(spec.annotations)
    if spec.alias:
        annotations[ALIAS_ANNOTATION] = spec.alias
    meta: Manifest = {"name": shorten_name(name), "namespace": namespace, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = annotations
    return meta


def render_namespace(name: str, workspace: str) -> Manifest:
    """Render the project's namespace, labelled with its workspace."""
    labels = {**MANAGED_BY, WORKSPACE_LABEL: workspace}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def render_pull_secret(namespace: str, name: str, dockerconfig: Mapping[str, Any]) -> Manifest:
    """Render a `kubernetes.io/dockerconfigjson` Secret from an `{"auths": …}` document."""
    payload = json.dumps(dockerconfig, sort_keys=True).encode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": shorten_name(name), "namespace": namespace, "labels": MANAGED_BY},
        "data": {".dockerconfigjson": base64.b64encode(payload).decode()},
    }


def _env(spec: ServiceSpec) -> list[Manifest]:
    rendered: list[Manifest] = []
    for var in spec.env:
        if var.config_map:
            ref = {"configMapKeyRef": {"name": var.config_map, "key": var.key}}
            rendered.append({"name": var.name, "valueFrom": ref})
        elif var.secret:
            ref = {"secretKeyRef": {"name": var.secret, "key": var.key}}
            rendered.append({"name": var.name, "valueFrom": ref})
        else:
            rendered.append({"name": var.name, "value": var.value})
    return rendered


def _resources(spec: ServiceSpec) -> Manifest:
    r = spec.resources
    requests = {k: v for k, v in (("cpu", r.requests_cpu), ("memory", r.requests_memory)) if v}
    limits = {k: v for k, v in (("cpu", r.limits_cpu), ("memory", r.limits_memory)) if v}
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def _probe_port(spec: ServiceSpec, probe: ProbeSpec) -> PortSpec | None:
    if probe.port_name:
        return next((p for p in spec.ports if p.name == probe.port_name), None)
    return spec.first_http_port()


def _probe(spec: ServiceSpec, probe: ProbeSpec) -> Manifest | None:
    port = _probe_port(spec, probe)
    if not probe.enabled or port is None or port.protocol == "UDP":
        return None
    timing = {
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
    }
    if port.protocol in ("HTTP", "HTTP2", "HTTPS"):
        scheme = "HTTPS" if port.protocol == "HTTPS" else "HTTP"
        get = {"path": probe.path, "port": port.container_port, "scheme": scheme}
        return {"httpGet": get, **timing}
    return {"tcpSocket": {"port": port.container_port}, **timing}


def _container(spec: ServiceSpec, image: str) -> Manifest:
    container: Manifest = {
        "name": spec.container_name,
        "image": image,
        "imagePullPolicy": spec.image_pull_policy,
        "ports": [
            {"name": p.name, "containerPort": p.container_port, "protocol": p.kube_protocol}
            for p in spec.ports
        ],
    }
    optional = {
        "env": _env(spec),
        "resources": _resources(spec),
        "readinessProbe": _probe(spec, spec.readiness),
        "livenessProbe": _probe(spec, spec.liveness),
        "volumeMounts": [
            {"name": v.name, "mountPath": v.mount_path, "readOnly": v.read_only}
            for v in spec.volumes
        ],
    }
    container.update({key: value for key, value in optional.items() if value})
    return container


def _volume(volume: VolumeSpec) -> Manifest | None:
    if volume.kind == "emptyDir":
        return {"name": volume.name, "emptyDir": {}}
    if volume.kind == "pvc":
        claim = {"claimName": volume.source, "readOnly": volume.read_only}
        return {"name": volume.name, "persistentVolumeClaim": claim}
    if volume.kind == "configMap":
        return {"name": volume.name, "configMap": {"name": volume.source}}
    if volume.kind == "secret":
        return {"name": volume.name, "secret": {"secretName": volume.source}}
    return None  # claim templates are rendered on the StatefulSet, not as pod volumes


def _claim_template(volume: VolumeSpec) -> Manifest:
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": volume.storage}},
    }
    if volume.storage_class:
        spec["storageClassName"] = volume.storage_class
    return {"metadata": {"name": volume.name}, "spec": spec}


def _pod_template(spec: ServiceSpec, image: str, pull_secrets: Iterable[str]) -> Manifest:
    pod_spec: Manifest = {"containers": [_container(spec, image)]}
    volumes = [v for v in (_volume(volume) for volume in spec.volumes) if v]
    optional = {
        "imagePullSecrets": [{"name": shorten_name(name)} for name in pull_secrets],
        "volumes": volumes,
        "nodeSelector": dict(spec.node_selector),
    }
    pod_spec.update({key: value for key, value in optional.items() if value})
    return {"metadata": {"labels": pod_labels(spec)}, "spec": pod_spec}


def render_workload(
    spec: ServiceSpec,
    namespace: str,
    image: str,
    replicas: int,
    pull_secrets: Iterable[str] = (),
) -> Manifest:
    """Render the Deployment (stateless) or StatefulSet (stateful) running `image`.

    `replicas` is explicit because a service waits at 0 until its first successful build.
    """
    body: Manifest = {
        "replicas": replicas,
        "selector": {"matchLabels": selector_labels(spec)},
        "template": _pod_template(spec, image, pull_secrets),
    }
    if spec.stateful:
        body["serviceName"] = headless_service_name(spec)
        claims = [_claim_template(v) for v in spec.volumes if v.kind == "claimTemplate"]
        if claims:
            body["volumeClaimTemplates"] = claims
        body["updateStrategy"] = {"type": "RollingUpdate"}
    else:
        rolling = {"maxSurge": "25%", "maxUnavailable": "25%"}
        body["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet" if spec.stateful else "Deployment",
        "metadata": _metadata(spec.workload_name, namespace, pod_labels(spec), spec),
        "spec": body,
    }


def headless_service_name(spec: ServiceSpec) -> str:
    return shorten_name(f"{spec.name}-headless")


def _service_ports(spec: ServiceSpec) -> list[Manifest]:
    ports = []
    for port in spec.ports:
        row: Manifest = {
            "name": port.name,
            "port": port.service_port,
            "targetPort": port.container_port,
            "protocol": port.kube_protocol,
        }
        if port.protocol in APP_PROTOCOLS:
            row["appProtocol"] = APP_PROTOCOLS[port.protocol]
        ports.append(row)
    return ports


def render_service(spec: ServiceSpec, namespace: str) -> Manifest:
    """Render the Service selecting the pods by their `app`/`version` labels."""
    types = {"none": "ClusterIP", "NodePort": "NodePort", "LoadBalancer": "LoadBalancer"}
    body: Manifest = {
        "type": types[spec.external_access],
        "selector": selector_labels(spec),
        "ports": _service_ports(spec),
    }
    if spec.session_affinity:
        body["sessionAffinity"] = "ClientIP"
        timeout = {"timeoutSeconds": spec.session_affinity_seconds}
        body["sessionAffinityConfig"] = {"clientIP": timeout}
    labels = {**spec.labels, **MANAGED_BY, "app": spec.name}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec.name, namespace, labels, spec),
        "spec": body,
    }


def render_headless_service(spec: ServiceSpec, namespace: str) -> Manifest:
    """Render the headless Service a StatefulSet needs for its pods' stable DNS names."""
    body = {"clusterIP": "None", "selector": selector_labels(spec), "ports": _service_ports(spec)}
    labels = {**MANAGED_BY, "app": spec.name}
    meta = {"name": headless_service_name(spec), "namespace": namespace, "labels": labels}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": body}


def render_service_objects(
    spec: ServiceSpec,
    *,
    namespace: str,
    image: str,
    replicas: int,
    pull_secret: Manifest | None = None,
) -> list[Manifest]:
    """Render every namespaced object of a service in apply order (Secret, Services, workload)."""
    objects: list[Manifest] = []
    if pull_secret is not None:
        objects.append(pull_secret)
    if spec.stateful:
        objects.append(render_headless_service(spec, namespace))
    objects.append(render_service(spec, namespace))
    secret_names = [pull_secret["metadata"]["name"]] if pull_secret else []
    objects.append(render_workload(spec, namespace, image, replicas, secret_names))
    return objects


def to_yaml(objects: Iterable[Manifest]) -> str:
    """Render objects as one multi-document YAML text (the wizard's review step and export)."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False)


def redact_secrets(objects: Iterable[Manifest]) -> list[Manifest]:
    """Return copies of objects with Secret data masked, for previews shown to people."""
    redacted = []
    for obj in objects:
        if obj.get("kind") == "Secret":
            obj = {**obj, "data": dict.fromkeys(obj.get("data", {}), "<redacted>")}
        redacted.append(obj)
    return redacted
