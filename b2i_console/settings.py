"""Settings for B2I Console, read only from environment variables (see the README's table)."""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from b2i_console.client_ip import parse_networks
from b2i_console.env import env_bool, env_int, env_list, env_str
from b2i_console.ldap_settings import ldap_enabled, ldap_settings
from b2i_console.oidc_settings import library_settings, oidc_enabled, oidc_options
from b2i_console.redis_options import broker_connection_options, channel_layers

# Django's admin classes and forms take a model type parameter, as django-stubs types them
# (admin.ModelAdmin[Project]); this makes them subscriptable at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("B2I_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

# A development key is only acceptable with DEBUG on; production must set its own.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-b2i-console-0123456789"  # noqa: S105 (DEBUG only)
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "projects",
    "builders",
    "workloads",
    "notifications",
    "identity",
    # Its admin module makes every ModelAdmin (registered before or after it) record entries.
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "b2i_console.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Around the CSRF check, so its refusals of state-changing requests are recorded too.
    "audit.middleware.denied_requests_middleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "identity.recheck.DirectoryRecheckMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must come last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "b2i_console.urls"
WSGI_APPLICATION = "b2i_console.wsgi.application"
ASGI_APPLICATION = "b2i_console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL through DATABASE_URL, an SQLite file under var/ otherwise.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'b2i.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file (not memory) test database, so a Celery worker subprocess can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # IMMEDIATE: a transaction takes SQLite's write lock when it begins, so two writers queue
    # instead of deadlocking ("database is locked") when both upgrade a read lock - and the
    # locked re-checks (select_for_update, a no-op here) then see what the other committed.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, channel layer and cache.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = channel_layers(REDIS_URL)

# --- Client addresses: X-Forwarded-For is believed only from these proxies (CIDRs), for the
# whole app (trigger rate limit, login lock-out); see b2i_console/client_ip.py.
B2I_TRUSTED_PROXIES = env_list("B2I_TRUSTED_PROXIES")
parse_networks(B2I_TRUSTED_PROXIES)  # a typo stops the start, not the first login

# --- Auth and login throttling: 5 failures for one username from one IP lock it for 15 minutes;
# 30 failures from one IP (any usernames) lock that IP for as long.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend"]
# --- Identity providers: LDAP (B2I_LDAP_*, b2i_console/ldap_settings.py) and OpenID Connect
# (B2I_OIDC_*, b2i_console/oidc_settings.py) beside local accounts.
# With B2I_LOCAL_ACCOUNTS=false no local password signs in (permissions still come from Django).
if ldap_enabled():
    AUTHENTICATION_BACKENDS.append("identity.ldap_signin.DirectoryBackend")
    globals().update(ldap_settings())
if oidc_enabled():
    AUTHENTICATION_BACKENDS.append("identity.oidc_signin.ProviderBackend")
B2I_OIDC = oidc_options()  # its issuer is "" when single sign-on is off
globals().update(library_settings(B2I_OIDC))
B2I_LOCAL_ACCOUNTS = env_bool("B2I_LOCAL_ACCOUNTS", True)
AUTHENTICATION_BACKENDS.append(
    "django.contrib.auth.backends.ModelBackend"
    if B2I_LOCAL_ACCOUNTS
    else "identity.ldap_signin.PermissionsOnlyBackend"
)
# A directory user's groups (and existence) are read again after this long in a session.
B2I_IDENTITY_RECHECK_SECONDS = env_int("B2I_IDENTITY_RECHECK_SECONDS", 300)
AXES_HANDLER = "projects.login_limits.LoginLimitHandler"
AXES_CLIENT_IP_CALLABLE = "b2i_console.client_ip.client_ip_of_request"
AXES_FAILURE_LIMIT = env_int("B2I_LOGIN_FAILURE_LIMIT", 5)
B2I_LOGIN_IP_FAILURE_LIMIT = env_int("B2I_LOGIN_IP_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = env_int("B2I_LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_MESSAGE = (
    "Too many failed sign-ins from your address: sign-in is locked for "
    f"{env_int('B2I_LOGIN_COOLOFF_MINUTES', 15)} minutes. Try again later, or ask an "
    "administrator to unlock it (manage.py axes_reset_username <username>, axes_reset_ip <ip>)."
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation: English and Simplified Chinese, chosen per user.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files.
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
# Artifacts and archived build logs go to S3-compatible storage (django-storages) when a bucket
# is named. Chunks of resumable uploads are then staged as objects in the bucket, so MEDIA_ROOT
# needs no shared volume: it only holds per-request scratch (a one-request upload, one chunk, an
# upload being completed). Without a bucket, MEDIA_ROOT must be shared by all web servers.
B2I_S3_BUCKET = env_str("B2I_S3_BUCKET")
if B2I_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": B2I_S3_BUCKET,
            "endpoint_url": env_str("B2I_S3_ENDPOINT_URL") or None,
            "region_name": env_str("B2I_S3_REGION") or None,
            "access_key": env_str("B2I_S3_ACCESS_KEY") or None,
            "secret_key": env_str("B2I_S3_SECRET_KEY") or None,
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = True

# --- Security. Behind HTTPS (the default when DEBUG is off) cookies are secure and HSTS is sent.
B2I_HTTPS = env_bool("B2I_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = B2I_HTTPS
CSRF_COOKIE_SECURE = B2I_HTTPS
SECURE_SSL_REDIRECT = env_bool("B2I_SSL_REDIRECT", B2I_HTTPS)
SECURE_HSTS_SECONDS = env_int("B2I_HSTS_SECONDS", 31536000 if B2I_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("B2I_HSTS_INCLUDE_SUBDOMAINS", B2I_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("B2I_HSTS_PRELOAD", B2I_HTTPS)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("B2I_BEHIND_PROXY", bool(B2I_TRUSTED_PROXIES))
    else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Prometheus: /metrics answers a scrape with `Authorization: Bearer <token>`; unset, /metrics
# is off (404). Scrapers inside the cluster use plain HTTP, hence its SSL redirect exemption.
B2I_METRICS_TOKEN = env_str("B2I_METRICS_TOKEN")

# --- Secrets encryption: the first key encrypts, all keys decrypt (rotation).
B2I_SECRET_KEYS = env_list("B2I_SECRET_KEYS")

# --- Registries.
B2I_LOCAL_REGISTRY_PORT = env_int("B2I_LOCAL_REGISTRY_PORT", 5000)
# Loopback and private networks a registry may resolve to; link-local/metadata are never allowed.
B2I_ALLOWED_REGISTRY_NETWORKS = env_list("B2I_ALLOWED_REGISTRY_NETWORKS")
B2I_REGISTRY_MIRROR = env_str("B2I_REGISTRY_MIRROR")
# Outbound HTTP(S) proxy for registries and artifact URLs (docs/proxy.md): a URL, or "off" to
# ignore the standard HTTPS_PROXY/HTTP_PROXY, which apply when this is unset. B2I_NO_PROXY
# replaces NO_PROXY and the loopback default as given (None: unset, "": proxy everything).
B2I_REGISTRY_PROXY = env_str("B2I_REGISTRY_PROXY")
B2I_NO_PROXY = os.environ.get("B2I_NO_PROXY")
# Seconds of failed registry requests and retry waits (408/429/5xx, connection errors) a build
# may spend per registry before its push fails: registries behind load balancers hiccup for
# tens of seconds. A run that still fails on such a transient error is built again up to
# B2I_BUILD_TRANSIENT_RETRIES times, after B2I_BUILD_TRANSIENT_RETRY_DELAY seconds (doubling).
B2I_REGISTRY_RETRY_BUDGET = env_int("B2I_REGISTRY_RETRY_BUDGET", 180)
B2I_BUILD_TRANSIENT_RETRIES = env_int("B2I_BUILD_TRANSIENT_RETRIES", 2)
B2I_BUILD_TRANSIENT_RETRY_DELAY = env_int("B2I_BUILD_TRANSIENT_RETRY_DELAY", 10)

# --- Builds.
B2I_MAX_ARTIFACT_BYTES = env_int("B2I_MAX_ARTIFACT_BYTES", 2 * 1024**3)
# Every request body but an artifact upload's: larger ones are refused (413) before they are read
# (builders/asgi_limits.py). Forms, JSON, kubeconfigs and manifests stay far below it.
B2I_MAX_REQUEST_BYTES = env_int("B2I_MAX_REQUEST_BYTES", 2 * 1024**2)
# Resumable uploads not completed this many hours after they started are deleted (hourly sweep).
B2I_UPLOAD_EXPIRY_HOURS = env_int("B2I_UPLOAD_EXPIRY_HOURS", 24)
# Staged bytes left by a completed upload (a crash before their removal), with no upload row, or
# scratch files of dead processes are swept once this old; longer than any completion takes.
B2I_UPLOAD_STAGING_GRACE_MINUTES = env_int("B2I_UPLOAD_STAGING_GRACE_MINUTES", 60)
B2I_BUILD_SOFT_TIME_LIMIT = env_int("B2I_BUILD_SOFT_TIME_LIMIT", 30 * 60)
B2I_BUILD_HARD_TIME_LIMIT = env_int("B2I_BUILD_HARD_TIME_LIMIT", 36 * 60)
B2I_LAYER_CACHE_DIR = Path(env_str("B2I_LAYER_CACHE_DIR", str(VAR_DIR / "layer-cache")))
# An open WebSocket checks this often that its user may still see what it shows (a removed
# member, a lowered role, an ended session): the socket is closed with 4403/4401 otherwise.
B2I_SOCKET_ACCESS_RECHECK_SECONDS = env_int("B2I_SOCKET_ACCESS_RECHECK_SECONDS", 20)
# A running build's worker writes a heartbeat this often; the reaper (Celery beat) fails runs
# whose heartbeat is older than B2I_BUILD_LOST_AFTER_SECONDS ("worker lost").
B2I_BUILD_HEARTBEAT_SECONDS = env_int("B2I_BUILD_HEARTBEAT_SECONDS", 10)
B2I_BUILD_LOST_AFTER_SECONDS = env_int("B2I_BUILD_LOST_AFTER_SECONDS", 60)
# A run still Pending this long after it was queued, with no message for it left in the broker
# (lost by a Redis restart or a failed enqueue), is queued again by the pending sweep (Celery
# beat, every minute); after B2I_PENDING_MAX_REQUEUES such losses it is failed instead.
B2I_PENDING_REQUEUE_AFTER = env_int("B2I_PENDING_REQUEUE_AFTER", 120)
B2I_PENDING_MAX_REQUEUES = env_int("B2I_PENDING_MAX_REQUEUES", 3)
# Build logs older than this many days are compressed into storage and removed from the database.
B2I_LOG_ARCHIVE_DAYS = env_int("B2I_LOG_ARCHIVE_DAYS", 30)
# Retention (builders/retention.py, Celery beat hourly): each builder keeps its newest this many
# finished runs with their logs (a builder's keep_runs overrides it); artifacts no run or
# builder names are deleted this many hours after the sweep first found them unreferenced.
B2I_RUN_RETENTION = env_int("B2I_RUN_RETENTION", 50)
B2I_ARTIFACT_GRACE_HOURS = env_int("B2I_ARTIFACT_GRACE_HOURS", 24)
# Audit entries older than this many days are deleted by an hourly Celery beat task (0: kept).
B2I_AUDIT_RETENTION_DAYS = env_int("B2I_AUDIT_RETENTION_DAYS", 365)
# How builds run: in the Celery worker (default) or, later, as Kubernetes Jobs.
B2I_BUILD_EXECUTOR = env_str("B2I_BUILD_EXECUTOR", "builders.runner.InWorkerExecutor")
# Kubernetes Job executor (B2I_BUILD_EXECUTOR=workloads.executor.KubernetesJobExecutor): how
# long the signed artifact URL handed to a build pod stays valid.
B2I_ARTIFACT_URL_TTL = env_int("B2I_ARTIFACT_URL_TTL", 15 * 60)

# Notifications (README "Notifications"): links in messages, attempts, backoff, timeouts.
B2I_CONSOLE_URL = env_str("B2I_CONSOLE_URL")
B2I_NOTIFY_MAX_ATTEMPTS = env_int("B2I_NOTIFY_MAX_ATTEMPTS", 5)
B2I_NOTIFY_RETRY_DELAY = env_int("B2I_NOTIFY_RETRY_DELAY", 30)
B2I_NOTIFY_TIMEOUT = env_int("B2I_NOTIFY_TIMEOUT", 10)
B2I_NOTIFY_LOG_DAYS = env_int("B2I_NOTIFY_LOG_DAYS", 30)
# E-mail notifications through SMTP (Django's EMAIL_* settings); no B2I_SMTP_HOST, no e-mail.
EMAIL_HOST = env_str("B2I_SMTP_HOST")
EMAIL_PORT = env_int("B2I_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("B2I_SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("B2I_SMTP_PASSWORD")
EMAIL_USE_TLS = env_bool("B2I_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("B2I_SMTP_SSL", False)
EMAIL_TIMEOUT = B2I_NOTIFY_TIMEOUT
DEFAULT_FROM_EMAIL = env_str("B2I_MAIL_FROM", "b2i-console@localhost")

# --- Supply chain (issue 17): every build makes a CycloneDX SBOM and an in-toto provenance
# statement, pushed as OCI referrers of its image and kept by the console. B2I_CONSOLE_URL
# (above) names the console, with its version, as the provenance's builder, and each run.
B2I_SUPPLY_CHAIN = env_bool("B2I_SUPPLY_CHAIN", True)

# --- Celery: a Redis broker; the visibility timeout must exceed the hard time limit so a
# long build is not redelivered to a second worker while the first still runs it.
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with one fix: the worker survives a Redis restart (b2i_console/broker.py).
CELERY_BROKER_TRANSPORT = "b2i_console.broker:Transport"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": B2I_BUILD_HARD_TIME_LIMIT + 600,
    **broker_connection_options(),
}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = B2I_BUILD_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = B2I_BUILD_HARD_TIME_LIMIT
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker outlives any Redis outage: it reconnects for ever (Celery's default gives up after
# 100 tries, about 50 minutes, and the worker exits), a build in flight runs to its end (its
# state lives in the database), and its result is stored once Redis is back instead of the
# task ending in "Task handler raised error: ConnectionError".
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 30
CELERY_REDIS_SOCKET_KEEPALIVE = True
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 25
# A run started while Redis is briefly away waits for it (about 20 s) rather than failing its
# request; if Redis stays away longer the pending sweep queues the run again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 10,
    "interval_start": 0.5,
    "interval_step": 0.5,
    "interval_max": 3,
}
# Builds go to their own queue so long builds never delay short housekeeping tasks.
CELERY_TASK_ROUTES = {"builders.tasks.run_build_task": {"queue": "builds"}}
CELERY_BEAT_SCHEDULE = {
    # Every 15 s, so a run whose worker died is failed 60-75 s after its last heartbeat.
    "reap-lost-builds": {"task": "builders.tasks.reap_lost_builds_task", "schedule": 15.0},
    # Every minute: queue again the Pending runs whose queue message was lost.
    "requeue-lost-pending-builds": {
        "task": "builders.tasks.requeue_lost_pending_builds_task",
        "schedule": 60.0,
    },
    "archive-old-build-logs": {
        "task": "builders.tasks.archive_old_logs_task",
        "schedule": 6 * 3600.0,
    },
    "expire-abandoned-uploads": {
        "task": "builders.tasks.expire_abandoned_uploads_task",
        "schedule": 3600.0,
    },
    # Runs waiting for a build slot (workspace quota) whose release message was lost.
    "release-waiting-builds": {
        "task": "builders.tasks.release_waiting_builds_task",
        "schedule": 30.0,
    },
    "apply-retention": {"task": "builders.tasks.apply_retention_task", "schedule": 3600.0},
    # Temp directories of builds whose process was killed (builders/temp_sweep.py).
    "sweep-build-temp-dirs": {
        "task": "builders.tasks.sweep_build_temp_dirs_task",
        "schedule": 3600.0,
    },
    "requeue-lost-notifications": {
        "task": "notifications.tasks.requeue_lost_deliveries_task",
        "schedule": 300.0,
    },
    "prune-notification-log": {
        "task": "notifications.tasks.prune_delivery_log_task",
        "schedule": 24 * 3600.0,
    },
    # Audit entries past B2I_AUDIT_RETENTION_DAYS (audit/retention.py).
    "purge-expired-audit-entries": {
        "task": "audit.tasks.purge_expired_entries_task",
        "schedule": 3600.0,
    },
}

# --- REST API.
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes unauthenticated calls answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "projects.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "b2i_console.api_errors.api_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "b2i_console.query_params.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "B2I Console API",
    "DESCRIPTION": "Workspaces, projects, registry secrets, image builders and build runs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from the sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the artifact kind enum, used by builders, runs and uploads alike.
    "ENUM_NAME_OVERRIDES": {
        "ArtifactKindEnum": "builders.models.ArtifactKind",
        "ChannelKindEnum": "notifications.models.ChannelKind",
    },
}

# --- Logging: one JSON object per line on stdout.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    # Every line passes the redaction of credentials in URLs (b2i_console/log_redaction.py).
    "filters": {"redact_secrets": {"()": "b2i_console.log_redaction.RedactSecretsFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
