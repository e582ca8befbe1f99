"""Configuring the cluster: a command storing an encrypted kubeconfig or choosing in-cluster,
and in-cluster configuration read from the pod's service account."""

import io

import kubernetes
import pytest
import yaml
from django.core.management import CommandError, call_command

from workloads.client import KubeClient, KubeError
from workloads.models import Cluster
from workloads.services import connect

pytestmark = pytest.mark.django_db


def test_command_stores_a_kubeconfig_encrypted_and_it_connects(kube_apiserver, tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kube_apiserver.kubeconfig()))
    out = io.StringIO()
    call_command(
        "configure_cluster", "--kubeconfig", str(path), "--console-url", "http://c", stdout=out
    )
    assert "Created cluster default: kubeconfig" in out.getvalue()
    cluster = Cluster.objects.get()
    assert kube_apiserver.token not in cluster.kubeconfig_encrypted
    assert cluster.console_url == "http://c"
    kube = connect(cluster)
    assert {n["metadata"]["name"] for n in kube.list("Node")} == {"node-1", "ci-1"}


def test_command_refuses_a_file_that_is_not_a_kubeconfig(tmp_path):
    path = tmp_path / "config"
    path.write_text("just: text\n")
    with pytest.raises(CommandError, match="not a kubeconfig"):
        call_command("configure_cluster", "--kubeconfig", str(path))
    with pytest.raises(CommandError, match="--in-cluster"):
        call_command("configure_cluster")


def test_in_cluster_configuration_reads_the_service_account(monkeypatch, tmp_path):
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("pod-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    incluster = kubernetes.config.incluster_config
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    call_command("configure_cluster", "--in-cluster", stdout=io.StringIO())
    kube = connect(Cluster.objects.get())
    assert kube.api.configuration.host == "https://10.96.0.1:443"
    # The client writes "bearer"; API servers compare the scheme case-insensitively.
    assert kube.api.configuration.api_key["authorization"].lower() == "bearer pod-token"
    assert kube.api.configuration.ssl_ca_cert == str(ca)


def test_in_cluster_outside_a_pod_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeError) as caught:
        KubeClient.connect(None)
    assert caught.value.code == "kube:not-configured"
