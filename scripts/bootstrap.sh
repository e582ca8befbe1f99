#!/usr/bin/env bash
# Prepares this checkout on a fresh Debian 12 machine: system packages (apt), the virtualenv,
# Python requirements and the project itself (editable, for the `b2i` command).
# Usage: scripts/bootstrap.sh run|test|bench   — "test" adds what the test suite needs; "bench"
# is "test" plus what the benchmarks compare with (buildah, for benchmarks/compare_buildah.py
# and benchmarks/console_path.py).
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}
bench_packages=(buildah)
extra_packages=()
if [ "$purpose" = bench ]; then purpose=test; extra_packages=("${bench_packages[@]}"); fi

run_packages=(redis-server docker-registry busybox-static python3-venv gettext)
# python-ldap (LDAP sign-in) compiles against OpenLDAP's and Cyrus SASL's headers.
run_packages+=(libldap2-dev libsasl2-dev)
# The local JRE 17 and Tomcat 10 base images of `make run` are made from these (no service is
# installed: tomcat10-user brings Tomcat's files and configuration skeleton, not the daemon).
run_packages+=(openjdk-17-jre-headless tomcat10-user tomcat-jakartaee-migration)
test_packages=(skopeo umoci busybox-static debootstrap openjdk-17-jdk-headless chromium
               iproute2 util-linux fonts-noto-cjk)
# Servlet APIs (javax and jakarta) to compile the test WARs; gcc + static libc for a test binary.
test_packages+=(libservlet-api-java libjakarta-servlet-api-java gcc libc6-dev)
# A real Prometheus scrapes the console in tests/builders/test_metrics_prometheus.py.
test_packages+=(prometheus)
# Debian's Go toolchain builds the real Go binaries whose build info the SBOM tests read.
test_packages+=(golang-go)
# A real directory server (and its command-line tools) for the LDAP sign-in tests.
test_packages+=(slapd ldap-utils)

wanted=("${run_packages[@]}")
[ "$purpose" = test ] && wanted+=("${test_packages[@]}")
wanted+=("${extra_packages[@]}")

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing system packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The JavaScript linter and formatter (package.json, exact versions in package-lock.json) for the
# tests: npm ci only when the lock file changed, so later runs need no network. A machine without
# Node.js gets Debian's (its npm comes as a package of its own there).
if [ "$purpose" = test ]; then
  if ! command -v npm >/dev/null; then
    echo "bootstrap: installing Node.js and npm"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends nodejs npm
  fi
  js_stamp=node_modules/.package-lock.sha256
  js_current=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$js_stamp" ] || [ "$(cat "$js_stamp")" != "$js_current" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    mkdir -p node_modules
    echo "$js_current" > "$js_stamp"
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv

# "run" installs only the runtime requirements; "test" adds the test tools (Playwright, moto,
# mypy, ...), which a plain `make run` does not need (they doubled its first start).
# Reinstall only when the requirement files changed since the last successful install; a
# "test" install also covers "run", so it refreshes both stamps.
requirements_hash() { cat "$@" pyproject.toml | sha256sum | cut -d' ' -f1; }
run_hash=$(requirements_hash requirements.txt)
test_hash=$(requirements_hash requirements.txt requirements-dev.txt)
if [ "$purpose" = test ]; then
  stamp=.venv/.requirements-test.sha256; current=$test_hash; requirements=requirements-dev.txt
else
  stamp=.venv/.requirements-run.sha256; current=$run_hash; requirements=requirements.txt
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$current" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  echo "$current" > "$stamp"
  if [ "$purpose" = test ]; then echo "$run_hash" > .venv/.requirements-run.sha256; fi
fi
# pip byte-compiles site-packages but not this editable project: compile the engine once here,
# so a `b2i` process does not recompile it (~40 ms) where PYTHONDONTWRITEBYTECODE stops Python
# from caching it itself. Up-to-date files are skipped; an edited file is recompiled next time.
# Not fatal: a file that does not compile is reported here and by the tests.
.venv/bin/python -m compileall -q -j 0 b2i || echo "bootstrap: b2i/ did not byte-compile"
mkdir -p var/static
# The Simplified Chinese catalogue is committed as .po; the .mo is built here (needs gettext).
SECRET_KEY=${SECRET_KEY:-compilemessages-only} .venv/bin/python manage.py compilemessages \
  --ignore=.venv --ignore=var --ignore=node_modules -v 0
