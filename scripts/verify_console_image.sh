#!/usr/bin/env bash
# Builds deploy/Dockerfile without a container daemon and runs the image the way the Kubernetes
# manifests do. Proves the console image builds and works on a machine that can reach only the
# package registries (PyPI, the Debian mirror), where `docker pull python:3.11-slim-bookworm`
# is impossible:
#   1. a stand-in for python:3.11-slim-bookworm: `debootstrap --variant=minbase bookworm` plus a
#      CPython 3.11 under /usr/local (copied from a local build, as the official image builds
#      its own), committed into buildah's storage under that exact name; it trusts the host's
#      local CAs (/usr/local/share/ca-certificates) so pip works behind a TLS-inspecting proxy;
#   2. `buildah build --pull=never --isolation chroot -f deploy/Dockerfile` (the Dockerfile is
#      used unchanged);
#   3. the image's root filesystem mounted read-only, tmpfs on /tmp, /app/var/media and
#      /app/var/layer-cache (the manifests' writable volumes), run as uid/gid 1000: migrations
#      into a database of its own, the web server (/healthz, /readyz, login page, static files, the
#      zh-Hans catalogue), the Celery worker (answers `celery inspect ping`), beat, `b2i --help`,
#      Django loading /app's code from another working directory, and a build Job as
#      workloads/jobs.py renders it (its fetch and build containers, their volumes and env)
#      pushing to a local docker-registry.
# Needs root (debootstrap, chroot, mount), buildah, debootstrap, docker-registry, curl, psql and
# the repository's .venv (to render the Job); minutes, not seconds,
# so it is not part of `make test`. Everything lives under one temporary directory (buildah's
# --root/--runroot too) that is removed on exit, as are the database and the worker's queue
# bindings in Redis. Exits non-zero on failure.
#
# Settings (environment):
#   B2I_VERIFY_PYTHON   prefix of a CPython 3.11 built on Debian 12 with --enable-shared
#                       (default: /root/.pyenv/versions/3.11.7); only its stdlib is copied.
#   B2I_VERIFY_MIRROR   Debian mirror (default http://deb.debian.org/debian).
#   B2I_VERIFY_PG       PostgreSQL server URL without database (default postgres://postgres@127.0.0.1:5432).
#   B2I_VERIFY_DB       database created and dropped for the run (default b2i_image).
#   B2I_VERIFY_REDIS    Redis URL; a database index nobody else uses (default redis://127.0.0.1:6379/13).
#   B2I_VERIFY_KEEP=1   keep the temporary directory (and print where it is) for inspection.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
python_prefix=${B2I_VERIFY_PYTHON:-/root/.pyenv/versions/3.11.7}
mirror=${B2I_VERIFY_MIRROR:-http://deb.debian.org/debian}
pg_server=${B2I_VERIFY_PG:-postgres://postgres@127.0.0.1:5432}
db_name=${B2I_VERIFY_DB:-b2i_image}
redis_url=${B2I_VERIFY_REDIS:-redis://127.0.0.1:6379/13}
base_image=docker.io/library/python:3.11-slim-bookworm
image=localhost/b2i-console:verify

work=""
background_pids=()
declare -A timings=()
timing_order=()

log() { printf '[verify-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

buildah_() {
    buildah --root "$work/storage/root" --runroot "$work/storage/runroot" \
        --storage-driver overlay "$@"
}

# timed <label> <command...>: runs the command and records its wall time for the summary.
timed() {
    local label=$1 start end
    shift
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    timings[$label]=$(printf '%.1f' "$(echo "$end - $start" | bc)")
    timing_order+=("$label")
    log "$label: ${timings[$label]} s"
}

cleanup() {
    local status=$?
    set +e
    for pid in "${background_pids[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    psql "$pg_server/postgres" -q -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1
    # The queue bindings the worker declared (the Redis database is this script's own).
    redis-cli -u "$redis_url" --scan --pattern '_kombu.binding*' 2>/dev/null |
        xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1
    if [[ -n $work && -d $work ]]; then
        if [[ ${B2I_VERIFY_KEEP:-} == 1 ]]; then
            log "kept $work (remove it with: $0 --clean $work)"
        else
            remove_workdir "$work"
        fi
    fi
    exit "$status"
}

# remove_workdir <dir>: unmounts what buildah left mounted under it, then deletes it.
remove_workdir() {
    local dir=$1 target
    if [[ -d $dir/storage/root ]]; then
        buildah --root "$dir/storage/root" --runroot "$dir/storage/runroot" \
            --storage-driver overlay unmount --all >/dev/null 2>&1 || true
        buildah --root "$dir/storage/root" --runroot "$dir/storage/runroot" \
            --storage-driver overlay rm --all >/dev/null 2>&1 || true
        buildah --root "$dir/storage/root" --runroot "$dir/storage/runroot" \
            --storage-driver overlay rmi --all --force >/dev/null 2>&1 || true
    fi
    # Deepest mounts first (overlay's private bind of its own home, leftover container mounts).
    findmnt -rn -o TARGET | { grep -F "$dir/" || true; } | sort -r | while read -r target; do
        umount -l "$target" 2>/dev/null || true
    done
    rm -rf "$dir"
}

check_prerequisites() {
    [[ $(id -u) == 0 ]] || fail "run as root (debootstrap, chroot and mount need it)"
    local tool
    for tool in buildah debootstrap unshare chroot curl psql redis-cli bc findmnt docker-registry; do
        command -v "$tool" >/dev/null || fail "$tool is not installed"
    done
    [[ -x $python_prefix/bin/python3.11 ]] ||
        fail "no CPython 3.11 at $python_prefix (set B2I_VERIFY_PYTHON)"
    [[ -x $repo/.venv/bin/python ]] || fail "no .venv (scripts/bootstrap.sh): it renders the build Job"
    [[ -e $python_prefix/lib/libpython3.11.so.1.0 ]] ||
        fail "$python_prefix was not built with --enable-shared (no lib/libpython3.11.so.1.0)"
    psql "$pg_server/postgres" -q -c 'SELECT 1' >/dev/null || fail "PostgreSQL at $pg_server"
}

# in_chroot <root> <command...>: root's chroot with /proc and /dev, in a private mount namespace
# (nothing stays mounted on the host).
in_chroot() {
    local root=$1
    shift
    unshare --mount --propagation private -- sh -ec '
        root=$1; shift
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        exec chroot "$root" "$@"' sh "$root" "$@"
}

# The official image: Debian bookworm slim + CPython built from source under /usr/local, pip
# able to install into it (no PEP 668 marker), `python`/`pip` on PATH, LANG=C.UTF-8.
make_base_rootfs() {
    local root=$work/base
    debootstrap --variant=minbase \
        --include=ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libuuid1,libexpat1,libgdbm6,zlib1g \
        bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        fail "debootstrap (log: $work/debootstrap.log)"
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    trust_host_certificate_authorities "$root"
    # The stdlib only: the local build's site-packages holds whatever was installed into it.
    mkdir -p "$root/usr/local/lib/python3.11/site-packages" "$root/usr/local/include"
    cp -a "$python_prefix"/lib/libpython3* "$root/usr/local/lib/"
    cp -a "$python_prefix/bin/python3.11" "$root/usr/local/bin/"
    cp -a "$python_prefix/include/python3.11" "$root/usr/local/include/"
    tar -C "$python_prefix/lib/python3.11" -c \
        --exclude=./site-packages --exclude=./test --exclude='*/test' --exclude='*/tests' \
        --exclude=__pycache__ --exclude='*.a' --exclude=idlelib --exclude=tkinter --exclude=turtledemo . |
        tar -C "$root/usr/local/lib/python3.11" -x
    ln -s python3.11 "$root/usr/local/bin/python3"
    ln -s python3 "$root/usr/local/bin/python"
    in_chroot "$root" /sbin/ldconfig
    in_chroot "$root" /usr/local/bin/python3.11 -m ensurepip --default-pip >"$work/ensurepip.log" 2>&1 ||
        fail "ensurepip (log: $work/ensurepip.log)"
    ln -sf pip3 "$root/usr/local/bin/pip"
    in_chroot "$root" /usr/local/bin/python -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid'
    find "$root/usr/local" -name __pycache__ -prune -exec rm -rf {} +
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
}

# A host behind a TLS-inspecting proxy trusts its CA (/usr/local/share/ca-certificates); so must
# the base, or pip in the build cannot reach PyPI. pip reads its own certifi bundle, not the
# system one, hence /etc/pip.conf, as on the host. Without local CAs nothing changes.
trust_host_certificate_authorities() {
    local root=$1
    compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null || return 0
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_chroot "$root" /usr/sbin/update-ca-certificates >"$work/update-ca-certificates.log" 2>&1 ||
        fail "update-ca-certificates (log: $work/update-ca-certificates.log)"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
}

commit_base_image() {
    local container mountpoint
    container=$(buildah_ from scratch)
    mountpoint=$(buildah_ mount "$container")
    cp -a "$work/base/." "$mountpoint/"
    buildah_ unmount "$container" >/dev/null
    buildah_ config \
        --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 \
        --env "PYTHON_VERSION=$("$python_prefix/bin/python3.11" -c 'import platform; print(platform.python_version())')" \
        --cmd python3 --os linux --arch amd64 "$container"
    buildah_ commit --quiet --rm "$container" "$base_image" >/dev/null
}

build_console_image() {
    buildah_ build --pull=never --isolation chroot --layers=false \
        -f deploy/Dockerfile -t "$image" "$repo" >"$work/build.log" 2>&1 ||
        { tail -40 "$work/build.log" >&2; fail "buildah build (log above)"; }
}

image_environment() {
    buildah_ inspect --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$image" |
        grep -v '^$'
}

# Environment of a console pod: the image's ENV, then what configmap.yaml/secret.yaml provide.
pod_environment() {
    image_environment
    cat <<ENV
HOME=/app/var
SECRET_KEY=verify-image-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz
B2I_SECRET_KEYS=hwpGYHUPpNUiHTWFuQ8TVBEYW6qsWpncqOXGJX6541c=
DATABASE_URL=$pg_server/$db_name
REDIS_URL=$redis_url
ALLOWED_HOSTS=127.0.0.1
B2I_HTTPS=false
B2I_VAR_DIR=/app/var
MEDIA_ROOT=/app/var/media
B2I_LAYER_CACHE_DIR=/app/var/layer-cache
LOG_LEVEL=INFO
ENV
}

# in_pod <command...>: the command as uid/gid 1000 on the image's root filesystem mounted
# read-only, in /app, with the volumes of its pod: for the console (web-deployment.yaml) tmpfs on
# /tmp, media and layer cache; for a build Job (pod_kind=job, workloads/jobs.py) tmpfs on /tmp,
# the workspace shared by its two containers and the registry credentials read-only.
# It execs all the way down, so its PID is the command's PID.
in_pod() {
    local -a environment
    if [[ $pod_kind == job ]]; then
        mapfile -t environment < <(image_environment; cat "$work/job/$job_container.env")
    else
        mapfile -t environment < <(pod_environment)
    fi
    exec unshare --mount --propagation private -- sh -ec '
        root=$1 kind=$2 job=$3 credentials=$4; shift 4
        mount --bind "$root" "$root"
        mount -o remount,bind,ro "$root"
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        if [ "$kind" = job ]; then
            mount --bind "$job/workspace" "$root/workspace"
            mount --bind "$job/credentials" "$root$credentials"
            mount -o remount,bind,ro "$root$credentials"
        else
            mount -t tmpfs -o uid=1000,gid=1000,mode=0770 tmpfs "$root/app/var/media"
            mount -t tmpfs -o uid=1000,gid=1000,mode=0770 tmpfs "$root/app/var/layer-cache"
        fi
        exec chroot --userspec=1000:1000 "$root" "$@"' \
        sh "$pod_root" "$pod_kind" "$work/job" "$job_credentials_dir" /usr/bin/env -i --chdir=/app "${environment[@]}" "$@"
}

# run_in_pod <log> <command...>: in_pod in the foreground, output to the log (shown on failure).
run_in_pod() {
    local log=$1
    shift
    (in_pod "$@") >"$log" 2>&1 || { cat "$log" >&2; fail "$* (in the image)"; }
}

start_in_pod() {
    local log=$1
    shift
    (in_pod "$@") >"$log" 2>&1 &
    background_pids+=($!)
}

stop_last_background() {
    local pid=${background_pids[-1]}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset 'background_pids[-1]'
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_log <log> <pattern> <seconds>
wait_for_log() {
    local deadline=$((SECONDS + $3))
    until grep -q -- "$2" "$1"; do
        ((SECONDS < deadline)) || { cat "$1" >&2; fail "no '$2' in $1 within $3 s"; }
        sleep 0.5
    done
}

check_image_contents() {
    local root=$pod_root
    [[ ! -e $root/app/.venv && ! -e $root/app/.git && ! -e $root/app/var/b2i.sqlite3 ]] ||
        fail "the image holds files Dockerfile.dockerignore excludes (.venv, .git or var/)"
    [[ -f $root/app/var/static/admin/css/base.css ]] || fail "collectstatic output missing"
    [[ -f $root/app/locale/zh_Hans/LC_MESSAGES/django.mo ]] || fail "compiled zh-Hans catalogue missing"
    [[ $(stat -c %u:%g "$root/app/var/media") == 1000:1000 ]] || fail "/app/var/media is not owned by 1000"
    grep -q '^b2i:x:1000:1000:' "$root/etc/passwd" || fail "no user 1000 in /etc/passwd"
    grep -q 'processing file django.po in /app/locale/zh_Hans' "$work/build.log" ||
        fail "compilemessages compiled nothing (a .mo from the build context was taken as is?)"
    [[ ! -e $root/usr/bin/msgfmt ]] || fail "gettext (build-time only) is left in the image"
    [[ -z $(find "$root/usr/local/lib/python3.11/site-packages" -maxdepth 2 -path '*/b2i_console/settings.py') ]] ||
        fail "a second copy of the code is installed in site-packages"
}

check_web() {
    local port log=$work/web.log base page static_path
    port=$(free_port)
    base=http://127.0.0.1:$port
    start_in_pod "$log" python -m b2i_console.serve --host 127.0.0.1 --port "$port"
    local deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; do
        ((SECONDS < deadline)) || { cat "$log" >&2; fail "the web server did not answer /healthz in 60 s"; }
        sleep 0.5
    done
    log "web server on $base: /healthz $(curl -sS "$base/healthz")"
    curl -fsS -o /dev/null "$base/readyz" || { cat "$log" >&2; fail "/readyz (database, Redis)"; }
    log "/readyz $(curl -sS "$base/readyz")"
    page=$(curl -fsS "$base/login/") || fail "GET /login/"
    grep -q csrfmiddlewaretoken <<<"$page" || fail "the login page has no form"
    static_path=$(grep -o '/static/[^"]*\.css' <<<"$page" | head -1)
    [[ -n $static_path ]] || fail "the login page links no stylesheet"
    curl -fsS -o /dev/null "$base$static_path" || fail "static file $static_path not served"
    log "login page 200, stylesheet $static_path 200"
    curl -fsS -H 'Accept-Language: zh-Hans' "$base/login/" | grep -qP '[\x{4e00}-\x{9fff}]' ||
        fail "the login page in zh-Hans has no Chinese text (catalogue not compiled?)"
    stop_last_background
    if grep -qi 'traceback\|read-only file system\|permission denied' "$log"; then
        cat "$log" >&2
        fail "the web server logged an error"
    fi
}

check_worker() {
    local log=$work/worker.log
    # The worker command of worker-deployment.yaml, on a Redis database of its own.
    start_in_pod "$log" celery -A b2i_console worker -Q builds,celery --concurrency 2 --loglevel INFO
    wait_for_log "$log" ' ready\.' 90
    grep -q "Connected to redis://" "$log" || { cat "$log" >&2; fail "worker not connected"; }
    run_in_pod "$work/ping.log" celery -A b2i_console inspect ping --timeout 10
    grep -q pong "$work/ping.log" || { cat "$work/ping.log" >&2; fail "worker did not answer ping"; }
    log "worker connected to $redis_url, answers ping"
    stop_last_background
}

# Every process must load the code in /app, whatever its working directory: settings find
# templates/, locale/ and static/ next to the package (BASE_DIR), which a copy installed in
# site-packages does not have (`kubectl exec ... -- django-admin ...`, console scripts).
check_code_outside_workdir() {
    run_in_pod "$work/outside-app.log" env --chdir=/tmp \
        DJANGO_SETTINGS_MODULE=b2i_console.settings python -c '
import django
django.setup()
from django.conf import settings
from django.template.loader import get_template
print(settings.BASE_DIR, get_template("registration/login.html").origin.name)'
    log "from /tmp: $(tail -1 "$work/outside-app.log")"
}

check_beat() {
    local log=$work/beat.log
    # beat-deployment.yaml's command: its schedule file on the /tmp volume.
    start_in_pod "$log" celery -A b2i_console beat --loglevel INFO --schedule /tmp/celerybeat-schedule
    wait_for_log "$log" 'beat: Starting' 60
    sleep 2
    if grep -qi 'traceback\|error' "$log"; then
        cat "$log" >&2
        fail "celery beat logged an error"
    fi
    log "beat started"
    stop_last_background
}

# A build Job as workloads/jobs.py renders it (its containers' command, args and env), run
# against a local registry: the fetch container downloads the artifact over HTTP into the
# shared workspace, the build container's `b2i build` pushes the image.
check_build_job() {
    local registry_port http_port container digest
    mkdir -p "$work/job/workspace" "$work/job/credentials" "$work/job/registry" "$work/job/http"
    chown 1000:1000 "$work/job/workspace"
    echo '{"auths": {}}' >"$work/job/credentials/config.json"
    chmod 0444 "$work/job/credentials/config.json"
    # The runtime creates volume mount points, resolving symlinks inside the root filesystem
    # (/var/run -> /run): so does chroot, and the working container gets them, not the host.
    chroot "$pod_root" mkdir -p /workspace /var/run/b2i/registry
    job_credentials_dir=$(chroot "$pod_root" readlink -f /var/run/b2i/registry)

    registry_port=$(free_port)
    cat >"$work/job/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/job/registry}}
http: {addr: 127.0.0.1:$registry_port}
YAML
    docker-registry serve "$work/job/registry.yml" >"$work/job/registry.log" 2>&1 &
    background_pids+=($!)
    http_port=$(free_port)
    cp /usr/bin/true "$work/job/http/hello"
    python3 -m http.server --bind 127.0.0.1 --directory "$work/job/http" "$http_port" \
        >"$work/job/http.log" 2>&1 &
    background_pids+=($!)

    # A one-file base, pushed with buildah (the registry is up once the push goes through).
    container=$(buildah_ from scratch)
    buildah_ copy --quiet "$container" /etc/os-release /etc/os-release >/dev/null
    buildah_ commit --quiet --rm "$container" localhost/verify-base:1 >/dev/null
    local deadline=$((SECONDS + 30))
    until buildah_ push --quiet --tls-verify=false localhost/verify-base:1 \
        "docker://127.0.0.1:$registry_port/verify/base:1" 2>"$work/job/push.log"; do
        ((SECONDS < deadline)) || { cat "$work/job/push.log" >&2; fail "push of the base"; }
        sleep 1
    done

    "$repo/.venv/bin/python" - "$work/job" "$image" "http://127.0.0.1:$http_port/hello" \
        "$(sha256sum "$work/job/http/hello" | cut -d' ' -f1)" "127.0.0.1:$registry_port" <<'PY'
import sys
from pathlib import Path

from workloads.jobs import BuildJobSpec, render_build_job

out, image, url, sha256, registry = Path(sys.argv[1]), *sys.argv[2:]
spec = BuildJobSpec(
    namespace="b2i", builder="verify", run_number=1, console_image=image,
    artifact_url=url, artifact_sha256=sha256, target=f"{registry}/verify/hello:1",
    credentials_secret="verify", base_image=f"{registry}/verify/base:1", artifact_kind="binary",
    insecure_registry=True, allowed_networks=("127.0.0.0/8",),
)
pod = render_build_job(spec)["spec"]["template"]["spec"]
for container in pod["initContainers"] + pod["containers"]:
    argv = container["command"] + container.get("args", [])
    (out / f"{container['name']}.argv").write_text("\0".join(argv) + "\0")
    env = [f"{e['name']}={e['value']}" for e in container.get("env", []) if "value" in e]
    (out / f"{container['name']}.env").write_text("".join(f"{line}\n" for line in env))
PY
    local name
    local -a argv
    for name in fetch-artifact build; do
        mapfile -d '' -t argv <"$work/job/$name.argv"
        pod_kind=job job_container=$name run_in_pod "$work/job/$name.log" "${argv[@]}"
        log "Job container $name: $(tail -1 "$work/job/$name.log")"
    done
    digest=$(curl -fsS -o /dev/null -w '%header{docker-content-digest}' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://127.0.0.1:$registry_port/v2/verify/hello/manifests/1") ||
        fail "the built image is not in the registry"
    log "pushed 127.0.0.1:$registry_port/verify/hello:1 $digest"
    stop_last_background
    stop_last_background
}

summary() {
    local label
    echo
    echo "console image verified: $image (from deploy/Dockerfile, no Docker daemon)"
    printf '  %-28s %6s s\n' "total" "$SECONDS"
    for label in "${timing_order[@]}"; do
        printf '  %-28s %6s s\n' "$label" "${timings[$label]}"
    done
    printf '  %-28s %s\n' "base image size" "$(buildah_ images --format '{{.Size}}' "$base_image")"
    printf '  %-28s %s\n' "console image size" "$(buildah_ images --format '{{.Size}}' "$image")"
    printf '  %-28s %s\n' "buildah" "$(buildah --version)"
}

main() {
    if [[ ${1:-} == --clean ]]; then
        remove_workdir "$2"
        return
    fi
    check_prerequisites
    work=$(mktemp -d /tmp/b2i-verify-image.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    PGOPTIONS='-c client_min_messages=warning' \
        psql "$pg_server/postgres" -q -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)"
    psql "$pg_server/postgres" -q -c "CREATE DATABASE $db_name" >/dev/null

    timed "stand-in base (debootstrap)" make_base_rootfs
    timed "commit base to buildah" commit_base_image
    timed "buildah build" build_console_image

    local container
    container=$(buildah_ from --pull=never "$image")
    pod_root=$(buildah_ mount "$container")
    check_image_contents
    timed "migrate" run_in_pod "$work/migrate.log" python manage.py migrate --noinput
    timed "web checks" check_web
    timed "worker checks" check_worker
    timed "beat check" check_beat
    timed "build Job" check_build_job
    check_code_outside_workdir
    run_in_pod "$work/b2i-help.log" b2i --help
    grep -qi usage "$work/b2i-help.log" || { cat "$work/b2i-help.log" >&2; fail "b2i --help"; }
    log "b2i --help works"
    buildah_ unmount "$container" >/dev/null
    summary
}

pod_root=""
pod_kind=console
job_container=""
job_credentials_dir=""
main "$@"
