#!/usr/bin/env bash
# Part of `make run`: push the JRE 17 and Tomcat 10 bases made from this machine's Debian packages
# (installed by scripts/bootstrap.sh run) to the local registry at $1 and register their build
# environments, so JARs and WARs build without internet access. The layers are cached under
# var/local-bases (keyed by the package versions): only the first start builds them (~10 s,
# ~125 MB there plus the same again in the registry; figures in the README). Not fatal: without
# them builds still use Docker Hub bases where the internet is reachable.
set -uo pipefail
cd "$(dirname "$0")/.."
registry=${1:?usage: scripts/seed_local_bases.sh HOST:PORT}
.venv/bin/python manage.py seed_local_bases --registry "$registry" \
  || echo "run: the local Java/Tomcat bases were not seeded (JARs and WARs need Docker Hub bases)"
