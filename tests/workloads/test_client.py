"""The kubernetes client wrapper against the test API server, over real HTTP."""

import json
import time

import kubernetes
import pytest

from tests.fixtures.processes import free_port
from workloads.client import KubeClient, KubeError
from workloads.manifests import (
    pinned_image,
    render_namespace,
    render_pull_secret,
    render_service_objects,
)
from workloads.spec import parse_service_spec

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
REPO = "127.0.0.1:5000/demo/shop"
SPEC = {
    "name": "shop",
    "ports": [{"protocol": "HTTP", "container_port": 8080, "service_port": 80}],
    "external_access": "NodePort",
    "context_path": "shop",
}


def objects_for(digest=DIGEST_A, replicas=2, **changes):
    spec = parse_service_spec({**SPEC, **changes})
    secret = render_pull_secret("demo", "local", {"auths": {"127.0.0.1:5000": {"auth": "eDp5"}}})
    return render_service_objects(
        spec,
        namespace="demo",
        image=pinned_image(REPO, digest),
        replicas=replicas,
        pull_secret=secret,
    )


@pytest.fixture
def kube(kube_apiserver):
    client = KubeClient.connect(kube_apiserver.kubeconfig())
    yield client
    client.close()


def wait_for_complete(kube, name="shop-v1", kind="Deployment", timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = kube.workload_status(kind, "demo", name)
        if status.complete:
            return status
        time.sleep(0.05)
    raise AssertionError(f"rollout did not complete: {status}")


def versions(kube_apiserver):
    store = kube_apiserver.store
    return {
        key: obj["metadata"]["resourceVersion"]
        for key, obj in store.objects.items()
        if key[2] == "demo" and key[1] != "events" and key[1] != "pods"
    }


def test_apply_all_creates_namespace_labelled_with_workspace_and_every_object(kube, kube_apiserver):
    applied = kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    assert [o["kind"] for o in applied] == ["Secret", "Service", "Deployment"]
    namespace = kube.get("Namespace", "", "demo")
    assert namespace["metadata"]["labels"]["kubesphere.io/workspace"] == "acme"
    deployment = kube.get("Deployment", "demo", "shop-v1")
    managers = {m["manager"] for m in deployment["metadata"]["managedFields"]}
    assert managers == {"b2i-console"}
    assert kube.get("Secret", "demo", "local")["type"] == "kubernetes.io/dockerconfigjson"


def test_every_object_is_dry_run_before_anything_is_applied(kube, kube_apiserver):
    kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    patches = kube_apiserver.requests_matching("PATCH", "/namespaces/demo/")
    dry = [p for p in patches if "dryRun=All" in p]
    real = [p for p in patches if "dryRun=All" not in p]
    assert len(dry) == len(real) == 3
    assert patches.index(real[0]) > patches.index(dry[-1])
    assert all("fieldManager=b2i-console" in p for p in patches)


def test_reapplying_the_same_objects_changes_nothing(kube, kube_apiserver):
    kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    before = versions(kube_apiserver)
    generation = kube.get("Deployment", "demo", "shop-v1")["metadata"]["generation"]
    kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    assert {k: v for k, v in versions(kube_apiserver).items() if k[1] != "deployments"} == {
        k: v for k, v in before.items() if k[1] != "deployments"
    }
    assert kube.get("Deployment", "demo", "shop-v1")["metadata"]["generation"] == generation


def test_a_rejected_object_leaves_nothing_behind(kube, kube_apiserver):
    objects = objects_for()
    broken = objects[-1]
    broken["spec"]["template"]["metadata"]["labels"]["app"] = "other"  # selector no longer matches
    with pytest.raises(KubeError) as caught:
        kube.apply_all(objects, namespace=render_namespace("demo", "acme"))
    assert caught.value.code == "kube:user:invalid-object"
    assert caught.value.status == 422
    assert "selector" in caught.value.message
    assert kube.get("Namespace", "", "demo") is None
    assert not [k for k in kube_apiserver.store.objects if k[2] == "demo"]


def test_rejection_in_an_existing_namespace_creates_nothing_in_it(kube, kube_apiserver):
    kube.apply(render_namespace("demo", "acme"))
    objects = objects_for()
    objects[1]["spec"]["ports"][0]["port"] = 70000
    with pytest.raises(KubeError, match=r"spec\.ports"):
        kube.apply_all(objects, namespace=render_namespace("demo", "acme"))
    assert kube.get("Namespace", "", "demo") is not None
    assert kube.list("Secret", "demo") == []
    assert kube.list("Deployment", "demo") == []


def test_rollout_status_reports_replicas_pods_conditions_and_events(kube):
    kube.apply_all(objects_for(replicas=2), namespace=render_namespace("demo", "acme"))
    status = wait_for_complete(kube)
    assert (status.desired, status.updated, status.ready, status.available) == (2, 2, 2, 2)
    assert {c["type"]: c["status"] for c in status.conditions} == {
        "Available": "True",
        "Progressing": "True",
    }
    assert [p["phase"] for p in status.pods] == ["Running", "Running"]
    assert any(e["reason"] == "ScalingReplicaSet" for e in status.events)
    assert status.image == f"{REPO}@{DIGEST_A}"


def test_zero_replicas_then_scaled_to_the_requested_count(kube):
    kube.apply_all(objects_for(replicas=0), namespace=render_namespace("demo", "acme"))
    assert wait_for_complete(kube).pods == []
    kube.apply_all(objects_for(replicas=3))
    assert wait_for_complete(kube).ready == 3


def test_rolling_to_a_new_digest_and_back_replaces_every_pod(kube):
    kube.apply_all(objects_for(DIGEST_A), namespace=render_namespace("demo", "acme"))
    first_pods = {p["name"] for p in wait_for_complete(kube).pods}
    kube.apply_all(objects_for(DIGEST_B))
    rolled = wait_for_complete(kube)
    assert rolled.image.endswith(DIGEST_B)
    assert not first_pods & {p["name"] for p in rolled.pods}
    kube.apply_all(objects_for(DIGEST_A))
    assert wait_for_complete(kube).image.endswith(DIGEST_A)


def test_failed_image_pull_shows_in_pod_reason_and_warning_event(kube, kube_apiserver):
    kube_apiserver.controller.failing_images.add(f"{REPO}@{DIGEST_B}")
    kube.apply_all(objects_for(DIGEST_B, replicas=1), namespace=render_namespace("demo", "acme"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = kube.workload_status("Deployment", "demo", "shop-v1")
        if status.pods and status.pods[0]["reason"] and status.events:
            break
        time.sleep(0.05)
    assert status.pods[0]["reason"] == "ImagePullBackOff"
    assert not status.complete
    assert any(e["type"] == "Warning" and e["reason"] == "Failed" for e in status.events)


def test_watch_yields_status_until_the_rollout_completes(kube):
    kube.apply_all(objects_for(replicas=2), namespace=render_namespace("demo", "acme"))
    seen = []
    for status in kube.watch_workload("Deployment", "demo", "shop-v1", timeout=10):
        seen.append(status)
        if status.complete:
            break
    assert seen[-1].complete and seen[-1].ready == 2
    assert len(seen) >= 2  # progress was observed, not just the end state


def test_node_port_access_url_uses_node_address_and_context_path(kube):
    kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    node_port = kube.get("Service", "demo", "shop")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    urls = kube.access_urls("demo", "shop", "shop")
    node_ips = {"127.0.0.1", "127.0.0.2"}  # the InternalIPs of the two nodes (no ExternalIP)
    assert urls in ([f"http://{ip}:{node_port}/shop/"] for ip in node_ips)
    kube.apply_all(objects_for())  # re-apply keeps the allocated nodePort
    assert kube.get("Service", "demo", "shop")["spec"]["ports"][0]["nodePort"] == node_port


def test_node_external_ip_is_preferred_over_internal_ip(kube, kube_apiserver):
    kube_apiserver.controller.add_node("edge-1", internal_ip="10.0.0.9", external_ip="127.0.0.9")
    assert kube.node_address() == "127.0.0.9"


def test_load_balancer_access_url_comes_from_its_ingress(kube):
    kube.apply_all(
        objects_for(external_access="LoadBalancer"), namespace=render_namespace("demo", "acme")
    )
    deadline = time.monotonic() + 5
    while not (urls := kube.access_urls("demo", "shop", "shop")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert urls == ["http://127.0.0.3:80/shop/"]


def test_cluster_ip_service_has_no_external_url(kube):
    kube.apply_all(objects_for(external_access="none"), namespace=render_namespace("demo", "acme"))
    assert kube.access_urls("demo", "shop") == []


def test_force_apply_takes_back_fields_another_manager_changed(kube, kube_apiserver):
    kube.apply_all(objects_for(replicas=2), namespace=render_namespace("demo", "acme"))
    kube.apps.patch_namespaced_deployment(
        "shop-v1", "demo", {"spec": {"replicas": 5}}, field_manager="kubectl"
    )
    deployment = kube.get("Deployment", "demo", "shop-v1")
    assert deployment["spec"]["replicas"] == 5
    assert {m["manager"] for m in deployment["metadata"]["managedFields"]} == {
        "b2i-console",
        "kubectl",
    }
    kube.apply_all(objects_for(replicas=2))
    assert kube.get("Deployment", "demo", "shop-v1")["spec"]["replicas"] == 2


def test_apply_without_force_reports_the_conflicting_manager(kube, kube_apiserver):
    kube.apply_all(objects_for(replicas=2), namespace=render_namespace("demo", "acme"))
    kube.apps.patch_namespaced_deployment(
        "shop-v1", "demo", {"spec": {"replicas": 5}}, field_manager="kubectl"
    )
    other = KubeClient.connect(kube_apiserver.kubeconfig())
    deployment = objects_for(replicas=3)[-1]
    with pytest.raises(kubernetes.client.ApiException) as caught:
        other.api.call_api(
            "/apis/apps/v1/namespaces/demo/deployments/shop-v1", "PATCH",
            query_params=[("fieldManager", "b2i-console")],
            header_params={"Content-Type": "application/apply-patch+yaml"},
            body=deployment, auth_settings=["BearerToken"],
        )  # fmt: skip
    assert caught.value.status == 409
    status = json.loads(caught.value.body)
    assert status["reason"] == "Conflict"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl"',
            "field": ".spec.replicas",
        }
    ]


def test_immutable_selector_change_is_rejected(kube):
    kube.apply_all(objects_for(), namespace=render_namespace("demo", "acme"))
    changed = objects_for()[-1]
    changed["spec"]["selector"]["matchLabels"]["tier"] = "web"
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    with pytest.raises(KubeError, match="field is immutable"):
        kube.apply(changed, dry_run=True)


def test_missing_objects_read_as_none_and_delete_reports_absence(kube):
    assert kube.get("Deployment", "nowhere", "ghost") is None
    assert kube.delete("Service", "nowhere", "ghost") is False


def test_deleting_a_workload_removes_its_pods(kube):
    kube.apply_all(objects_for(replicas=2), namespace=render_namespace("demo", "acme"))
    wait_for_complete(kube)
    assert kube.delete("Deployment", "demo", "shop-v1") is True
    assert kube.list("Pod", "demo") == []


def test_wrong_token_is_a_clear_auth_error(kube_apiserver):
    config = kube_apiserver.kubeconfig()
    config["users"][0]["user"]["token"] = "wrong"
    with pytest.raises(KubeError) as caught:
        KubeClient.connect(config).get("Namespace", "", "demo")
    assert caught.value.code == "kube:auth-failed"


def test_unreachable_cluster_and_bad_kubeconfig_have_stable_codes(kube_apiserver):
    config = kube_apiserver.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"
    with pytest.raises(KubeError) as caught:
        KubeClient.connect(config).get("Namespace", "", "demo")
    assert caught.value.code == "kube:unreachable"
    with pytest.raises(KubeError) as caught:
        KubeClient.connect({"apiVersion": "v1", "kind": "Config", "clusters": []})
    assert caught.value.code == "kube:user:invalid-kubeconfig"


def test_no_proxy_lets_api_calls_bypass_the_worker_proxy(kube_apiserver, monkeypatch):
    # The kubernetes client reads HTTPS_PROXY but dropped NO_PROXY: the calls went to the proxy.
    for name in ("https_proxy", "http_proxy", "no_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    direct = KubeClient.connect(kube_apiserver.kubeconfig())
    try:
        assert direct.get("Namespace", "", "no-such-namespace") is None
    finally:
        direct.close()
    monkeypatch.delenv("NO_PROXY")
    proxied = KubeClient.connect(kube_apiserver.kubeconfig())
    try:
        with pytest.raises(KubeError) as caught:
            proxied.get("Namespace", "", "no-such-namespace")
        assert caught.value.code == "kube:unreachable"
    finally:
        proxied.close()
