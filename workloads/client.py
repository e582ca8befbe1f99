"""Talk to the cluster through the official `kubernetes` client: dry run, server-side apply,
status, access URLs and deletion. No Django here: callers pass a kubeconfig dict (or nothing
for in-cluster configuration).

Every write is a server-side apply with the field manager `b2i-console`, so re-applying the
same manifests is idempotent and fields other managers own are visible as conflicts.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import kubernetes
import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from workloads.manifests import Manifest

FIELD_MANAGER = "b2i-console"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
# kind → (API prefix, resource, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Secret": ("/api/v1", "secrets", True),
    "Service": ("/api/v1", "services", True),
    "Pod": ("/api/v1", "pods", True),
    "Event": ("/api/v1", "events", True),
    "Node": ("/api/v1", "nodes", False),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
}
REQUEST_TIMEOUT = (5, 30)


class KubeError(Exception):
    """A cluster operation failed; `code` is stable, `message` says what to do."""

    def __init__(
        self, code: str, message: str, status: int = 0, causes: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.code, self.message, self.status, self.causes = code, message, status, causes or []

    @property
    def user_caused(self) -> bool:
        return self.code.startswith("kube:user:")


def _error_from(exc: ApiException, what: str) -> KubeError:
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") or exc.reason or "no message"
    causes = (body.get("details") or {}).get("causes") or []
    codes = {
        401: ("kube:auth-failed", "the cluster refused the console's credentials"),
        403: ("kube:forbidden", "the console's service account may not do this"),
        404: ("kube:not-found", "not found"),
        409: ("kube:conflict", "conflict"),
        422: ("kube:user:invalid-object", "the cluster rejected the object"),
    }
    code, summary = codes.get(exc.status, ("kube:api-error", "the cluster answered an error"))
    return KubeError(code, f"{what}: {summary}: {message}", exc.status, causes)


@dataclass
class WorkloadStatus:
    """Rollout progress of a Deployment or StatefulSet, as shown to people."""

    kind: str
    name: str
    exists: bool = True
    desired: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    image: str = ""
    complete: bool = False
    conditions: list[dict[str, str]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _configuration() -> Configuration:
    # Configuration() takes HTTPS_PROXY from the environment but then drops the NO_PROXY it
    # read (kubernetes 35): a worker given a corporate proxy for registries sent its API
    # calls, the in-cluster API server's too, to that proxy. NO_PROXY is honoured again here.
    config = Configuration()
    config.no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or None
    return config


def configuration_from_kubeconfig(kubeconfig: dict[str, Any]) -> Configuration:
    """Build a client configuration from an uploaded kubeconfig document."""
    config = _configuration()
    try:
        kubernetes.config.load_kube_config_from_dict(kubeconfig, client_configuration=config)
    except (kubernetes.config.ConfigException, KeyError, TypeError, ValueError) as error:
        raise KubeError(
            "kube:user:invalid-kubeconfig", f"The kubeconfig is not usable: {error}"
        ) from error
    return config


def in_cluster_configuration() -> Configuration:
    """Build a client configuration from the pod's service account (console runs in-cluster)."""
    config = _configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=config)
    except kubernetes.config.ConfigException as error:
        raise KubeError("kube:not-configured", f"No cluster is configured: {error}") from error
    return config


class KubeClient:
    def __init__(self, configuration: Configuration, field_manager: str = FIELD_MANAGER):
        configuration.retries = 1
        self.api = ApiClient(configuration)
        self.field_manager = field_manager
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.apps = kubernetes.client.AppsV1Api(self.api)
        self.batch = kubernetes.client.BatchV1Api(self.api)

    @classmethod
    def connect(cls, kubeconfig: dict[str, Any] | None) -> KubeClient:
        """Connect with an uploaded kubeconfig, or in-cluster when there is none."""
        if kubeconfig:
            return cls(configuration_from_kubeconfig(kubeconfig))
        return cls(in_cluster_configuration())

    def close(self) -> None:
        self.api.close()

    # --- raw calls -----------------------------------------------------------------------

    def _path(self, kind: str, namespace: str, name: str = "") -> str:
        prefix, resource, namespaced = KINDS[kind]
        path = (
            f"{prefix}/namespaces/{namespace}/{resource}" if namespaced else f"{prefix}/{resource}"
        )
        return f"{path}/{name}" if name else path

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            return self.api.call_api(
                path, method, header_params=headers, response_type="object",
                auth_settings=["BearerToken"], _return_http_data_only=True,
                _request_timeout=REQUEST_TIMEOUT, **kwargs,
            )  # fmt: skip
        except ApiException as exc:
            raise _error_from(exc, what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(
                "kube:unreachable", f"{what}: the cluster API is unreachable: {exc}"
            ) from exc

    @staticmethod
    def describe(obj: Manifest) -> str:
        meta = obj.get("metadata", {})
        namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{obj.get('kind')} {namespace}{meta.get('name')}"

    def apply(self, obj: Manifest, *, dry_run: bool = False) -> Manifest:
        """Server-side apply one object (forcing ownership of the fields we set)."""
        meta = obj["metadata"]
        query = [("fieldManager", self.field_manager), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        path = self._path(obj["kind"], meta.get("namespace", ""), meta["name"])
        verb = "Dry run of" if dry_run else "Applying"
        return dict(
            self._call(
                "PATCH",
                path,
                f"{verb} {self.describe(obj)}",
                query_params=query,
                headers={"Content-Type": APPLY_CONTENT_TYPE},
                body=obj,
            )
        )

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        try:
            return dict(
                self._call("GET", self._path(kind, namespace, name), f"Reading {kind} {name}")
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def list(
        self, kind: str, namespace: str = "", label_selector: str = "", field_selector: str = ""
    ) -> builtins.list[Manifest]:
        query = [
            (k, v)
            for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector))
            if v
        ]
        listing = self._call(
            "GET", self._path(kind, namespace), f"Listing {kind}", query_params=query
        )
        return list(listing.get("items") or [])

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete one object and its dependents; return False when it was already gone."""
        body = {"propagationPolicy": "Background"}
        try:
            self._call(
                "DELETE", self._path(kind, namespace, name), f"Deleting {kind} {name}", body=body
            )
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    def create(self, obj: Manifest) -> Manifest:
        meta = obj["metadata"]
        query = [("fieldManager", self.field_manager)]
        path = self._path(obj["kind"], meta.get("namespace", ""))
        return dict(
            self._call("POST", path, f"Creating {self.describe(obj)}", query_params=query, body=obj)
        )

    # --- applying a set of objects -------------------------------------------------------

    def apply_all(
        self, objects: Iterable[Manifest], namespace: Manifest | None = None
    ) -> builtins.list[Manifest]:
        """Dry-run every object, then apply them all; nothing is left behind if one is rejected.

        A dry run of a namespaced object fails while its namespace does not exist, so a missing
        namespace is created first — and deleted again if any dry run is rejected.
        """
        objects = list(objects)
        created_namespace = False
        if (
            namespace is not None
            and self.get("Namespace", "", namespace["metadata"]["name"]) is None
        ):
            self.apply(namespace, dry_run=True)
            self.apply(namespace)
            created_namespace = True
        try:
            for obj in objects:
                self.apply(obj, dry_run=True)
        except KubeError:
            if created_namespace and namespace is not None:  # created: it was given
                self.delete("Namespace", "", namespace["metadata"]["name"])
            raise
        applied = [self.apply(namespace)] if namespace is not None and not created_namespace else []
        return applied + [self.apply(obj) for obj in objects]

    # --- status --------------------------------------------------------------------------

    def workload_status(self, kind: str, namespace: str, name: str) -> WorkloadStatus:
        """Return desired/updated/ready/available replicas, conditions, pods and recent events."""
        workload = self.get(kind, namespace, name)
        if workload is None:
            return WorkloadStatus(kind, name, exists=False)
        spec, status = workload.get("spec") or {}, workload.get("status") or {}
        selector = ",".join(
            f"{k}={v}" for k, v in (spec.get("selector", {}).get("matchLabels") or {}).items()
        )
        result = WorkloadStatus(
            kind=kind,
            name=name,
            desired=int(spec.get("replicas", 1)),
            updated=int(status.get("updatedReplicas", 0)),
            ready=int(status.get("readyReplicas", 0)),
            available=int(status.get("availableReplicas", 0)),
            image=spec["template"]["spec"]["containers"][0]["image"],
            conditions=[_condition(c) for c in status.get("conditions") or []],
            pods=[_pod_summary(p) for p in self.list("Pod", namespace, label_selector=selector)],
            events=self.recent_events(namespace, kind, name),
        )
        current = status.get("observedGeneration", 0) >= workload["metadata"].get("generation", 1)
        settled = int(status.get("replicas", 0)) == result.desired
        result.complete = (
            current and settled and result.updated == result.available == result.desired
        )
        return result

    def recent_events(
        self, namespace: str, kind: str, name: str, limit: int = 20
    ) -> builtins.list[dict[str, str]]:
        events = self.list("Event", namespace)
        relevant = [
            e for e in events
            if e.get("involvedObject", {}).get("name", "").startswith(name)
            and e.get("involvedObject", {}).get("kind") in (kind, "Pod", "ReplicaSet")
        ]  # fmt: skip
        relevant.sort(key=lambda e: e.get("lastTimestamp") or "")
        return [
            {
                "type": e.get("type", ""),
                "reason": e.get("reason", ""),
                "message": e.get("message", ""),
                "object": f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}",
                "time": e.get("lastTimestamp") or "",
            }
            for e in relevant[-limit:]
        ]

    def watch_workload(
        self, kind: str, namespace: str, name: str, timeout: int = 60
    ) -> Iterator[WorkloadStatus]:
        """Yield the workload's status each time the cluster reports a change."""
        lister = (
            self.apps.list_namespaced_deployment
            if kind == "Deployment"
            else self.apps.list_namespaced_stateful_set
        )
        watcher = kubernetes.watch.Watch()
        try:
            for _ in watcher.stream(
                lister, namespace, field_selector=f"metadata.name={name}", timeout_seconds=timeout
            ):
                yield self.workload_status(kind, namespace, name)
        except ApiException as exc:
            raise _error_from(exc, f"Watching {kind} {name}") from exc
        finally:
            watcher.stop()

    # --- access --------------------------------------------------------------------------

    def node_address(self) -> str:
        """Return a node's ExternalIP, else its InternalIP (the host of NodePort URLs)."""
        addresses = [
            a for n in self.list("Node") for a in (n.get("status") or {}).get("addresses") or []
        ]
        for wanted in ("ExternalIP", "InternalIP"):
            for address in addresses:
                if address.get("type") == wanted:
                    return str(address["address"])
        return ""

    def access_urls(
        self, namespace: str, service_name: str, context_path: str = ""
    ) -> builtins.list[str]:
        """Return the URLs reaching a service from outside the cluster (NodePort/LoadBalancer)."""
        service = self.get("Service", namespace, service_name)
        if service is None:
            return []
        kind = service["spec"].get("type", "ClusterIP")
        suffix = f"/{context_path.strip('/')}/" if context_path.strip("/") else "/"
        ports = [p for p in service["spec"].get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
        if kind == "NodePort":
            host = self.node_address()
            return [
                f"{_scheme(p)}://{host}:{p['nodePort']}{suffix}"
                for p in ports
                if host and p.get("nodePort")
            ]
        if kind == "LoadBalancer":
            ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            hosts = [i.get("ip") or i.get("hostname") for i in ingress]
            return [f"{_scheme(p)}://{h}:{p['port']}{suffix}" for h in hosts if h for p in ports]
        return []


def _scheme(port: Manifest) -> str:
    return (
        "https"
        if port.get("appProtocol") == "https" or port.get("name", "").startswith("https")
        else "http"
    )


def _condition(condition: Manifest) -> dict[str, str]:
    keys = ("type", "status", "reason", "message")
    return {k: str(condition.get(k, "")) for k in keys}


def _pod_summary(pod: Manifest) -> dict[str, Any]:
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    waiting = [
        c["state"]["waiting"].get("reason", "")
        for c in containers
        if "waiting" in (c.get("state") or {})
    ]
    return {
        "name": pod["metadata"]["name"],
        "phase": status.get("phase", "Pending"),
        "ready": bool(containers) and all(c.get("ready") for c in containers),
        "reason": waiting[0] if waiting else status.get("reason", ""),
    }
