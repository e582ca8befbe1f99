"""Service specs and their rendered manifests, validated offline against Kubernetes schemas."""

import base64
import json

import pytest
import yaml

from tests.workloads.validation import assert_valid_manifests
from workloads.manifests import (
    pinned_image,
    redact_secrets,
    render_namespace,
    render_pull_secret,
    render_service_objects,
    shorten_name,
    to_yaml,
)
from workloads.spec import SpecError, parse_service_spec, spec_to_dict

DIGEST = "sha256:" + "ab" * 32
IMAGE = pinned_image("127.0.0.1:5000/demo/shop:latest", DIGEST)
DOCKERCONFIG = {"auths": {"127.0.0.1:5000": {"username": "alice", "password": "s3cret"}}}

MINIMAL = {"name": "shop", "ports": [{"protocol": "HTTP", "container_port": 8080}]}
FULL_STATELESS = {
    "name": "shop",
    "alias": "商店",
    "version": "v2",
    "replicas": 3,
    "container_name": "web",
    "ports": [
        {"protocol": "HTTP", "name": "http-0", "container_port": 8080, "service_port": 80},
        {"protocol": "GRPC", "container_port": 9090, "service_port": 9090},
        {"protocol": "UDP", "container_port": 5353, "service_port": 53},
    ],
    "env": [
        {"name": "JAVA_OPTIONS", "value": "-Xmx256m"},
        {"name": "DB_HOST", "config_map": "shop-config", "key": "db-host"},
        {"name": "DB_PASSWORD", "secret": "shop-db", "key": "password"},
    ],
    "resources": {"requests_cpu": "250m", "requests_memory": "256Mi", "limits_memory": "1Gi"},
    "readiness": {"path": "/health", "initial_delay_seconds": 5},
    "liveness": {"path": "/live", "port_name": "http-0"},
    "volumes": [
        {"kind": "emptyDir", "name": "cache", "mount_path": "/cache"},
        {"kind": "pvc", "name": "data", "mount_path": "/data", "source": "shop-data"},
        {"kind": "configMap", "name": "conf", "mount_path": "/etc/shop", "source": "shop-config"},
        {"kind": "secret", "name": "tls", "mount_path": "/etc/tls", "source": "shop-tls"},
    ],
    "external_access": "NodePort",
    "session_affinity": True,
    "session_affinity_seconds": 600,
    "node_selector": {"kubernetes.io/os": "linux"},
    "labels": {"team": "payments"},
    "annotations": {"example.com/owner": "alice@example.com"},
}
STATEFUL = {
    "name": "ledger",
    "kind": "stateful",
    "ports": [{"protocol": "TCP", "container_port": 7000}],
    "volumes": [
        {"kind": "claimTemplate", "name": "wal", "mount_path": "/wal", "storage": "2Gi"},
    ],
    "external_access": "LoadBalancer",
}
VARIANTS = {"minimal": MINIMAL, "full-stateless": FULL_STATELESS, "stateful": STATEFUL}


def _render(data, replicas=1, with_secret=True):
    spec = parse_service_spec(data)
    secret = render_pull_secret("demo", "local", DOCKERCONFIG) if with_secret else None
    objects = render_service_objects(
        spec, namespace="demo", image=IMAGE, replicas=replicas, pull_secret=secret
    )
    return spec, objects


def _by_kind(objects, kind):
    return [obj for obj in objects if obj["kind"] == kind]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spec_variant_renders_schema_valid_manifests(variant):
    _, objects = _render(VARIANTS[variant])
    assert assert_valid_manifests([render_namespace("demo", "acme"), *objects]) == len(objects) + 1


def test_zero_replicas_before_first_build_is_still_valid():
    _, objects = _render(MINIMAL, replicas=0, with_secret=False)
    assert_valid_manifests(objects)
    assert _by_kind(objects, "Deployment")[0]["spec"]["replicas"] == 0


def test_workload_pins_image_by_digest_and_references_the_pull_secret():
    _, objects = _render(FULL_STATELESS)
    deployment = _by_kind(objects, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"127.0.0.1:5000/demo/shop@{DIGEST}"
    assert pod["imagePullSecrets"] == [{"name": "local"}]
    assert deployment["metadata"]["name"] == "shop-v2"


def test_service_selects_exactly_the_pod_labels():
    _, objects = _render(FULL_STATELESS)
    service = _by_kind(objects, "Service")[0]
    pod_labels = _by_kind(objects, "Deployment")[0]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"] == {"app": "shop", "version": "v2"}
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pod_labels["team"] == "payments"


def test_udp_port_is_udp_and_every_other_protocol_is_tcp():
    _, objects = _render(FULL_STATELESS)
    ports = {p["name"]: p for p in _by_kind(objects, "Service")[0]["spec"]["ports"]}
    assert ports["udp-2"]["protocol"] == "UDP"
    assert ports["grpc-1"]["protocol"] == "TCP"
    assert ports["http-0"] == {
        "name": "http-0",
        "port": 80,
        "targetPort": 8080,
        "protocol": "TCP",
        "appProtocol": "http",
    }


def test_readiness_probe_defaults_to_first_http_port_and_can_be_turned_off():
    _, objects = _render(MINIMAL)
    container = _by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/", "port": 8080, "scheme": "HTTP"}
    _, objects = _render({**MINIMAL, "readiness": False})
    container = _by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "readinessProbe" not in container


def test_node_port_and_session_affinity_render_on_the_service():
    _, objects = _render(FULL_STATELESS)
    spec = _by_kind(objects, "Service")[0]["spec"]
    assert spec["type"] == "NodePort"
    assert spec["sessionAffinity"] == "ClientIP"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 600}}


def test_stateful_service_gets_statefulset_headless_service_and_claim_templates():
    _, objects = _render(STATEFUL)
    statefulset = _by_kind(objects, "StatefulSet")[0]
    services = {s["metadata"]["name"]: s for s in _by_kind(objects, "Service")}
    assert statefulset["spec"]["serviceName"] == "ledger-headless"
    assert services["ledger-headless"]["spec"]["clusterIP"] == "None"
    assert services["ledger"]["spec"]["type"] == "LoadBalancer"
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"


def test_pull_secret_is_dockerconfigjson_with_the_auths_document():
    secret = render_pull_secret("demo", "local", DOCKERCONFIG)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == DOCKERCONFIG


def test_long_names_are_shortened_to_63_with_a_stable_hash_suffix():
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"
    assert len(shorten_name(long_a)) == 63
    assert shorten_name(long_a) == shorten_name(long_a)
    assert shorten_name(long_a) != shorten_name(long_b)
    assert shorten_name("short") == "short"
    name = "n" * 63
    spec, objects = _render({**MINIMAL, "name": name, "version": "v" + "1" * 15})
    workload = _by_kind(objects, "Deployment")[0]
    assert len(spec.workload_name) == 80
    assert len(workload["metadata"]["name"]) == 63
    assert_valid_manifests(objects)


def test_yaml_preview_round_trips_and_redacts_secret_data():
    _, objects = _render(FULL_STATELESS)
    text = to_yaml(redact_secrets(objects))
    documents = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in documents] == ["Secret", "Service", "Deployment"]
    assert "s3cret" not in text and "<redacted>" in text
    assert documents[2]["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE


def test_spec_round_trips_through_its_json_form():
    spec = parse_service_spec(FULL_STATELESS)
    assert parse_service_spec(json.loads(json.dumps(spec_to_dict(spec)))) == spec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Shop"}, "name"),
        ({"name": "a" * 64}, "name"),
        ({"version": "V1"}, "version"),
        ({"version": "v" * 17}, "version"),
        ({"ports": []}, "ports"),
        ({"ports": [{"protocol": "SCTP", "container_port": 80}]}, "ports[0].protocol"),
        ({"ports": [{"container_port": 70000}]}, "ports[0].container_port"),
        ({"ports": [{"name": "http-port-too-long", "container_port": 80}]}, "ports[0].name"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": "many"}, "replicas"),
        ({"external_access": "Ingress"}, "external_access"),
        ({"session_affinity_seconds": 86401}, "session_affinity_seconds"),
        ({"resources": {"limits_cpu": "lots"}}, "resources.limits_cpu"),
        ({"env": [{"name": "1X", "value": "v"}]}, "env[0].name"),
        ({"env": [{"name": "X", "secret": "s"}]}, "env[0].key"),
        ({"labels": {"app": "x" * 64}}, "labels.app"),
        (
            {"volumes": [{"kind": "claimTemplate", "name": "d", "mount_path": "/d"}]},
            "volumes[0].kind",
        ),
        ({"volumes": [{"kind": "pvc", "name": "d", "mount_path": "d"}]}, "volumes[0].mount_path"),
        ({"readiness": {"port_name": "nope"}}, "readiness.port_name"),
        ({"env": [{"name": "X", "value": "a\x00b"}]}, "env[0].value"),  # PostgreSQL refuses NUL
        ({"annotations": {"note": "\x00"}}, "annotations.note"),
    ],
)
def test_invalid_spec_names_the_field_at_fault(change, field):
    with pytest.raises(SpecError) as caught:
        parse_service_spec({**MINIMAL, **change})
    assert field in caught.value.errors
    assert caught.value.code == "service:user:invalid-spec"


def test_port_names_default_to_protocol_and_index_and_must_be_unique():
    spec = parse_service_spec(
        {"name": "x", "ports": [{"container_port": 80}, {"protocol": "TCP", "container_port": 81}]}
    )
    assert [p.name for p in spec.ports] == ["http-0", "tcp-1"]
    duplicate = [{"name": "web", "container_port": 80}, {"name": "web", "container_port": 81}]
    with pytest.raises(SpecError, match="unique"):
        parse_service_spec({"name": "x", "ports": duplicate})


def test_schema_validation_rejects_a_broken_manifest():
    _, objects = _render(MINIMAL)
    broken = _by_kind(objects, "Deployment")[0]
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    with pytest.raises(AssertionError, match="containerPort"):
        assert_valid_manifests([broken])


@pytest.mark.parametrize(
    "reference",
    [
        "127.0.0.1:5000/demo/shop",
        "127.0.0.1:5000/demo/shop:v2",
        f"127.0.0.1:5000/demo/shop@{'sha256:' + 'a' * 64}",
        f"127.0.0.1:5000/demo/shop:v2@{'sha256:' + 'a' * 64}",
    ],
)
def test_pinned_image_replaces_any_tag_or_digest_with_the_run_digest(reference: str) -> None:
    assert pinned_image(reference, DIGEST) == f"127.0.0.1:5000/demo/shop@{DIGEST}"
