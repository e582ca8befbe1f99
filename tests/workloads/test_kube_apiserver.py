"""The test API server answers like a real one where the console depends on it (driven here
through the official client and raw HTTP, so a regression in the fixture cannot hide)."""

import json
import time

import httpx
import kubernetes
import pytest

from tests.fixtures.kube_controller import JobScript


@pytest.fixture
def api(kube_apiserver):
    config = kubernetes.client.Configuration(host=kube_apiserver.url)
    config.api_key = {"authorization": f"Bearer {kube_apiserver.token}"}
    client = kubernetes.client.ApiClient(config)
    kubernetes.client.CoreV1Api(client).create_namespace({"metadata": {"name": "demo"}})
    yield client
    client.close()


@pytest.fixture
def http(kube_apiserver):
    headers = {"Authorization": f"Bearer {kube_apiserver.token}"}
    with httpx.Client(base_url=kube_apiserver.url, headers=headers, timeout=5) as client:
        yield client


SECRET = {"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}}


def test_creating_twice_is_409_already_exists_as_a_status_object(api):
    core = kubernetes.client.CoreV1Api(api)
    core.create_namespaced_secret("demo", SECRET)
    with pytest.raises(kubernetes.client.ApiException) as caught:
        core.create_namespaced_secret("demo", SECRET)
    status = json.loads(caught.value.body)
    assert caught.value.status == 409
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "AlreadyExists", 409)


def test_stale_resource_version_is_409_conflict(api):
    core = kubernetes.client.CoreV1Api(api)
    created = core.create_namespaced_secret("demo", SECRET)
    core.patch_namespaced_secret("s", "demo", {"metadata": {"labels": {"a": "b"}}})
    created.metadata.labels = {"a": "c"}
    with pytest.raises(kubernetes.client.ApiException) as caught:
        core.replace_namespaced_secret("s", "demo", created)
    assert caught.value.status == 409 and json.loads(caught.value.body)["reason"] == "Conflict"


def test_dry_run_validates_but_stores_nothing(api, kube_apiserver):
    core = kubernetes.client.CoreV1Api(api)
    version = kube_apiserver.store.rv
    core.create_namespaced_secret("demo", SECRET, dry_run="All")
    assert core.list_namespaced_secret("demo").items == []
    assert kube_apiserver.store.rv == version


def test_missing_namespace_is_404_and_missing_object_is_404(api):
    core = kubernetes.client.CoreV1Api(api)
    for call in (
        lambda: core.create_namespaced_secret("nowhere", SECRET),
        lambda: core.read_namespaced_secret("ghost", "demo"),
    ):
        with pytest.raises(kubernetes.client.ApiException) as caught:
            call()
        assert caught.value.status == 404


def test_apply_requires_a_field_manager(http):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}
    response = http.patch(
        "/api/v1/namespaces/demo/secrets/s",
        content=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert response.status_code == 422
    assert "fieldManager" in response.json()["message"]


def test_apply_removes_fields_its_manager_stopped_applying(http, api):
    def apply(labels):
        meta = {"name": "s", "labels": labels}
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}
        return http.patch(
            "/api/v1/namespaces/demo/secrets/s?fieldManager=me",
            content=json.dumps(body),
            headers={"Content-Type": "application/apply-patch+yaml"},
        ).json()

    apply({"keep": "1", "drop": "1"})
    kubernetes.client.CoreV1Api(api).patch_namespaced_secret(
        "s", "demo", {"metadata": {"labels": {"other": "x"}}}, field_manager="kubectl"
    )
    result = apply({"keep": "1"})
    assert result["metadata"]["labels"] == {"keep": "1", "other": "x"}
    managers = {m["manager"]: m["fieldsV1"] for m in result["metadata"]["managedFields"]}
    assert managers["me"] == {"f:metadata": {"f:labels": {"f:keep": {}}}, "f:type": {}}
    assert managers["kubectl"] == {"f:metadata": {"f:labels": {"f:other": {}}}}


def test_watch_from_a_resource_version_replays_later_events_in_order(api, kube_apiserver):
    core = kubernetes.client.CoreV1Api(api)
    start = core.list_namespaced_secret("demo").metadata.resource_version
    core.create_namespaced_secret("demo", SECRET)
    core.patch_namespaced_secret("s", "demo", {"metadata": {"labels": {"a": "b"}}})
    core.delete_namespaced_secret("s", "demo")
    events = []
    watcher = kubernetes.watch.Watch()
    for event in watcher.stream(
        core.list_namespaced_secret, "demo", resource_version=start, timeout_seconds=2
    ):
        events.append(event["type"])
        if len(events) == 3:
            watcher.stop()
    assert events == ["ADDED", "MODIFIED", "DELETED"]


def test_pod_log_of_a_multi_container_pod_needs_a_container_name(api, kube_apiserver):
    kube_apiserver.script_job("j", JobScript(init_lines=["fetched"], lines=["built"]))
    containers = {
        "initContainers": [{"name": "fetch", "image": "i"}],
        "containers": [{"name": "build", "image": "i"}, {"name": "side", "image": "i"}],
    }
    template = {"spec": {"restartPolicy": "Never", **containers}}
    kubernetes.client.BatchV1Api(api).create_namespaced_job(
        "demo", {"metadata": {"name": "j"}, "spec": {"template": template}}
    )
    core = kubernetes.client.CoreV1Api(api)
    deadline = time.monotonic() + 5
    while not (pods := core.list_namespaced_pod("demo").items) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(kubernetes.client.ApiException) as caught:
        core.read_namespaced_pod_log(pods[0].metadata.name, "demo")
    assert caught.value.status == 400 and "container name must be specified" in caught.value.body


def test_requests_without_the_token_are_401(kube_apiserver):
    assert httpx.get(f"{kube_apiserver.url}/api/v1/namespaces").status_code == 401
