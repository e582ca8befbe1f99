"""Liveness, readiness and the production-safety check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_database_and_redis(client: Client, redis_url: str) -> None:
    with override_settings(REDIS_URL=redis_url):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_readyz_names_redis_when_it_is_down(client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert "ConnectionError" in body["checks"]["redis"]


def run_deploy_check(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2I_", "DEBUG"))}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings() -> None:
    result = run_deploy_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x7#Kp2!vQ9@zL4$wR8^mN1&bT6*yH3(cJ5)dF0-gS2_aE9+uW4=iO7~" * 2,
            "ALLOWED_HOSTS": "b2i.example.com",
            "B2I_SECRET_KEYS": "hwpGYHUPpNUiHTWFuQ8TVBEYW6qsWpncqOXGJX6541c=",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_when_https_is_switched_off() -> None:
    result = run_deploy_check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x7#Kp2!vQ9@zL4$wR8^mN1&bT6*yH3(cJ5)dF0-gS2_aE9+uW4=iO7~" * 2,
            "B2I_HTTPS": "false",
        }
    )
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stdout + result.stderr


def test_settings_refuse_to_start_without_secret_key_in_production() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
