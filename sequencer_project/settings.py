"""Settings, read only from the environment (``docs/configuration.md`` lists every variable; ``.env.example``).

There is one settings module; environments differ only by their variables. Required
values have no defaults and raise at import when missing. ``NAME_FILE`` variants are
accepted for secrets (django-environ's file-aware reader).

Each setting is declared once, in the section of its subject. Rules that tie settings
together are system checks (``sequencer_project/checks.py``, ids ``sequencer.E0NN``), run by
``manage.py check``, ``migrate`` (so ``make run``) and ``runserver``.
"""

import logging
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.checks.security.base import (  # type: ignore[attr-defined]  # _check_secret_key: not in the stubs
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
    _check_secret_key,  # Django's own bar for SECRET_KEY (security.W009)
)
from django.core.exceptions import ImproperlyConfigured
from environ.fileaware_mapping import FileAwareMapping

from sequencer_project.environments import is_production

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


# The words a boolean setting may be (any case, surrounding spaces ignored). django-environ read
# every other word as false, so SESSION_COOKIE_SECURE=enabled quietly turned secure cookies off.
BOOLEAN_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def _strict_bool(value: str) -> bool:
    try:
        return BOOLEAN_WORDS[value.strip().lower()]
    except KeyError:
        raise ValueError("use true/false, 1/0, yes/no or on/off") from None


def _comma_list(value: str) -> list[str]:
    """``"a, b,"`` is ``["a", "b"]``: django-environ kept the space, so a host listed after ", " never matched."""
    return [item for item in (part.strip() for part in value.split(",")) if item]


class _SecretFiles(FileAwareMapping):  # type: ignore[misc]  # django-environ ships no types
    """``NAME_FILE`` as Docker and Kubernetes secrets are written: the file's value without its
    surrounding white space (a secret file ends in a newline, which made a bootstrap key read from
    one never match), a path that cannot be read refused naming the variable, and ``NAME`` set beside
    ``NAME_FILE`` refused instead of silently losing to it."""

    def __getitem__(self, key: str) -> str:
        path = self.env.get(f"{key}_FILE")
        if not path:
            return str(self.env[key])
        if self.env.get(key):
            raise ImproperlyConfigured(f"{key} and {key}_FILE are both set: set one of them.")
        if key not in self.files_cache:
            try:
                self.files_cache[key] = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                raise ImproperlyConfigured(f"{key}_FILE={path!r} cannot be read: {reason}.") from None
        return str(self.files_cache[key])


class _Env(environ.FileAwareEnv):  # type: ignore[misc]  # django-environ ships no types
    """django-environ's file-aware reader, whose cast errors name the variable and its value: a bare
    ``ValueError: invalid literal for int()`` did not say which of ninety settings was wrong.

    Booleans are read strictly (``BOOLEAN_WORDS``), floats as Python reads them (django-environ
    dropped every character but digits, ``,``, ``.`` and ``-``, so ``5s`` read as 5 and ``fast``
    failed naming an empty string), and list entries without their surrounding spaces.
    """

    ENVIRON = _SecretFiles()

    def get_value(
        self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET, parse_default: bool = False
    ) -> Any:
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            kind = getattr(cast, "__name__", None) or str(cast)
            raise ImproperlyConfigured(f"{var}={self.ENVIRON.get(var, '')!r} is not a valid {kind}: {exc}") from None

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        if not isinstance(value, str):
            return super().parse_value(value, cast)
        if cast is bool:
            return _strict_bool(value)
        if cast is float:
            return float(value)
        if cast is list:
            return _comma_list(value)
        if isinstance(cast, list):
            return [cast[0](item) for item in _comma_list(value)]
        return super().parse_value(value, cast)


env = _Env()


def _required(var: str) -> str:
    """A required variable: empty (``SECRET_KEY=``) stops the start as a missing one does."""
    value = str(env.str(var, default=""))
    if not value.strip():
        raise ImproperlyConfigured(f"Set the {var} environment variable (it is missing or empty).")
    return value


def _url(var: str, value: str, schemes: tuple[str, ...]) -> str:
    """``value`` of ``var`` when it is a URL of one of ``schemes``. The refusal names the scheme it
    found, never the URL (it may hold a password): a DATABASE_URL of "not a url" read as the
    database "ot a url", and a REDIS_URL of another scheme failed every request, not the start."""
    scheme = urllib.parse.urlsplit(value.strip()).scheme
    if scheme not in schemes:
        expected = ", ".join(f"{name}://" for name in schemes)
        raise ImproperlyConfigured(f"{var} must be a URL starting {expected} (its scheme is {scheme!r}).")
    return value.strip()


def _production_secret_key(secret_key: str) -> str:
    """Django's own bar for a secret key (``security.W009``), an error in production: ``check --deploy``
    only warned, and nothing runs it before gunicorn serves."""
    if not _check_secret_key(secret_key):
        raise ImproperlyConfigured(
            f"SECRET_KEY must have at least {SECRET_KEY_MIN_LENGTH} characters, {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
            " of them different, and not start with 'django-insecure-' in production (SEQUENCER_ENV)."
        )
    return secret_key


def _forwarded_https_header(var: str, value: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto`` into Django's ``("HTTP_X_FORWARDED_PROTO", "https")``; empty: ``None``."""
    name = value.strip()
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise ImproperlyConfigured(f"{var}={value!r} is not an HTTP header name (e.g. X-Forwarded-Proto).")
    return "HTTP_" + name.upper().replace("-", "_"), "https"


def _log_level(var: str, default: str) -> str:
    """A level name of Python's logging in any case: ``info`` failed as "Unable to configure root logger"."""
    value = str(env.str(var, default=default))
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"{var}={value!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    return level


# A local .env (written by `make run`) is read when present; real deployments set variables.
# SEQUENCER_DOTENV names another file, or none when empty (the test run: tests/settings.py).
_dotenv = os.environ.get("SEQUENCER_DOTENV", str(BASE_DIR / ".env"))
if _dotenv:
    _Env.read_env(_dotenv, overwrite=False)

# --- Core ------------------------------------------------------------------------------
# Names outside sequencer_project/environments.py's short list are production.
SEQUENCER_ENV: str = env.str("SEQUENCER_ENV", default="development")
SECRET_KEY: str = _required("SECRET_KEY")
if is_production(SEQUENCER_ENV):
    _production_secret_key(SECRET_KEY)
DEBUG: bool = env.bool("DEBUG", default=False)
# Enforced on /api/ and /v1/ too (sequencer_project/api_handler.py); probes and /metrics answer any Host.
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # django.contrib.admin with the operator site: keyset pages for composite-key tables
    # (docs/projections.md).
    "sequencer_project.admin_site.SequencerAdminConfig",
    # Before django.contrib.auth: its createsuperuser and changepassword are the audited ones
    # (audit/management/commands/).
    "audit.apps.AuditConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_prometheus",
    "sequencer_project.apps.SequencerProjectConfig",
    "tenants.apps.TenantsConfig",
    "events.apps.EventsConfig",
    "commitments.apps.CommitmentsConfig",
    "payments.apps.PaymentsConfig",
    "schemas.apps.SchemasConfig",
    # /api/schema/ and the /api/docs/ page (docs/api.md, ADR 0009); Swagger UI comes from the
    # sidecar package, served by WhiteNoise, so the page needs no CDN.
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

# The admin's request path. django-prometheus' middleware stands first and last (NetBox's way).
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "sequencer_project.api.compression.LargeResponseGZipMiddleware",
    "sequencer_project.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's CSS/JS, from the app finders (WHITENOISE_USE_FINDERS): no collectstatic needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sequencer_project.api.middleware.ApiProblemMiddleware",
    "sequencer_project.api.operations.OperationsMiddleware",
    "sequencer_project.prometheus_middleware.BoundedPrometheusAfterMiddleware",
]
# The API's own request path (sequencer_project/api_handler.py): API, probe and metrics paths
# skip sessions, CSRF, auth, messages, static files and django-prometheus; OperationsMiddleware
# is their one metrics layer (sequencer_http_requests_total and its latency histogram, ingest_*).
API_MIDDLEWARE = [
    "sequencer_project.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sequencer_project.api.compression.LargeResponseGZipMiddleware",
    "sequencer_project.api.middleware.ApiProblemMiddleware",
    "sequencer_project.api.operations.OperationsMiddleware",
]
# Responses of at least GZIP_MIN_BYTES are compressed when the client accepts gzip.
GZIP_MIN_BYTES: int = env.int("GZIP_MIN_BYTES", default=1024)

ROOT_URLCONF = "sequencer_project.urls"
WSGI_APPLICATION = "sequencer_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database ----------------------------------------------------------------------------
# PostgreSQL only. Session timeouts match the reference: a request waiting longer than
# DB_LOCK_TIMEOUT_MS for a hot stream's counter fails instead of hanging.
DB_STATEMENT_TIMEOUT_MS: int = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DB_LOCK_TIMEOUT_MS: int = env.int("DB_LOCK_TIMEOUT_MS", default=10_000)
DB_IDLE_IN_TX_TIMEOUT_MS: int = env.int("DB_IDLE_IN_TX_TIMEOUT_MS", default=60_000)
# The client's side of a dead server or a broken network, which server-side timeouts cannot see:
# a connect waits at most DB_CONNECT_TIMEOUT_SECONDS (libpq connect_timeout), data sent and not
# acknowledged for DB_TCP_USER_TIMEOUT_MS fails the connection (tcp_user_timeout), and a connection
# waiting on a host that went away is probed after DB_TCP_KEEPALIVES_IDLE_SECONDS and dropped after
# three unanswered probes 5 s apart (keepalives). A server process that is stopped while its host
# still answers TCP (SIGSTOP, a paused VM) is seen by none of them (docs/operations.md).
DB_CONNECT_TIMEOUT_SECONDS: int = env.int("DB_CONNECT_TIMEOUT_SECONDS", default=5)
DB_TCP_USER_TIMEOUT_MS: int = env.int("DB_TCP_USER_TIMEOUT_MS", default=15_000)
DB_TCP_KEEPALIVES_IDLE_SECONDS: int = env.int("DB_TCP_KEEPALIVES_IDLE_SECONDS", default=10)
# How long /ready waits for the database's answer before it answers 503 (sequencer_project/health.py).
READY_TIMEOUT_SECONDS: float = env.float("READY_TIMEOUT_SECONDS", default=2.0)
DB_POOL_MIN_SIZE: int = env.int("DB_POOL_MIN_SIZE", default=1)
# Above gunicorn's WEB_THREADS (8): every server thread can keep a connection and one stays free
# (sequencer_project/db/kept_connections.py).
DB_POOL_MAX_SIZE: int = env.int("DB_POOL_MAX_SIZE", default=9)
DB_POOL_TIMEOUT_SECONDS: float = env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0)
# Pool wait once this process has seen the database unreachable (sequencer_project/db/availability.py).
DB_POOL_FAIL_FAST_TIMEOUT_SECONDS: float = env.float("DB_POOL_FAIL_FAST_TIMEOUT_SECONDS", default=0.5)
# How long one chain of background reconnect attempts lasts (1 s, 2 s, 4 s ... apart) before the
# pool gives up and the next waiting request starts a fresh one. psycopg_pool's 300 s default let
# the delay grow past a minute during an outage, so recovery lagged PostgreSQL's return by as much.
DB_POOL_RECONNECT_TIMEOUT_SECONDS: float = env.float("DB_POOL_RECONNECT_TIMEOUT_SECONDS", default=5.0)
# How long a server thread may keep its pooled connection between requests of the operations
# served straight from WSGI (sequencer_project/db/kept_connections.py, ADR 0024); 0 hands it back
# after every request, as Django does.
DB_POOL_KEEP_SECONDS: float = env.float("DB_POOL_KEEP_SECONDS", default=30.0)

# Django's own backend: our execute wrapper (sequencer_project/db/instrumentation.py) is the one
# statement metrics layer. django-prometheus' backend wrapped every cursor in a class it built
# anew on each connection checkout and timed each statement a second time (~24 % of the ingest
# hot path's GIL samples under gunicorn).
POSTGRES_SCHEMES = ("postgres", "postgresql")
_database = env.db_url_config(
    _url("DATABASE_URL", _required("DATABASE_URL"), POSTGRES_SCHEMES), engine="django.db.backends.postgresql"
)
# The session settings every connection must have; sent as the startup parameter ``options``
# unless DB_STARTUP_OPTIONS is off (PgBouncer refuses that parameter: set them on the role or
# database instead, docs/scaling.md "Connections"). Either way each process compares them with
# the server's on its first connection (sequencer_project/db/session_settings.py).
DB_STARTUP_OPTIONS: bool = env.bool("DB_STARTUP_OPTIONS", default=True)
_database["OPTIONS"] = {
    "application_name": env.str("DB_APPLICATION_NAME", default="stateset-sequencer"),
    # Server-side parameter binding with prepared statements: the hot-path statements are
    # planned once per connection instead of on every call (planning dominated their cost).
    "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True),
    "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=2),
    "connect_timeout": DB_CONNECT_TIMEOUT_SECONDS,
    "tcp_user_timeout": DB_TCP_USER_TIMEOUT_MS,
    "keepalives": 1,
    "keepalives_idle": DB_TCP_KEEPALIVES_IDLE_SECONDS,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
if DB_STARTUP_OPTIONS:
    _database["OPTIONS"]["options"] = (
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
        f" -c idle_in_transaction_session_timeout={DB_IDLE_IN_TX_TIMEOUT_MS}"
        " -c timezone=UTC"
    )
if env.bool("DB_POOL_ENABLED", default=True):
    _database["OPTIONS"]["pool"] = {
        "min_size": DB_POOL_MIN_SIZE,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT_SECONDS,
        "reconnect_timeout": DB_POOL_RECONNECT_TIMEOUT_SECONDS,
    }
    _database["CONN_MAX_AGE"] = 0
    # With a pool, Django's health checks make each checkout first ask the connection whether
    # it is alive (psycopg_pool's check, one round trip): a backend killed while its connection
    # sat in the pool is replaced instead of failing the caller. The hot WSGI endpoints keep
    # their connection between requests (DB_POOL_KEEP_SECONDS) and a Celery task checks out
    # once, so this is not paid per event.
    _database["CONN_HEALTH_CHECKS"] = env.bool("DB_POOL_CHECK", default=True)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Optional read replica for query endpoints; reads fall back to the primary when it fails.
DATABASE_READ_URL: str = env.str("DATABASE_READ_URL", default="").strip()
# How long a read waits for a replica connection before it reads from the primary instead (the
# replica pool's checkout wait; libpq's connect_timeout, rounded to whole seconds and at least 2,
# bounds each connect attempt). How far behind the primary the replica may be, in seconds
# (measured at most once a second per process), before reads go to the primary; 0: never by lag
# (sequencer_project/db/replica.py, docs/operations.md "Read replica").
DATABASE_READ_TIMEOUT_SECONDS: float = env.float("DATABASE_READ_TIMEOUT_SECONDS", default=0.5)
DATABASE_READ_MAX_LAG_SECONDS: float = env.float("DATABASE_READ_MAX_LAG_SECONDS", default=5.0)
if DATABASE_READ_URL:
    _replica = env.db_url_config(
        _url("DATABASE_READ_URL", DATABASE_READ_URL, POSTGRES_SCHEMES), engine="django.db.backends.postgresql"
    )
    _replica["OPTIONS"] = dict(_database["OPTIONS"])
    _replica["OPTIONS"]["connect_timeout"] = max(2, round(DATABASE_READ_TIMEOUT_SECONDS))
    if "pool" in _replica["OPTIONS"]:
        _replica["OPTIONS"]["pool"] = {**_replica["OPTIONS"]["pool"], "timeout": DATABASE_READ_TIMEOUT_SECONDS}
    _replica["CONN_MAX_AGE"] = _database.get("CONN_MAX_AGE", 0)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["sequencer_project.db.routers.ReadReplicaRouter"]

# --- Redis and Celery --------------------------------------------------------------------
# What redis-py's from_url reads (the rate limiter, health, caches); any other scheme failed every
# API request while /health said ready.
REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_URL: str = _url("REDIS_URL", _required("REDIS_URL"), REDIS_SCHEMES)
# Redis on the request path (rate limits, health): short timeouts and a circuit breaker.
REDIS_SOCKET_TIMEOUT_MS: int = env.int("REDIS_SOCKET_TIMEOUT_MS", default=50)
REDIS_BREAKER_FAILURES: int = env.int("REDIS_BREAKER_FAILURES", default=3)
REDIS_BREAKER_RESET_SECONDS: float = env.float("REDIS_BREAKER_RESET_SECONDS", default=5.0)
# Each failed probe doubles the wait before the next, up to this: Redis back after a long outage is
# seen within it (the breakers' default of 300 s left a service degraded minutes after Redis
# returned; a probe while it is still down costs one call with a 50 ms timeout).
REDIS_BREAKER_MAX_RESET_SECONDS: float = env.float("REDIS_BREAKER_MAX_RESET_SECONDS", default=10.0)
# Empty is unset: Celery read an empty broker URL as amqp://localhost.
CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default="").strip() or REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every connection before and after each task and, in a prefork
# child, the whole psycopg pool: every task then opened a new PostgreSQL backend (26 a second
# under single-event load) and lost its prepared statements. It now recycles the pool only every
# CELERY_DB_REUSE_MAX tasks; sequencer_project.celery hands the connection back to the pool
# after each task instead (ADR 0025).
CELERY_DB_REUSE_MAX: int = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Each worker process freezes the heap it started with (gc.freeze) and collects its youngest
# generation every WORKER_GC_GEN0_THRESHOLD allocations instead of Python's 700: full
# collections of the started Django process cost projections ~4 us of CPU per event
# (docs/performance.md, "The worker's garbage collector"). 0 leaves Python's collector as it is.
WORKER_GC_GEN0_THRESHOLD: int = env.int("WORKER_GC_GEN0_THRESHOLD", default=20_000)
# The worker's own /metrics (sequencer_project/worker_metrics.py): 0 serves none.
WORKER_METRICS_PORT: int = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDRESS: str = env.str("WORKER_METRICS_ADDRESS", default="127.0.0.1")
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest task's hard limit, so acks_late tasks are not redelivered early.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {
    "commitments.*": {"queue": "commitments"},
    "events.projection_*": {"queue": "projections"},
    "payments.*": {"queue": "payments"},
}
# CELERY_BEAT_SCHEDULE is the last section: it schedules tasks at the intervals set below.

# --- API (Django REST framework, OpenAPI) ------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sequencer_project.api.authentication.CredentialAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["sequencer_project.api.permissions.IsPrincipal"],
    "DEFAULT_THROTTLE_CLASSES": ["sequencer_project.api.throttling.RedisRateLimit"],
    "DEFAULT_RENDERER_CLASSES": ["sequencer_project.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sequencer_project.api.parsers.OrjsonParser"],
    # JSON whatever Accept says; no 406 (sequencer_project/api/negotiation.py, docs/api.md).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "sequencer_project.api.negotiation.SingleRendererNegotiation",
    # `?format=` is an ordinary query parameter, never DRF's renderer override (which answered 404
    # to `?format=xml` on any route); no route has a format suffix either.
    "URL_FORMAT_OVERRIDE": None,
    "FORMAT_SUFFIX_KWARG": None,
    "DEFAULT_SCHEMA_CLASS": "sequencer_project.api.openapi.ProblemAutoSchema",
    # OPTIONS answers its Allow header and {}: not the views' docstrings (docs/api.md).
    "DEFAULT_METADATA_CLASS": "sequencer_project.api.metadata.AllowOnlyMetadata",
    "EXCEPTION_HANDLER": "sequencer_project.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}
# Rate limits: per API key from its `rate_limit` column, per tenant from this (0 = off).
RATE_LIMIT_PER_MINUTE: int = env.int("RATE_LIMIT_PER_MINUTE", default=0)
RATE_LIMIT_WINDOW_SECONDS: int = env.int("RATE_LIMIT_WINDOW_SECONDS", default=60)
# gunicorn/granian serve POST /api/v1/events/ingest and GET /api/v1/head straight from WSGI, below
# Django's and DRF's request layers (sequencer_project/api/wsgi_endpoint.py, ADR 0021); off = the
# DRF views (A/B runs).
API_WSGI_ENDPOINTS: bool = env.bool("API_WSGI_ENDPOINTS", default=True)
# Each web process, once it has imported what it serves (sequencer_project.wsgi), freezes its
# heap and collects its youngest generation every WEB_GC_GEN0_THRESHOLD allocations, as the
# workers do: ~13 % less web CPU per 100-event batch (docs/performance.md, "The web's garbage
# collector"). 0 leaves Python's collector as it is.
WEB_GC_GEN0_THRESHOLD: int = env.int("WEB_GC_GEN0_THRESHOLD", default=20_000)
# drf-spectacular generates /api/schema/ (docs/api.md, ADR 0009).
SPECTACULAR_SETTINGS = {
    "TITLE": "StateSet Sequencer API",
    "DESCRIPTION": (
        "Multi-tenant verifiable event sequencer. Errors are application/problem+json (RFC 9457) "
        "with a stable `code` (docs/errors.md)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the schema and docs page are public: they describe, never serve data
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sequencer_project.api.openapi.probe_paths",
    ],
}

# --- Authentication and agents -------------------------------------------------------------
AUTH_MODE: str = env.str("AUTH_MODE", default="required")
BOOTSTRAP_ADMIN_API_KEY: str = env.str("BOOTSTRAP_ADMIN_API_KEY", default="")
JWT_SECRET: str = env.str("JWT_SECRET", default="")
JWT_ISSUER: str = env.str("JWT_ISSUER", default="stateset-sequencer")
JWT_AUDIENCE: str = env.str("JWT_AUDIENCE", default="stateset-api")
API_KEY_LAST_USED_INTERVAL_SECONDS: int = env.int("API_KEY_LAST_USED_INTERVAL_SECONDS", default=60)
# Lifetime of a resolved API key in a process's cache; revocations reach every process within
# HOT_CACHE_CHECK_SECONDS regardless (tenants/key_cache.py).
API_KEY_CACHE_SECONDS: float = env.float("API_KEY_CACHE_SECONDS", default=1.0)
CACHE_API_KEY_MAX: int = env.int("CACHE_API_KEY_MAX", default=10_000)
CACHE_AGENT_KEY_MAX: int = env.int("CACHE_AGENT_KEY_MAX", default=10_000)
CACHE_AGENT_KEY_TTL_SECS: float = env.float("CACHE_AGENT_KEY_TTL_SECS", default=300.0)
# Agent self-service (docs/auth.md "Agents"): public registration is off unless enabled.
PUBLIC_AGENT_REGISTRATION_ENABLED: bool = env.bool("PUBLIC_AGENT_REGISTRATION_ENABLED", default=False)
# Registrations per client IP per RATE_LIMIT_WINDOW_SECONDS, counted in Redis (all processes).
AGENT_REGISTRATION_RATE_LIMIT: int = env.int("AGENT_REGISTRATION_RATE_LIMIT", default=30)
# Proxies we run in front of the app: the client IP is that many hops from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Security headers and cookies --------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS (SecurityMiddleware) only where TLS terminates in front of us.
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# The admin's cookies travel over HTTPS only in production unless set otherwise (sequencer.W022).
SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=is_production(SEQUENCER_ENV))
CSRF_COOKIE_SECURE: bool = env.bool("CSRF_COOKIE_SECURE", default=is_production(SEQUENCER_ENV))
# An operator's admin session ends this many seconds after its login (Django's default is two weeks).
SESSION_COOKIE_AGE: int = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
# TLS ended by a proxy: the header it sets to "https" on requests that reached it over HTTPS
# (e.g. X-Forwarded-Proto), read for HSTS and Django's secure-request checks under either server.
# Set it only when that proxy replaces the header on every request: a client could send it too.
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = _forwarded_https_header(
    "SECURE_PROXY_SSL_HEADER", env.str("SECURE_PROXY_SSL_HEADER", default="")
)

# --- Ingest ------------------------------------------------------------------------------
MAX_BODY_SIZE_BYTES: int = env.int("MAX_BODY_SIZE_BYTES", default=10 * 1024 * 1024)
MAX_EVENTS_PER_BATCH: int = env.int("MAX_EVENTS_PER_BATCH", default=1000)
MAX_EVENT_PAYLOAD_SIZE: int = env.int("MAX_EVENT_PAYLOAD_SIZE", default=1024 * 1024)
# Group commit (ADR 0014): concurrent legacy ingest requests for one stream in one web process
# share a transaction of at most GROUP_COMMIT_MAX_EVENTS events. A leader waits up to
# GROUP_COMMIT_MAX_WAIT_MS for more requests, and only while its stream is contended.
GROUP_COMMIT_ENABLED: bool = env.bool("GROUP_COMMIT_ENABLED", default=True)
# Append to a stream this process has written before in one autocommit statement from the head
# it last saw (events/services/ingest.py); off = always lock, classify, insert (A/B runs).
INGEST_OPTIMISTIC_APPEND: bool = env.bool("INGEST_OPTIMISTIC_APPEND", default=True)
# Group commit across streams (ADR 0025): the optimistic appends of a process's concurrent
# requests share one statement and one commit whatever their streams (append_streams.sql).
GROUP_COMMIT_ACROSS_STREAMS: bool = env.bool("GROUP_COMMIT_ACROSS_STREAMS", default=True)
# Requests of more events, and groups above this many, keep to their stream's own group: the
# combiner runs one statement at a time per process, which would serialise large appends.
GROUP_COMMIT_ACROSS_MAX_EVENTS: int = env.int("GROUP_COMMIT_ACROSS_MAX_EVENTS", default=64)
GROUP_COMMIT_MAX_EVENTS: int = env.int("GROUP_COMMIT_MAX_EVENTS", default=1000)
GROUP_COMMIT_MAX_WAIT_MS: float = env.float("GROUP_COMMIT_MAX_WAIT_MS", default=1.0)
# Django reads request bodies up to this size; the ingest views enforce MAX_BODY_SIZE_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_SIZE_BYTES
# Retention of the rejection log (docs/operations.md, "Retention"): every
# REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS (a constant, not read from the env) the beat job
# events.rejections_prune deletes rejected_events rows older than this many days; 0 keeps them.
REJECTED_EVENTS_RETENTION_DAYS: int = env.int("REJECTED_EVENTS_RETENTION_DAYS", default=30)
REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS = 600.0
# audit.sessions_prune deletes expired admin sessions (django_session) this often (a constant).
SESSIONS_PRUNE_INTERVAL_SECONDS = 3600.0
EVENT_PARTITIONS: int = 16  # fixed by migration events.0001; changing it needs a migration
# Per-process caches (API keys, schemas, agent keys) ask Redis this often whether to drop entries.
HOT_CACHE_CHECK_SECONDS: float = env.float("HOT_CACHE_CHECK_SECONDS", default=0.25)
HOT_CACHE_DEGRADED_TTL_SECONDS: float = env.float("HOT_CACHE_DEGRADED_TTL_SECONDS", default=1.0)

# --- Schema registry ---------------------------------------------------------------------
# SCHEMA_VALIDATION_MODE: disabled | warn | enforce | required (aliases in schemas/modes.py); a
# tenant's row in tenant_schema_settings overrides it.
SCHEMA_VALIDATION_MODE: str = env.str("SCHEMA_VALIDATION_MODE", default="enforce")
SCHEMA_MAX_BYTES: int = env.int("SCHEMA_MAX_BYTES", default=100 * 1024)
CACHE_SCHEMA_MAX: int = env.int("CACHE_SCHEMA_MAX", default=10_000)
CACHE_SCHEMA_TTL_SECS: float = env.float("CACHE_SCHEMA_TTL_SECS", default=300.0)

# --- Payload keys and receipt signing ----------------------------------------------------
# Payload encryption at rest (docs/encryption.md). Keys: comma-separated "<key_id>:<32 bytes hex or
# base64>", the first encrypts, all decrypt (PAYLOAD_ENCRYPTION_KEYS_FILE is read too). Per tenant:
# a JSON object {tenant_uuid: "<keys as above>"} that replaces the global ring for that tenant.
PAYLOAD_ENCRYPTION_MODE: str = env.str(
    "PAYLOAD_ENCRYPTION_MODE", default="required" if is_production(SEQUENCER_ENV) else "optional"
)
PAYLOAD_ENCRYPTION_KEYS: str = env.str("PAYLOAD_ENCRYPTION_KEYS", default="")
PAYLOAD_ENCRYPTION_KEYS_BY_TENANT: str = env.str("PAYLOAD_ENCRYPTION_KEYS_BY_TENANT", default="")
# Hex Ed25519 seed (32 bytes) that signs VES receipt hashes; empty = receipts unsigned ("none").
VES_SEQUENCER_SIGNING_KEY: str = env.str("VES_SEQUENCER_SIGNING_KEY", default="")
# Comma-separated hex seeds of keys rotated out: during a rotation window every new checkpoint is
# signed by them too (one more signature line each), so verifiers holding only an old public key
# keep verifying; receipts are signed by VES_SEQUENCER_SIGNING_KEY alone (docs/proofs.md).
VES_SEQUENCER_PREVIOUS_SIGNING_KEYS: str = env.str("VES_SEQUENCER_PREVIOUS_SIGNING_KEYS", default="")
# Stable identity of this sequencer in receipts; keep it fixed across restarts and nodes.
VES_SEQUENCER_ID: str = env.str("VES_SEQUENCER_ID", default="7c9e6679-7425-40de-944b-e07fc1f90ae7")

# --- Projections and dead letters (docs/projections.md) ----------------------------------
# The beat task events.projection_run (queue "projections") advances every projection, in
# PROJECTION_SHARDS ticks side by side, each on the streams of its shard (keep the worker's
# concurrency above it, so commitments and payments still find a free process).
PROJECTION_SHARDS: int = env.int("PROJECTION_SHARDS", default=2)
PROJECTION_RUN_INTERVAL_SECONDS: float = env.float("PROJECTION_RUN_INTERVAL_SECONDS", default=2.0)
PROJECTION_RUN_BUDGET_SECONDS: float = env.float("PROJECTION_RUN_BUDGET_SECONDS", default=20.0)
PROJECTION_RUN_SOFT_TIME_LIMIT: int = env.int("PROJECTION_RUN_SOFT_TIME_LIMIT", default=45)
# At most PROJECTION_BATCH_SIZE events of a stream per transaction, and streams grouped into one
# transaction up to PROJECTION_TRANSACTION_EVENTS events (ADR 0028).
PROJECTION_BATCH_SIZE: int = env.int("PROJECTION_BATCH_SIZE", default=500)
PROJECTION_TRANSACTION_EVENTS: int = env.int("PROJECTION_TRANSACTION_EVENTS", default=2000)
# A tick whose round over the due streams applied at least this many events lists them again at
# once (within PROJECTION_RUN_BUDGET_SECONDS) instead of leaving the new events to the next tick.
PROJECTION_RELIST_EVENTS: int = env.int("PROJECTION_RELIST_EVENTS", default=5000)
# A stream whose head moved while a projection's checkpoint did not for this long is "stalled":
# /health/detailed says degraded and the projection_stalled_streams gauge counts it.
PROJECTION_STALL_SECONDS: float = env.float("PROJECTION_STALL_SECONDS", default=60.0)
# Dead letters: retried after BASE s doubling up to MAX s, parked after MAX_ATTEMPTS failures.
PROJECTION_DLQ_MAX_ATTEMPTS: int = env.int("PROJECTION_DLQ_MAX_ATTEMPTS", default=10)
PROJECTION_DLQ_BACKOFF_BASE_SECONDS: int = env.int("PROJECTION_DLQ_BACKOFF_BASE_SECONDS", default=60)
PROJECTION_DLQ_BACKOFF_MAX_SECONDS: int = env.int("PROJECTION_DLQ_BACKOFF_MAX_SECONDS", default=3600)

# --- Commitments and anchoring (docs/commitments.md) -------------------------------------
# Automatic commitments: every COMMITMENT_INTERVAL_SECONDS beat runs commitments.commitment_tick
# (queue "commitments"), which seals every stream with new events, at most COMMITMENT_MAX_EVENTS
# events each. An event waits up to one interval for its commitment, so the interval bounds the
# commitment lag (2 s: under 5 s with the tick's own time; ADR 0030).
COMMITMENT_INTERVAL_SECONDS: float = env.float("COMMITMENT_INTERVAL_SECONDS", default=2.0)
COMMITMENT_MAX_EVENTS: int = env.int("COMMITMENT_MAX_EVENTS", default=10_000)
# The tick seals streams of one kind together, one transaction up to this many events (at least
# one stream each): its statements then serve every stream of it (docs/commitments.md).
COMMITMENT_TRANSACTION_EVENTS: int = env.int("COMMITMENT_TRANSACTION_EVENTS", default=20_000)
# The tick seals streams itself for this long, then hands the rest to commitments.stream_commit
# tasks (keep it well below the tick's 30 s soft time limit: system check sequencer.E016).
COMMITMENT_TICK_SEAL_SECONDS: float = env.float("COMMITMENT_TICK_SEAL_SECONDS", default=10.0)
# Each web process keeps the Merkle trees of recently proven commitments, up to this many bytes of
# hashes (64 bytes a leaf; a larger tree is rebuilt for each proof; docs/commitments.md).
PROOF_TREE_CACHE_BYTES: int = env.int("PROOF_TREE_CACHE_BYTES", default=64 * 1024 * 1024)
# Name of this sequencer in RFC 6962 checkpoints: the key name of the signature line and the start
# of every log origin (<name>/ves|legacy/<tenant>/<store>). No spaces, no "+".
CHECKPOINT_SEQUENCER_NAME: str = env.str("CHECKPOINT_SEQUENCER_NAME", default="sequencer.local")
# Anchoring commitment roots on an EVM chain (commitments/anchor_chain.py). Both ANCHOR_RPC_URL and
# ANCHOR_PRIVATE_KEY are needed; without them the anchoring endpoints answer 503. ANCHOR_RPC_URL
# may be "eth-tester://" for an in-process py-evm chain (development and tests only).
ANCHOR_RPC_URL: str = env.str("ANCHOR_RPC_URL", default="")
ANCHOR_PRIVATE_KEY: str = env.str("ANCHOR_PRIVATE_KEY", default="")
ANCHOR_TO_ADDRESS: str = env.str("ANCHOR_TO_ADDRESS", default="0x000000000000000000000000000000000000a0c5")
ANCHOR_RPC_TIMEOUT_SECONDS: float = env.float("ANCHOR_RPC_TIMEOUT_SECONDS", default=10.0)
ANCHOR_RECEIPT_TIMEOUT_SECONDS: float = env.float("ANCHOR_RECEIPT_TIMEOUT_SECONDS", default=120.0)
ANCHOR_RETRY_ATTEMPTS: int = env.int("ANCHOR_RETRY_ATTEMPTS", default=5)
# Failed sends (reverted, or an estimate saying it would revert) of one commitment before its
# anchoring is given up: the sweep leaves it until manage.py anchor_rearm (at least 1:
# sequencer.E039).
ANCHOR_MAX_ATTEMPTS: int = env.int("ANCHOR_MAX_ATTEMPTS", default=5)
# Beat period of commitments.anchor_sweep, which re-enqueues anchoring for commitments still
# unanchored after a grace period (commitments/tasks.py; a constant, not read from the env).
ANCHOR_SWEEP_INTERVAL_SECONDS = 60.0

# --- x402 payments: batching and settlement (docs/payments.md) ---------------------------
X402_BATCH_INTERVAL_SECONDS: float = env.float("X402_BATCH_INTERVAL_SECONDS", default=2.0)
X402_BATCH_MAX_SIZE: int = env.int("X402_BATCH_MAX_SIZE", default=100)  # 1..1000: sequencer.E007
X402_BATCH_MAX_WAIT_SECONDS: float = env.float("X402_BATCH_MAX_WAIT_SECONDS", default=3.0)
X402_BATCH_NETWORKS: list[str] = env.list("X402_BATCH_NETWORKS", default=["set_chain"])
# "record": admin POST /api/v1/x402/batches/settle; "evm": a task sends each batch on chain.
X402_SETTLEMENT_BACKEND: str = env.str("X402_SETTLEMENT_BACKEND", default="record")
X402_EVM_RPC_URL: str = env.str("X402_EVM_RPC_URL", default="eth-tester://")
X402_EVM_RPC_TIMEOUT_SECONDS: float = env.float("X402_EVM_RPC_TIMEOUT_SECONDS", default=5.0)
X402_SETTLEMENT_ADDRESS: str = env.str("X402_SETTLEMENT_ADDRESS", default="0x" + "00" * 19 + "42")
X402_SETTLEMENT_PRIVATE_KEY: str = env.str("X402_SETTLEMENT_PRIVATE_KEY", default="")
X402_SETTLEMENT_PRIORITY_FEE_WEI: int = env.int("X402_SETTLEMENT_PRIORITY_FEE_WEI", default=1_000_000_000)
X402_SETTLEMENT_CONFIRMATIONS: int = env.int("X402_SETTLEMENT_CONFIRMATIONS", default=1)
X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS: float = env.float("X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS", default=20.0)
X402_SETTLEMENT_MAX_REPLACEMENTS: int = env.int("X402_SETTLEMENT_MAX_REPLACEMENTS", default=3)
X402_SETTLEMENT_MAX_RETRIES: int = env.int("X402_SETTLEMENT_MAX_RETRIES", default=6)
X402_SETTLEMENT_RETRY_BASE_SECONDS: int = env.int("X402_SETTLEMENT_RETRY_BASE_SECONDS", default=10)
X402_NONCE_CLEANUP_INTERVAL_SECONDS: int = env.int("X402_NONCE_CLEANUP_INTERVAL_SECONDS", default=3600)
# evm backend: payments.settlement_sweep re-enqueues a batch committed/submitted with no change
# (commit, submission, attempt) for this long (a worker killed mid-settlement); it runs every
# half of it.
X402_SETTLEMENT_SWEEP_AFTER_SECONDS: float = env.float("X402_SETTLEMENT_SWEEP_AFTER_SECONDS", default=600.0)

# --- Periodic tasks (Celery beat) ---------------------------------------------------------
# The schedule is code (not DB rows), at the intervals declared in the sections above.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "payments.nonces_prune": {
        "task": "payments.nonces_prune",
        "schedule": X402_NONCE_CLEANUP_INTERVAL_SECONDS,
    },
    "payments.batches_assemble": {
        "task": "payments.batches_assemble",
        "schedule": X402_BATCH_INTERVAL_SECONDS,
        "options": {"expires": X402_BATCH_INTERVAL_SECONDS * 5},
    },
    **{
        f"events.projection_run.{shard}": {
            "task": "events.projection_run",
            "schedule": PROJECTION_RUN_INTERVAL_SECONDS,
            "args": (shard, PROJECTION_SHARDS),
            # A tick not picked up before the next one is worthless: drop it instead of piling up.
            "options": {"expires": max(PROJECTION_RUN_INTERVAL_SECONDS * 2, 1.0)},
        }
        for shard in range(PROJECTION_SHARDS)
    },
    "commitments.commitment_tick": {
        "task": "commitments.commitment_tick",
        "schedule": COMMITMENT_INTERVAL_SECONDS,
        "options": {"queue": "commitments", "expires": COMMITMENT_INTERVAL_SECONDS * 2},
    },
    "commitments.anchor_sweep": {
        "task": "commitments.anchor_sweep",
        "schedule": ANCHOR_SWEEP_INTERVAL_SECONDS,
        "options": {"queue": "commitments", "expires": ANCHOR_SWEEP_INTERVAL_SECONDS * 2},
    },
    "payments.settlement_sweep": {
        "task": "payments.settlement_sweep",
        "schedule": X402_SETTLEMENT_SWEEP_AFTER_SECONDS / 2,
        "options": {"expires": X402_SETTLEMENT_SWEEP_AFTER_SECONDS / 2},
    },
    "events.rejections_prune": {
        "task": "events.rejections_prune",
        "schedule": REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS,
        "options": {"expires": REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS},
    },
    "audit.sessions_prune": {
        "task": "audit.sessions_prune",
        "schedule": SESSIONS_PRUNE_INTERVAL_SECONDS,
        "options": {"expires": SESSIONS_PRUNE_INTERVAL_SECONDS},
    },
}

# --- Observability -----------------------------------------------------------------------
PROMETHEUS_EXPORT_MIGRATIONS = False
LOG_LEVEL: str = _log_level("LOG_LEVEL", default="INFO")
# LOG_FORMAT=json writes one JSON object per line (with request_id).
LOG_FORMAT: str = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "sequencer_project.api.middleware.RequestIdLogFilter"},
        "client_errors_without_traceback": {"()": "sequencer_project.logs.ClientErrorTracebackFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "sequencer_project.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "client_errors_without_traceback"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- Internationalisation and static files -----------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
WHITENOISE_USE_FINDERS = True
