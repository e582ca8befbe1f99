"""The console's own deployment: plain manifests validated against the Kubernetes schemas, and
the Helm chart's templates checked to mirror them. (helm itself is not available here, so
`helm lint`/`helm template` are not run.)"""

import re
from pathlib import Path

import pytest
import yaml

from tests.workloads.validation import assert_valid_manifests

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PLAIN = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
TEMPLATES = DEPLOY / "helm" / "b2i-console" / "templates"
FULLNAME = '{{ include "b2i-console.fullname" . }}'


def load(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_plain_manifests_exist_for_web_worker_beat_redis_and_postgresql():
    kinds = {(d["kind"], d["metadata"]["name"]) for path in PLAIN for d in load(path)}
    for component in ("web", "worker", "beat", "redis"):
        assert ("Deployment", f"b2i-console-{component}") in kinds
    assert ("StatefulSet", "b2i-console-postgresql") in kinds
    assert ("Job", "b2i-console-migrate") in kinds


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: p.name)
def test_each_plain_manifest_is_schema_valid(path):
    assert assert_valid_manifests(load(path)) == 1


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: p.name)
def test_chart_template_mirrors_the_plain_manifest(path):
    template = (TEMPLATES / path.name).read_text()
    plain = load(path)[0]
    assert re.search(rf"^kind: {plain['kind']}$", template, re.MULTILINE)
    name = re.search(r"^  name: (.+)$", template, re.MULTILINE).group(1)
    assert name.replace(FULLNAME, "b2i-console") == plain["metadata"]["name"]
    component = plain["metadata"]["labels"].get("app.kubernetes.io/component")
    if component:
        assert f"app.kubernetes.io/component: {component}" in template


def test_chart_ships_no_default_secrets_and_requires_them():
    values = yaml.safe_load((DEPLOY / "helm" / "b2i-console" / "values.yaml").read_text())
    assert values["secrets"]["secretKey"] == values["secrets"]["secretKeys"] == ""
    assert values["postgresql"]["password"] == ""
    secret = (TEMPLATES / "secret.yaml").read_text()
    for key in ("secretKey", "secretKeys"):
        assert re.search(rf'required "[^"]+" \.Values\.secrets\.{key} \|', secret), key
    database = (TEMPLATES / "postgresql-secret.yaml").read_text()
    assert re.search(r'required "[^"]+" \.Values\.postgresql\.password \|', database)


# Chart-only templates, off by default: a ServiceMonitor needs the Prometheus Operator's CRDs.
OPTIONAL_TEMPLATES = {"servicemonitor.yaml"}


def test_every_chart_template_has_a_plain_manifest():
    templates = {p.name for p in TEMPLATES.glob("*.yaml")} - OPTIONAL_TEMPLATES
    assert templates == {p.name for p in PLAIN}


def test_service_monitor_is_off_by_default_and_sends_the_token_from_the_secret():
    values = yaml.safe_load((DEPLOY / "helm" / "b2i-console" / "values.yaml").read_text())
    assert values["metrics"]["serviceMonitor"]["enabled"] is False
    assert values["secrets"]["metricsToken"] == ""
    monitor = (TEMPLATES / "servicemonitor.yaml").read_text()
    body = monitor[monitor.index("{{- if .Values.metrics.serviceMonitor.enabled }}") :]
    assert body.rstrip().endswith("{{- end }}") and "kind: ServiceMonitor" in body
    token = 'bearerTokenSecret:\n        name: {{ include "b2i-console.secretName" . }}\n'
    assert token + "        key: B2I_METRICS_TOKEN" in body
    assert "path: /metrics" in body and "port: http" in body
    secret = (TEMPLATES / "secret.yaml").read_text()
    assert "B2I_METRICS_TOKEN: {{ . | quote }}" in secret
    # The scrape's Host (the web Service's name) is allowed when the monitor is on.
    configmap = (TEMPLATES / "configmap.yaml").read_text()
    assert '%s,%s-web.%s.svc" .Values.config.allowedHosts' in configmap


def test_console_pods_run_non_root_with_read_only_root_filesystem():
    for path in PLAIN:
        for doc in load(path):
            if doc["kind"] not in ("Deployment", "Job") or "b2i-console" not in str(doc):
                continue
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            if doc["metadata"]["name"].startswith("b2i-console-") and "redis" not in path.name:
                container = pod["containers"][0]
                assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_exactly_one_beat_even_during_upgrades():
    beat = load(DEPLOY / "kubernetes" / "beat-deployment.yaml")[0]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_migrate_job_configures_the_in_cluster_connection_with_the_console_image():
    job = load(DEPLOY / "kubernetes" / "migrate-job.yaml")[0]
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    assert script.startswith("python manage.py migrate --noinput && ")
    assert f"--console-image {container['image']}" in script
    assert "configure_cluster --in-cluster" in script


def test_cluster_role_allows_every_verb_the_console_uses():
    rules = load(DEPLOY / "kubernetes" / "clusterrole.yaml")[0]["rules"]
    allowed = {(r, v) for rule in rules for r in rule["resources"] for v in rule["verbs"]}
    # server-side apply is a PATCH; dry runs too; status reads list and watch.
    for resource in ("namespaces", "secrets", "services", "deployments", "statefulsets", "jobs"):
        assert {(resource, "patch"), (resource, "get"), (resource, "delete")} <= allowed
    for resource in ("pods", "pods/log", "events", "nodes"):
        assert (resource, "list") in allowed or resource == "pods/log"
    assert ("pods/log", "get") in allowed and ("deployments", "watch") in allowed


OPENERS = re.compile(r"\{\{-?\s*(if|with|range|define)\b")
ENDS = re.compile(r"\{\{-?\s*end\s*-?\}\}")


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*")), ids=lambda p: p.name)
def test_chart_template_blocks_are_balanced(path):
    # helm is not available here: this catches the likeliest template slip, a missing {{ end }}.
    text = path.read_text()
    assert len(OPENERS.findall(text)) == len(ENDS.findall(text))


def test_media_is_a_shared_claim_by_default_and_per_pod_scratch_with_s3():
    values = yaml.safe_load((DEPLOY / "helm" / "b2i-console" / "values.yaml").read_text())
    assert values["media"]["shared"] is True
    claim = (TEMPLATES / "media-pvc.yaml").read_text()
    body = claim[claim.index("{{- if .Values.media.shared }}") :]
    assert body.rstrip().endswith("{{- end }}") and "kind: PersistentVolumeClaim" in body
    for name in ("web-deployment.yaml", "worker-deployment.yaml"):
        template = (TEMPLATES / name).read_text()
        volume = template[template.index("volumes:") :].split("- name: media\n", 1)[1]
        shared, scratch = volume.split("{{- else }}", 1)
        assert shared.strip().startswith("{{- if .Values.media.shared }}")
        assert "persistentVolumeClaim:" in shared and "-media" in shared
        scratch_volume = "emptyDir:\n            sizeLimit: {{ .Values.media.size }}"
        assert scratch.lstrip().startswith(scratch_volume)


@pytest.mark.parametrize(
    "path", [DEPLOY / "kubernetes" / "worker-deployment.yaml", TEMPLATES / "worker-deployment.yaml"]
)
def test_a_worker_that_stops_answering_is_restarted(path):
    text = path.read_text()
    probe = yaml.safe_load(
        text[text.index("livenessProbe:") :].split("\n          securityContext")[0]
    )
    command = probe["livenessProbe"]["exec"]["command"]
    assert "inspect ping" in command[-1] and "celery@$HOSTNAME" in command[-1]
    assert "--timeout" in command[-1]
    # Outlasts a Redis outage the worker recovers from by itself before restarting it.
    seconds = probe["livenessProbe"]["periodSeconds"] * probe["livenessProbe"]["failureThreshold"]
    assert seconds >= 180
