"""Pure rendering of the Kubernetes Job that runs one build (the Kubernetes Job executor).

Unlike KubeSphere's builder pods this Job needs no Docker socket, runs as non-root with a
read-only root filesystem, and reads push credentials from a mounted Secret — never from a
ConfigMap or a literal environment value. The registry proxy URLs (they may hold credentials)
reach the build container the same way: environment variables from a per-build Secret.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from b2i.oci.netpolicy import NO_NETWORKS
from workloads.manifests import MANAGED_BY, Manifest, shorten_name

CI_NODE_LABEL = "node-role.kubernetes.io/worker"
CI_NODE_VALUE = "ci"
CI_TAINT = "node.kubernetes.io/ci"
CREDENTIALS_DIR = "/var/run/b2i/registry"
WORKSPACE_DIR = "/workspace"
ARTIFACT_PATH = f"{WORKSPACE_DIR}/artifact"
FETCH_CONTAINER = "fetch-artifact"
BUILD_CONTAINER = "build"
BUILD_UID = 1000
PROXY_SCHEMES = ("https", "http")


@dataclass(frozen=True)
class JobProxy:
    """The worker's registry proxy decision, handed on to the build container.

    `secret` holds the proxy URL of each scheme in `schemes` under the key `<scheme>-proxy`;
    `no_proxy` is the bypass list exactly as the worker applies it. No scheme: registries are
    reached directly, even if the pod's own environment names a proxy (B2I_REGISTRY_PROXY=off).
    """

    secret: str = ""
    schemes: tuple[str, ...] = ()
    no_proxy: str = ""


@dataclass(frozen=True)
class BuildJobSpec:
    namespace: str
    builder: str
    run_number: int
    console_image: str
    artifact_url: str
    artifact_sha256: str
    target: str
    credentials_secret: str
    environment: str = ""  # a built-in environment name (`--env`) …
    base_image: str = ""  # … or, for an admin's custom environment, its base (`--from`)
    artifact_kind: str = ""
    source: str = ""
    port: int | None = None
    build_env: dict[str, str] = field(default_factory=dict)
    insecure_registry: bool = False
    proxy: JobProxy | None = None  # None: no proxy configured, nothing proxy-related rendered
    # The worker's B2I_ALLOWED_REGISTRY_NETWORKS: the pod's b2i applies the same address policy
    # (empty: public registries only - b2i alone would allow loopback and private networks).
    allowed_networks: tuple[str, ...] = ()
    # Issue 17: `--sbom --invocation-id <run>` (None: no SBOM or provenance is made).
    invocation_id: str | None = None
    deadline_seconds: int = 36 * 60
    ttl_seconds: int = 3600

    @property
    def name(self) -> str:
        return job_name(self.builder, self.run_number)


BUILDER_LABEL = "b2i-console/builder"
RUN_LABEL = "b2i-console/run"
BUILD_JOB_SELECTOR = ",".join([*(f"{k}={v}" for k, v in MANAGED_BY.items()), BUILDER_LABEL])


def job_summary(job: Manifest) -> dict[str, Any]:
    """Summarize a build Job for the Jobs list: its run, state, pod counts and times."""
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    labels = meta.get("labels") or {}
    true = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    failed = true.get("Failed")
    if failed is not None:
        state = "Failed"
    elif "Complete" in true or status.get("succeeded"):
        state = "Succeeded"
    else:
        state = "Running" if status.get("active") else "Pending"
    run = labels.get(RUN_LABEL, "")
    return {
        "name": meta.get("name", ""),
        "builder": labels.get(BUILDER_LABEL, ""),
        "run": int(run) if run.isdigit() else None,
        "state": state,
        "active": status.get("active", 0),
        "succeeded": status.get("succeeded", 0),
        "failed": status.get("failed", 0),
        "reason": (failed or {}).get("reason", ""),
        "message": (failed or {}).get("message", ""),
        "created_at": meta.get("creationTimestamp"),
        "started_at": status.get("startTime"),
        "completed_at": status.get("completionTime"),
    }


def job_name(builder: str, run_number: int) -> str:
    """Return the Job name of a run, shortened (with a hash) to stay a valid object name."""
    return shorten_name(f"b2i-build-{builder}-{run_number}")


def _build_args(spec: BuildJobSpec) -> list[str]:
    args = ["build", ARTIFACT_PATH, "--to", spec.target]
    args += ["--docker-config", f"{CREDENTIALS_DIR}/config.json"]
    if spec.environment:
        args += ["--env", spec.environment]
    elif spec.base_image:
        args += ["--from", spec.base_image]
    if spec.artifact_kind:
        args += ["--kind", spec.artifact_kind]
    if spec.source:
        args += ["--source", spec.source]
    if spec.port:
        args += ["--port", str(spec.port)]
    for key, value in sorted(spec.build_env.items()):
        args += ["--set-env", f"{key}={value}"]
    if spec.insecure_registry:
        args.append("--insecure")
    if spec.invocation_id is not None:
        args += ["--sbom", "--invocation-id", spec.invocation_id]
    return args


def proxy_secret_key(scheme: str) -> str:
    return f"{scheme}-proxy"


def render_proxy_secret(namespace: str, name: str, urls: Mapping[str, str]) -> Manifest:
    """Render the Secret holding the proxy URL per registry scheme (credentials included)."""
    data = {proxy_secret_key(s): base64.b64encode(url.encode()).decode() for s, url in urls.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": shorten_name(name), "namespace": namespace, "labels": MANAGED_BY},
        "data": data,
    }


def _proxy_env(proxy: JobProxy | None) -> list[Manifest]:
    if proxy is None:
        return []
    if not proxy.schemes:
        return [{"name": "B2I_REGISTRY_PROXY", "value": "off"}]
    env: list[Manifest] = []
    for scheme in PROXY_SCHEMES:
        ref = {"secretKeyRef": {"name": proxy.secret, "key": proxy_secret_key(scheme)}}
        # Both spellings (b2i reads the lowercase one first, as curl does), a scheme without a
        # proxy as "": a variable the cluster injects into pods cannot change the decision.
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
            env.append(
                {"name": name, "valueFrom": ref}
                if scheme in proxy.schemes
                else {"name": name, "value": ""}
            )
    # Exactly as given: b2i adds loopback only to a NO_PROXY, and the worker's list has it already.
    env.append({"name": "B2I_NO_PROXY", "value": proxy.no_proxy})
    return env


def _hardened_security() -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": BUILD_UID,
        "runAsGroup": BUILD_UID,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _fetch_container(spec: BuildJobSpec) -> Manifest:
    # The URL is signed and short-lived; the checksum makes a truncated download fail loudly.
    return {
        "name": FETCH_CONTAINER,
        "image": spec.console_image,
        "command": ["python", "-m", "workloads.artifact_fetch"],
        "args": [spec.artifact_url, spec.artifact_sha256, ARTIFACT_PATH],
        "securityContext": _hardened_security(),
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE_DIR}],
    }


def _build_container(spec: BuildJobSpec) -> Manifest:
    mounts = [
        {"name": "workspace", "mountPath": WORKSPACE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (an emptyDir, not the host's /tmp)
        {"name": "registry-credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True},
    ]
    return {
        "name": BUILD_CONTAINER,
        "image": spec.console_image,
        "command": ["b2i"],
        "args": _build_args(spec),
        "env": [
            {"name": "HOME", "value": WORKSPACE_DIR},
            {"name": "B2I_ALLOWED_REGISTRY_NETWORKS", "value": _networks_value(spec)},
            *_proxy_env(spec.proxy),
        ],
        "securityContext": _hardened_security(),
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "volumeMounts": mounts,
    }


def _networks_value(spec: BuildJobSpec) -> str:
    # `none`, not empty: an empty value would give b2i its own default (private networks too).
    return ",".join(spec.allowed_networks) or NO_NETWORKS


def _ci_affinity() -> Manifest:
    # Preferred, not required: a cluster without dedicated CI nodes still runs the build.
    term = {"key": CI_NODE_LABEL, "operator": "In", "values": [CI_NODE_VALUE]}
    preferred = [{"weight": 100, "preference": {"matchExpressions": [term]}}]
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}


def _volumes(spec: BuildJobSpec) -> list[Manifest]:
    items = [{"key": ".dockerconfigjson", "path": "config.json"}]
    secret = {"secretName": spec.credentials_secret, "items": items, "defaultMode": 0o440}
    return [
        {"name": "workspace", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "registry-credentials", "secret": secret},
    ]


def render_build_job(spec: BuildJobSpec) -> Manifest:
    """Render the Job of one build run: fetch the artifact, then `b2i build` and push."""
    labels = {**MANAGED_BY, BUILDER_LABEL: spec.builder, RUN_LABEL: str(spec.run_number)}
    pod_spec: Manifest = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "fsGroup": BUILD_UID},
        "initContainers": [_fetch_container(spec)],
        "containers": [_build_container(spec)],
        "volumes": _volumes(spec),
        "affinity": _ci_affinity(),
        "tolerations": [{"key": CI_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": spec.deadline_seconds,
            "ttlSecondsAfterFinished": spec.ttl_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }
