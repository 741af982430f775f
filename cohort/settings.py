"""Cohort's settings: twelve-factor, read from the environment.

The embedded default is SQLite under var/; DATABASE_URL switches to PostgreSQL.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from django.core.exceptions import ImproperlyConfigured

from core.structured_logging import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COHORT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env(*names: str, default: str = "") -> str:
    """The first of `names` set in the environment: the plain name a deployment uses
    (SECRET_KEY, ALLOWED_HOSTS), then Cohort's older COHORT_ spelling, which still works."""
    for name in names:
        if value := os.environ.get(name, "").strip():
            return value
    return default


# Production or development? A deployment must give a SECRET_KEY (every web and worker
# process shares it); `make run`, `make test` and manage.py on a laptop never do. So
# DEBUG is off as soon as a secret key comes from the environment, or when COHORT_DEBUG
# says false; COHORT_DEBUG=true asks for it back. Without either, development as before.
# (COHORT_DEBUG, not DEBUG: shells often export DEBUG for other tools, e.g. DEBUG=*.)
_SECRET_KEY_FROM_ENV = _env("SECRET_KEY", "COHORT_SECRET_KEY")
DEBUG = _env_bool("COHORT_DEBUG", default=not _SECRET_KEY_FROM_ENV)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development only, a random key kept under var/
    so sessions survive restarts. Production never invents one: each process would sign
    with its own, and a restart would sign everyone out."""
    if _SECRET_KEY_FROM_ENV:
        return _SECRET_KEY_FROM_ENV
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With debug off (production), Cohort needs SECRET_KEY in "
            "the environment, the same long random value for every web and worker process: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    host.strip()
    for host in _env(
        "ALLOWED_HOSTS", "COHORT_ALLOWED_HOSTS", default="127.0.0.1,localhost,testserver"
    ).split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("COHORT_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "django_countries",
    "axes",
    "django_celery_beat",
    "accounts",
    "core",
    "contacts",
    "leads",
    "deals",
    "activities",
    "tags",
    "segments",
    "transfers",
    "audit",
    "jobs",
    "demo",
    # Last: the wiring (dashboard, base templates and static files).
    "cohort",
]

MIDDLEWARE = [
    # First, so every request (redirects and static files too) gets its id and log line.
    "core.structured_logging.RequestLogMiddleware",
    # Before anything reads the body (the CSRF check parses multipart uploads).
    "core.middleware.RefuseOversizedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A NUL in a query string is a 400 before any view: PostgreSQL cannot compare it.
    "core.middleware.RefuseNulInQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside SessionMiddleware, which saves what this marks: sessions expire when idle.
    "core.middleware.SlidingSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A page that needed the job queue while the broker is down: a 503 page, not a 500.
    "core.middleware.QueueUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during login into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cohort.urls"
WSGI_APPLICATION = "cohort.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cohort.sqlite3'}",
        conn_max_age=int(os.environ.get("COHORT_DB_CONN_MAX_AGE", "60")),
        # A kept connection is checked before a request reuses it: a database restart
        # or a failover costs one reconnect, not one failed request per process.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a sync or bulk action writes; IMMEDIATE avoids
    # "database is locked" upgrades from read to write inside a transaction.
    # A 64 MiB page cache (allocated as used) and reads through mmap: with SQLite's
    # 2 MiB default, a sync probing 300,000 members re-read the same index pages
    # through system calls for most of its time. Connections persist
    # (COHORT_DB_CONN_MAX_AGE) so a worker's cache stays warm across requests.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456; "
        "PRAGMA temp_store=MEMORY;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username + address is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login brute force (accounts.lockout), each limit within COHORT_LOGIN_LOCKOUT_MINUTES:
# COHORT_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address pause that
# pair; COHORT_LOGIN_USERNAME_LIMIT for one username from any addresses pause the username
# (distributed guessing); COHORT_LOGIN_ADDRESS_LIMIT from one address for any usernames
# pause the address (password spraying), for the lockout's length.
AXES_HANDLER = "accounts.lockout.ScaledLimitsHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("COHORT_LOGIN_FAILURE_LIMIT", "5"))
COHORT_LOGIN_USERNAME_LIMIT = int(os.environ.get("COHORT_LOGIN_USERNAME_LIMIT", "20"))
COHORT_LOGIN_ADDRESS_LIMIT = int(os.environ.get("COHORT_LOGIN_ADDRESS_LIMIT", "20"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("COHORT_LOGIN_LOCKOUT_MINUTES", "15")))
# In the order accounts.lockout expects: the pair, the username, the address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
# Wrong Bearer tokens from one address, per lockout period, before it gets 429s.
COHORT_TOKEN_FAILURE_LIMIT = int(os.environ.get("COHORT_TOKEN_FAILURE_LIMIT", "20"))
# A fixed lockout, so the login page can say when it ends; retries during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
if _env_bool("COHORT_BEHIND_PROXY"):
    # Count the client's address (the proxy's X-Forwarded-For), not the proxy's own.
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# A session ends after COHORT_SESSION_IDLE_HOURS without a request (core.middleware
# .SlidingSessionMiddleware moves its expiry on, at most once a minute).
SESSION_COOKIE_AGE = int(float(os.environ.get("COHORT_SESSION_IDLE_HOURS", "12")) * 3600)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

if not DEBUG:
    # Production is served over HTTPS only (`manage.py check --deploy` is clean).
    SECURE_SSL_REDIRECT = _env_bool("COHORT_SSL_REDIRECT", True)
    # Health probes usually speak plain HTTP to the process itself.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    if _env_bool("COHORT_BEHIND_PROXY"):
        # Trust the proxy's word that the request came over HTTPS; only safe when the proxy
        # always sets (or strips) this header, so it is opt-in.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("COHORT_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("COHORT_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("COHORT_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        # Leaving the preload list is the operator's explicit choice, not an oversight.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("COHORT_SECURE_COOKIES", True)
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4), on every page in every deployment: scripts and
# styles only from Cohort's own static files, or inline with the request's nonce; no
# style="" attributes (core/static/core/data-styles.js applies data colours); nothing
# fetched from another origin. Swagger UI's files come from drf-spectacular-sidecar.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # Swagger UI's stylesheet draws its icons as data: URLs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# The API's schema and docs (/api/schema, /api/docs) are for signed-in users unless the
# operator publishes them.
COHORT_PUBLIC_API_DOCS = _env_bool("COHORT_PUBLIC_API_DOCS")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header makes missing credentials a 401.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CappedCountPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's JSONParser plus Django's body size limit (413) and bounded nesting (400).
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    # Rates are read from the environment on each request: see core.api.throttling.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.UserRateThrottle",
        "core.api.throttling.AnonRateThrottle",
    ],
    # Anonymous clients are told apart by address: trust X-Forwarded-For only behind a proxy.
    "NUM_PROXIES": 1 if _env_bool("COHORT_BEHIND_PROXY") else 0,
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cohort API",
    "DESCRIPTION": "Contacts, leads, deals, activities, tags and segments. "
    "Authenticate with `Authorization: Bearer <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/crm",
    # Swagger UI from Cohort's own static files (drf-spectacular-sidecar), not a CDN; no
    # validator badge (it would send the schema to an outside service).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Error answers (400/401/403/404/409/413/415/429) are declared once, in core.api.schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.declare_error_responses",
    ],
}

# How many matching rows a list counts exactly before it says "10,000+".
COHORT_COUNT_CAP = 10_000

# Background work (cohort.celery). A broker makes jobs run in `celery worker` processes;
# without one they run inline, in the request or command that asked for them.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Job state, progress and results live in jobs.Job (the database), not in a result backend.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged when it ends, so a worker killed mid-task leaves it queued for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks in code, so every deployment has them; django-celery-beat copies them
# into its tables when beat starts, where the admin shows (and can pause) them. Live
# segments whose criteria use relative dates ("in the last 90 days") are re-synced
# every COHORT_LIVE_SWEEP_MINUTES, as contacts cross those dates without changing.
COHORT_LIVE_SWEEP_MINUTES = int(os.environ.get("COHORT_LIVE_SWEEP_MINUTES", "15"))
CELERY_BEAT_SCHEDULE = {
    "segments: re-sync live segments with relative dates": {
        "task": "segments.sweep_live_segments",
        "schedule": timedelta(minutes=COHORT_LIVE_SWEEP_MINUTES),
    },
    # Tasks kept in the database while the broker was down (core.queue): sent when it is back.
    "core: send the tasks kept while the job queue was unreachable": {
        "task": "core.send_kept_tasks",
        "schedule": timedelta(seconds=60),
    },
    # Manual segments with a scheduled sync: start those that are due (segments.jobs).
    "segments: start scheduled syncs that are due": {
        "task": "segments.dispatch_scheduled_syncs",
        "schedule": timedelta(seconds=60),
    },
    # Running jobs whose worker stopped reporting (killed, out of memory, a lost node) are
    # marked lost, and syncs and exports queued again (jobs.services.reap_lost_jobs).
    "jobs: mark jobs whose worker stopped as lost": {
        "task": "jobs.reap_lost_jobs",
        "schedule": timedelta(seconds=60),
    },
}
# A running job's worker writes a heartbeat this often (seconds), from a thread of its own,
# and a job whose heartbeat is older than COHORT_JOB_LOST_AFTER_SECONDS is lost.
COHORT_JOB_HEARTBEAT_SECONDS = float(os.environ.get("COHORT_JOB_HEARTBEAT_SECONDS", "15"))
COHORT_JOB_LOST_AFTER_SECONDS = float(os.environ.get("COHORT_JOB_LOST_AFTER_SECONDS", "120"))
# Files that jobs make (exports) until downloaded: a volume every web and worker process
# shares when they run on several machines.
COHORT_JOB_FILES_DIR = Path(os.environ.get("COHORT_JOB_FILES_DIR", VAR_DIR / "job-files"))
COHORT_JOB_FILE_HOURS = int(os.environ.get("COHORT_JOB_FILE_HOURS", "24"))
# The largest request body read at all (core.middleware): a 20 MB CSV import and its form.
COHORT_MAX_REQUEST_BYTES = int(os.environ.get("COHORT_MAX_REQUEST_BYTES", str(21 * 2**20)))
# Above these sizes, work runs as a background job instead of inside the request.
COHORT_BULK_TAG_JOB_ABOVE = int(os.environ.get("COHORT_BULK_TAG_JOB_ABOVE", "10000"))
COHORT_EXPORT_JOB_ABOVE = int(os.environ.get("COHORT_EXPORT_JOB_ABOVE", "100000"))
COHORT_IMPORT_JOB_ABOVE = int(os.environ.get("COHORT_IMPORT_JOB_ABOVE", "100000"))
# Tests give each real worker a queue of its own on the shared Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("COHORT_CELERY_QUEUE", "cohort")
if REDIS_URL:
    # Shared by every web and worker process: API rate limits, job progress. Both fail
    # open while Redis is down (M1); the short timeouts keep a Redis that does not answer
    # from holding every request up.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": float(os.environ.get("COHORT_REDIS_TIMEOUT", "0.5")),
                "socket_timeout": float(os.environ.get("COHORT_REDIS_TIMEOUT", "0.5")),
            },
        }
    }

# Logs go to stderr: one JSON object per line in production (for a log collector), plain
# text in development; COHORT_LOG_FORMAT=json|text overrides. Production logs at INFO (a
# line per request, job and worker event), development at WARNING, as before.
LOG_FORMAT = os.environ.get("COHORT_LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"COHORT_LOG_FORMAT is {LOG_FORMAT!r}: use json or text.")
LOGGING = logging_config(
    LOG_FORMAT, os.environ.get("COHORT_LOG_LEVEL") or ("WARNING" if DEBUG else "INFO")
)
