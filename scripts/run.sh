#!/usr/bin/env bash
# `make run`: the console, its Celery worker and beat, plus Redis and a local registry when none
# answers yet, all in the foreground under honcho; Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run

# Keys are generated once and kept under var/ so encrypted secrets stay readable across runs.
if [ ! -f var/run.env ]; then
  .venv/bin/python - > var/run.env <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"B2I_SECRET_KEYS={Fernet.generate_key().decode()}")
PY
  chmod 600 var/run.env
fi
set -a
# shellcheck disable=SC1091
. var/run.env
set +a
export DEBUG=${DEBUG:-true}
# A REDIS_URL given is used (and started when nothing answers there); else this checkout gets a
# Redis of its own, so two consoles on one machine never share queues or channels.
if [ -z "${REDIS_URL:-}" ]; then
  export REDIS_URL
  REDIS_URL=$(.venv/bin/python scripts/checkout_redis.py var)
  own_redis=1
fi
export B2I_LOCAL_REGISTRY_PORT=${B2I_LOCAL_REGISTRY_PORT:-5000}
export B2I_ALLOWED_REGISTRY_NETWORKS=${B2I_ALLOWED_REGISTRY_NETWORKS:-127.0.0.0/8,::1/128}
export PORT=${PORT:-8000}

cp Procfile var/Procfile.run
if [ -n "${own_redis:-}" ] || ! .venv/bin/python scripts/wait_for.py redis "$REDIS_URL" --timeout 1 2>/dev/null; then
  redis_port=$(.venv/bin/python -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).port or 6379)" "$REDIS_URL")
  mkdir -p var/redis
  echo "redis: redis-server --bind 127.0.0.1 --port $redis_port --dir $PWD/var/redis --save '' --appendonly no" >> var/Procfile.run
  echo "run: starting Redis on port $redis_port"
else
  echo "run: reusing the Redis answering at $REDIS_URL"
fi
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
.venv/bin/python manage.py bootstrap_demo --registry "http://127.0.0.1:$B2I_LOCAL_REGISTRY_PORT"

# The demo base lets builds succeed without Docker Hub; a registry we start ourselves runs
# briefly for the seeding, then again under honcho.
registry_url="http://127.0.0.1:$B2I_LOCAL_REGISTRY_PORT/v2/"
seed_demo_base() {
  .venv/bin/python manage.py seed_demo_base --registry "127.0.0.1:$B2I_LOCAL_REGISTRY_PORT" \
    || echo "run: the demo base was not seeded (builds can still use Docker Hub bases)"
  scripts/seed_local_bases.sh "127.0.0.1:$B2I_LOCAL_REGISTRY_PORT"  # JRE 17 + Tomcat 10, offline
}
if .venv/bin/python scripts/wait_for.py http "$registry_url" --timeout 1 2>/dev/null; then
  echo "run: reusing the registry answering at $registry_url"
  seed_demo_base
else
  mkdir -p var/registry
  scripts/local_registry.sh > var/registry/seed.log 2>&1 &
  seeding_registry=$!
  .venv/bin/python scripts/wait_for.py http "$registry_url" --timeout 15 && seed_demo_base
  kill "$seeding_registry" && wait "$seeding_registry" 2>/dev/null || true
  echo "registry: scripts/local_registry.sh" >> var/Procfile.run
  echo "run: starting a local registry on 127.0.0.1:$B2I_LOCAL_REGISTRY_PORT"
fi
echo "run: console at http://127.0.0.1:$PORT/ (Ctrl-C stops everything started here)"
exec .venv/bin/honcho -f var/Procfile.run -d . start
