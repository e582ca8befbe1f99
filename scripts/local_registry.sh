#!/usr/bin/env bash
# Runs Debian's docker-registry (CNCF distribution) on 127.0.0.1:$B2I_LOCAL_REGISTRY_PORT in the
# foreground, with its data under var/registry. Used as a Procfile process by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${B2I_LOCAL_REGISTRY_PORT:-5000}
mkdir -p var/registry/data
cat > var/registry/config.yml <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $PWD/var/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
exec docker-registry serve var/registry/config.yml
