"""Liveness and readiness probes for load balancers and Kubernetes."""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def database_problem() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return f"{type(exc).__name__}: {exc}".strip()
    return ""


def redis_problem() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    finally:
        client.close()
    return ""


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and Redis answer; the body names whichever does not."""
    problems = {"database": database_problem(), "redis": redis_problem()}
    checks = {name: (problem or "ok") for name, problem in problems.items()}
    ready = not any(problems.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
