"""Settings shared by every way of running. The environment picks the stores (docs/deploy.md):
no `DATABASE_URL`/`REDIS_URL` gives the embedded default (SQLite, local memory, in-memory
channel layer); setting them gives PostgreSQL (with Django's connection pool) and Redis."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))  # SQLite, engine state: never committed
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-development-key-change-me-in-production")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.customers",
    "apps.ratelimits",
    "apps.models_registry",
    "apps.request_logs",
    "apps.operations",
    "apps.usage",
    "apps.idempotency",
    "apps.inference",
    "apps.openai_api",
    "django_tasks_db",
    "apps.batches",
    "apps.pipeline",
]

# The admin's stack. `/v1/` never sees it: `apps.core.api_handler` serves the API with none of
# these, because each sync middleware costs thread hand-offs on every request (docs/architecture.md, "Why this stack").
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its answer
]

# Admin login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is locked out (429) for AXES_COOLOFF_TIME, the right password
# included. Attempts are rows in the database, so every worker sees them (docs/reliability.md).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("ADMIN_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ADMIN_LOGIN_COOLOFF_MINUTES", 15)))
# Per username and address: a guesser cannot lock the real operator out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.core.client_ip.client_ip_or_none"  # X-Forwarded-For only from a trusted proxy
AXES_VERBOSE = False

ROOT_URLCONF = "inference_platform.urls"
ASGI_APPLICATION = "inference_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


def _database(url: str) -> dict:
    if not url:
        # IMMEDIATE: a transaction takes SQLite's write lock as it begins, and waits for it (up to
        # `timeout`), where a deferred one that reads first fails "database is locked" at once when
        # it tries to write while another writer (the request-log thread, the batch worker) holds it.
        # WAL with synchronous=FULL: a commit is one append and one sync of the log (durable, as
        # every charge must be), where the default rollback journal creates, syncs and deletes a
        # file per commit (3x the time, measured in docs/benchmarks.md); readers never wait for it.
        # Connections are kept (CONN_MAX_AGE None): opening one costs more than most queries.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            },
        }
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "apps.core.postgresql"  # Django's, behind a circuit breaker
        # Django's own psycopg pool; CONN_MAX_AGE must stay 0 with it.
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
            "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "5")),
        }
    return dict(config)


DATABASES = {"default": _database(DATABASE_URL)}
# PostgreSQL unreachable: fail at once for this long (503 with a matching Retry-After) instead of a
# pool timeout per request, then probe with a short timeout (apps/core/circuit_breaker.py).
DB_CIRCUIT_OPEN_SECONDS = float(os.environ.get("DB_CIRCUIT_OPEN_SECONDS", 2))
DB_CIRCUIT_PROBE_TIMEOUT_SECONDS = float(os.environ.get("DB_CIRCUIT_PROBE_TIMEOUT_SECONDS", 1))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The shared cache's operations are tried once, each within this timeout; a timeout or a refused
# connection opens its circuit for SHARED_CACHE_CIRCUIT_OPEN_SECONDS, in which every operation fails
# at once and its caller's fallback answers (apps/core/shared_cache.py).
SHARED_CACHE_TIMEOUT_SECONDS = 0.5
SHARED_CACHE_CIRCUIT_OPEN_SECONDS = float(os.environ.get("SHARED_CACHE_CIRCUIT_OPEN_SECONDS", 1))

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": SHARED_CACHE_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": SHARED_CACHE_TIMEOUT_SECONDS,
                "CONNECTION_POOL_CLASS": "apps.core.shared_cache.GuardedConnectionPool",
            },
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # `/v1/` viewsets set their own (apps.pipeline.http.PipelineViewSet); these serve the docs page.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Inference Platform API",
    "DESCRIPTION": (
        "Completions, chat, embeddings and batch jobs on self-hosted models. Every response uses one "
        "envelope, carries rate-limit headers, and every POST accepts an Idempotency-Key."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
    # Paths start with /v1, so a server is the root. "/" is wherever this document is served from
    # (the docs page's "Try it out"); the second is `make run`'s address, the SDKs' default.
    "SERVERS": [
        {"url": "/", "description": "The server that serves this document"},
        {"url": "http://127.0.0.1:8000", "description": "A local server (`make run`)"},
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": False,
    # Unique component names for enums whose field names collide (they become SDK type names).
    "ENUM_NAME_OVERRIDES": {
        "BatchStatus": "apps.batches.models.BatchJob.Status",
        "BatchItemStatus": "apps.batches.models.BatchItem.Status",
    },
    "PREPROCESSING_HOOKS": ["apps.pipeline.schema.v1_routes_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.pipeline.schema.add_api_contract",
    ],
}

# --- The API contract's knobs (docs/api-contract.md) -------------------------------------------------------
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

RATE_LIMIT_DEFAULT_PER_SECOND = int(os.environ.get("RATE_LIMIT_DEFAULT_PER_SECOND", 50))
# Requests without a valid token are counted per client IP, so scanners and token guessers
# can flood neither the service nor the request log.
RATE_LIMIT_ANONYMOUS_PER_SECOND = int(os.environ.get("RATE_LIMIT_ANONYMOUS_PER_SECOND", 5))
# What a cache outage does to rate limiting: True counts in each process alone (the limit holds per
# worker until the cache is back), False answers 503. Logged either way (docs/reliability.md).
RATE_LIMIT_FAIL_OPEN = os.environ.get("RATE_LIMIT_FAIL_OPEN", "1") == "1"
RATELIMIT_USE_CACHE = "default"
# django-ratelimit's own switch, not ours: with it on, a failed cache call answers None (which
# `apps.ratelimits.limiter` turns into RATE_LIMIT_FAIL_OPEN's choice) instead of a made-up "limited".
RATELIMIT_FAIL_OPEN = True
# Only trust X-Forwarded-For when a proxy in front of us sets it.
TRUST_X_FORWARDED_FOR = os.environ.get("TRUST_X_FORWARDED_FOR", "0") == "1"

# Tokens are cached in each process; a shared generation number invalidates them everywhere.
TOKEN_LAST_USED_WRITE_SECONDS = 60
# A token that authenticated from the database is "in use" for this long in the shared cache: it is
# looked up even past its address's budget of failed attempts (apps/customers/tokens_in_use.py).
# Every worker start and every token change re-reads, and so re-marks, the tokens in use.
TOKEN_IN_USE_SECONDS = 30 * 24 * 3600

# Input bounds: generous for real use, small enough that one request cannot tie up an engine.
INFERENCE_MAX_PROMPT_CHARS = 32_000
INFERENCE_MAX_MESSAGES = 100
INFERENCE_MAX_EMBEDDING_INPUTS = 256
INFERENCE_MAX_EMBEDDING_CHARS = 8_000

# The local chat engine: how long a request may wait for a free generation slot (shared by every
# worker on the machine) before 503 model_overloaded with Retry-After (apps/backends/overload.py).
ENGINE_ADMISSION_TIMEOUT_SECONDS = float(os.environ.get("ENGINE_ADMISSION_TIMEOUT_SECONDS", 3))

# A comment line on idle SSE streams, so proxies do not close them.
SSE_PING_SECONDS = float(os.environ.get("SSE_PING_SECONDS", 15))

IDEMPOTENCY_KEY_TTL_SECONDS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_SECONDS", 24 * 3600))
# An in-progress claim older than this is presumed dead (its process was killed) and may be taken over.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = int(os.environ.get("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 300))

# --- Batches (ADR 0005, docs/batches.md) -------------------------------------------------------
# Django's task framework on a database queue: the batch's own tables are the source of truth,
# the task row only wakes a worker (`manage.py db_worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "batches"]}}
BATCH_MAX_REQUESTS = int(os.environ.get("BATCH_MAX_REQUESTS", 1000))
BATCH_MAX_BYTES = int(os.environ.get("BATCH_MAX_BYTES", 1024 * 1024))
BATCH_ITEM_CONCURRENCY = int(os.environ.get("BATCH_ITEM_CONCURRENCY", 32))
# A claimed item whose worker died is claimed again after its lease; at most this many attempts.
BATCH_ITEM_LEASE_SECONDS = float(os.environ.get("BATCH_ITEM_LEASE_SECONDS", 30))
BATCH_ITEM_MAX_ATTEMPTS = int(os.environ.get("BATCH_ITEM_MAX_ATTEMPTS", 3))
# A worker task runs one slice of a batch, then re-enqueues it, so big batches share workers fairly.
BATCH_SLICE_SECONDS = float(os.environ.get("BATCH_SLICE_SECONDS", 30))
BATCH_EVENTS_POLL_SECONDS = float(os.environ.get("BATCH_EVENTS_POLL_SECONDS", 0.5))
# The embedded default (no DATABASE_URL) starts a worker with the server; production runs its own.
BATCH_EMBEDDED_WORKER = os.environ.get("BATCH_EMBEDDED_WORKER", "0" if DATABASE_URL else "1") == "1"

REQUEST_LOG_FLUSH_SECONDS = float(os.environ.get("REQUEST_LOG_FLUSH_SECONDS", 0.5))
REQUEST_LOG_BATCH_SIZE = 500
REQUEST_LOG_MAX_BUFFER = int(os.environ.get("REQUEST_LOG_MAX_BUFFER", 50_000))
REQUEST_LOG_ENABLED = os.environ.get("REQUEST_LOG_ENABLED", "1") == "1"
REQUEST_LOG_RETENTION_DAYS = int(os.environ.get("REQUEST_LOG_RETENTION_DAYS", 30))
# Rejected requests without a valid token are aggregated per IP/path/status/minute, at most this
# many buckets a minute (docs/operations.md).
REQUEST_LOG_NOISE_MAX_BUCKETS = int(os.environ.get("REQUEST_LOG_NOISE_MAX_BUCKETS", 10_000))

# /metrics (Prometheus): staff login or `Authorization: Bearer $METRICS_TOKEN`, from these networks.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128").split(",")

# /health/ready (docs/deploy.md): each check's bound, and how long a model backend's probe answer is
# kept, so that balancers polling every second do not hammer an upstream.
HEALTH_CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", 1.0))
HEALTH_PROBE_CACHE_SECONDS = float(os.environ.get("HEALTH_PROBE_CACHE_SECONDS", 2.0))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
