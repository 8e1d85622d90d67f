"""Settings, read from the environment (see README.md, "Configuration")."""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from operations.logformat import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("PDP_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    # The embedded default keeps a random key under the data folder so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "pgtrigger",
    "django_htmx",
    "csp",
    "axes",
    "django_celery_results",
    "django_prometheus",
    "audit",
    "rules",
    "checks",
    "budget",
    "reviews",
    "deployments",
    "decisions",
    "accounts",
    "tokens",
    "webhooks",
    "operations",
    "portal",  # its template filters (portal/templatetags)
]

MIDDLEWARE = [
    # First: every request gets its id (and its log line) whatever answers it.
    "operations.middleware.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "pdp_portal.middleware.DatabaseUnavailableMiddleware",  # a lost database answers 503, not 500
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditIPMiddleware",
    "audit.middleware.PortalRefusalMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Security headers. The local run serves plain HTTP on 127.0.0.1, so the TLS settings are off by
# default; behind TLS, PDP_TLS=1 turns them all on (docs/operation.md, "Running behind TLS") and
# `manage.py check --deploy` then reports no issues. Each can also be set on its own.
PDP_TLS = env.bool("PDP_TLS", default=False)
# The proxy in front terminates TLS and says so in this header (e.g. X-Forwarded-Proto: https).
if env.bool("PDP_BEHIND_TLS_PROXY", default=PDP_TLS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PDP_TLS)
# The probes and the metrics answer on plain HTTP too: a load balancer's probe does not follow redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PDP_TLS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PDP_TLS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PDP_TLS)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PDP_TLS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PDP_TLS)
SESSION_COOKIE_HTTPONLY = True
# The pages' scripts never read the CSRF cookie: forms carry the token in a hidden field.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, images and fonts from the portal itself only;
# no inline script, no eval, no plugins, no framing. The API docs page (Swagger UI) is served from
# the portal's own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "pdp_portal.urls"
WSGI_APPLICATION = "pdp_portal.wsgi.application"

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
                "portal.pages.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'pdp.sqlite3'}")}
# Each web thread keeps its connection between requests (checked before reuse), rather than opening
# one per request: a new PostgreSQL connection costs more than a decision.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("PDP_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker share one file: wait for the lock, write ahead, and take the write lock at
    # BEGIN so two writers never deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses any login, right password or not, while that name is locked out here.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Login throttling (django-axes), for the portal's sign-in, the admin's and the API token endpoint:
# after AXES_FAILURE_LIMIT wrong passwords for one name from one address, that name is locked out
# from that address for AXES_COOLOFF_MINUTES. Every failure and every lockout is in the audit history.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, which a proxy in front must set (docs/operation.md).
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

LANGUAGE_CODE = "en-us"
# The portal's time zone: how pages show times, and how a scheduled promotion's time is read.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] + [
    (prefix, BASE_DIR / "node_modules" / folder)
    for prefix, folder in (("uswds", "@uswds/uswds/dist"), ("chartjs", "chart.js/dist"))
    if (BASE_DIR / "node_modules" / folder).is_dir()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "uploads"

# Request bodies: a rule document is at most 1 MiB; leave room for the form wrapper.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The cache holds the API's request counts for throttling. The embedded default keeps it in files
# under the data folder, shared by every web process; set CACHE_URL (e.g. redis://127.0.0.1:6379/1)
# to share it between machines.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}")}
# API tokens: how long one given at login lasts (a system's is given its own length when issued).
PDP_TOKEN_TTL_DAYS = env.float("PDP_TOKEN_TTL_DAYS", default=30)
# Requests for an API token per client address (and per name tried), on top of the lockout above.
PDP_LOGIN_RATE = env.str("PDP_LOGIN_RATE", default="10/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tokens.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "tokens.authentication.TokenScope"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pdp_portal.api.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["pdp_portal.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "pdp_portal API",
    "DESCRIPTION": "Policy Deployment Pipeline: push, check, review, release and roll back rules.",
    "VERSION": "1",
}

# Celery. The embedded default is kombu's filesystem transport under the data folder.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# One queue name per deployment, so two portals sharing a broker never take each other's jobs.
CELERY_TASK_DEFAULT_QUEUE = env.str("PDP_QUEUE", default="pdp")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes every database connection before and after each task unless this is
# set, so each task (each partition of a simulation) opened a new PostgreSQL connection. Set this
# high, the fix-up leaves them alone; pdp_portal/celery.py applies Django's own rule between tasks
# instead (close_old_connections: CONN_MAX_AGE, a health check, never one left mid-transaction).
CELERY_DB_REUSE_MAX = 1_000_000_000
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = DATA_DIR / "broker"
    # kombu's filesystem transport, with whole-file writes and claims (pdp_portal/broker.py).
    CELERY_BROKER_TRANSPORT = "pdp_portal.broker:Transport"
    for sub in ("queue", "processed", "control", "tmp", "claimed", "rejected"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than the longest job, so an unacknowledged job comes back after a worker dies.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 900}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-checks": {"task": "checks.tasks.sweep_stuck_checks", "schedule": 10.0},
    "sweep-dataset-uploads": {"task": "budget.tasks.sweep_dataset_uploads", "schedule": 10.0},
    "flush-refusal-tallies": {"task": "audit.tasks.flush_refusal_tallies", "schedule": 60.0},
    # Readiness watches this beat; a beat nobody ran within 10 s is dropped rather than piling up.
    "worker-beat": {"task": "operations.tasks.worker_beat", "schedule": 10.0, "options": {"expires": 10.0}},
    "verify-audit-chain": {
        "task": "operations.tasks.verify_audit_chain",
        "schedule": float(env.int("PDP_AUDIT_VERIFY_SECONDS", default=3600)),
    },
    "run-due-promotions": {
        "task": "deployments.tasks.run_due_promotions",
        "schedule": float(env.int("PDP_SCHEDULE_POLL_SECONDS", default=15)),
    },
    "audit-checkpoint": {
        "task": "audit.tasks.write_checkpoint",
        "schedule": float(env.int("PDP_AUDIT_CHECKPOINT_SECONDS", default=300)),
    },
    "purge-decision-log": {"task": "decisions.purge_decision_log", "schedule": 3600.0},
}

# Outbound webhooks (docs/operation.md, "Outbound webhooks"): the worker posts audit events to the
# endpoints administrators add, every PDP_WEBHOOK_POLL_SECONDS.
PDP_WEBHOOK_POLL_SECONDS = env.float("PDP_WEBHOOK_POLL_SECONDS", default=5.0)
PDP_WEBHOOK_MAX_ATTEMPTS = env.int("PDP_WEBHOOK_MAX_ATTEMPTS", default=8)
PDP_WEBHOOK_TIMEOUT_SECONDS = env.float("PDP_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Seconds after the 1st, 2nd, ... failure (the last repeats), each with ±20 % jitter.
PDP_WEBHOOK_BACKOFF_SECONDS = [
    float(s) for s in env.list("PDP_WEBHOOK_BACKOFF_SECONDS", default=["10", "30", "120", "600", "1800", "7200"])
]
# Refuse endpoints on private, loopback and link-local addresses unless set (tests and local runs).
PDP_WEBHOOK_ALLOW_PRIVATE = env.bool("PDP_WEBHOOK_ALLOW_PRIVATE", default=False)
# Audit events read per endpoint, deliveries tried and seconds spent, in one run of the loop.
PDP_WEBHOOK_BATCH = env.int("PDP_WEBHOOK_BATCH", default=500)
PDP_WEBHOOK_SEND_LIMIT = env.int("PDP_WEBHOOK_SEND_LIMIT", default=200)
PDP_WEBHOOK_SEND_BUDGET_SECONDS = env.float("PDP_WEBHOOK_SEND_BUDGET_SECONDS", default=30.0)
# Delivered and given-up deliveries, with their attempts, are removed after this many days (hourly).
PDP_WEBHOOK_DELIVERY_DAYS = env.int("PDP_WEBHOOK_DELIVERY_DAYS", default=30)
if PDP_WEBHOOK_DELIVERY_DAYS < 1:
    raise ImproperlyConfigured("PDP_WEBHOOK_DELIVERY_DAYS must be at least 1.")
CELERY_BEAT_SCHEDULE["purge-webhook-deliveries"] = {"task": "webhooks.tasks.purge_deliveries", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["webhooks-dispatch"] = {
    "task": "webhooks.tasks.dispatch",
    "schedule": PDP_WEBHOOK_POLL_SECONDS,
    # A run left waiting behind a busy worker is dropped: the next one does the same work.
    "options": {"expires": max(PDP_WEBHOOK_POLL_SECONDS * 2, 10)},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pdp-portal@localhost")
# Seconds a mail server may take to answer; the worker's e-mail task then retries.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))  # e.g. smtp+tls://user:pass@host:587
# The portal's address as people reach it, for the links in e-mails.
# Unless set, it follows PORT, the port `make run` serves on.
PDP_BASE_URL = env.str("PDP_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")

# The pipeline.
PDP_DEFAULT_BUDGET_LIMIT = env.float("PDP_DEFAULT_BUDGET_LIMIT", default=1_000_000_000)
PDP_DEMO_PASSWORD = env.str("PDP_DEMO_PASSWORD", default="")
PDP_POPULATION_ROWS = env.int("PDP_POPULATION_ROWS", default=100_000)
PDP_POPULATION_SEED = env.int("PDP_POPULATION_SEED", default=2024)
# A simulation over a population of more rows than this runs as partitions of this many rows (whole
# Parquet row groups of 250,000 rows when larger), one Celery task each, merged exactly by a
# chord (checks/partitions.py, docs/scaling.md). 0 simulates every population in one task.
PDP_PARTITION_ROWS = env.int("PDP_PARTITION_ROWS", default=2_000_000)
if PDP_PARTITION_ROWS < 0:
    raise ImproperlyConfigured("PDP_PARTITION_ROWS must be 0 (never partition) or a number of rows.")
# The largest population file (CSV or Parquet) the budget office may upload.
PDP_DATASET_MAX_BYTES = env.int("PDP_DATASET_MAX_BYTES", default=512 * 1024 * 1024)
# A larger upload is checked by the worker, with progress, instead of while its request waits.
PDP_DATASET_INLINE_BYTES = env.int("PDP_DATASET_INLINE_BYTES", default=16 * 1024 * 1024)
# Sign-offs a version needs, and the group that gives each of them.
PDP_REVIEW_ROLES = env.dict("PDP_REVIEW_ROLES", default={"legal": "Legal", "budget": "Budget"})
PDP_DRAFTER_GROUP = "Drafters"
PDP_RELEASE_GROUP = "ReleaseManagers"
# Other systems (payment systems) that ask for decisions over the API.
PDP_SYSTEMS_GROUP = "Systems"
# May roll back (with a reason) over the API or the portal, and read; may not promote or schedule.
PDP_OVERSIGHT_GROUP = "Oversight"
# A check still queued after this long (its message lost) is re-queued by the sweeper.
PDP_STUCK_CHECK_SECONDS = env.int("PDP_STUCK_CHECK_SECONDS", default=300)
# A running check's job beats its heartbeat this often; one silent for PDP_DEAD_WORKER_SECONDS has
# lost its worker and is re-queued by the sweeper (every 10 s).
PDP_HEARTBEAT_SECONDS = env.float("PDP_HEARTBEAT_SECONDS", default=10.0)
PDP_DEAD_WORKER_SECONDS = env.int("PDP_DEAD_WORKER_SECONDS", default=30)
PDP_CHECK_MAX_ATTEMPTS = env.int("PDP_CHECK_MAX_ATTEMPTS", default=3)
# Identical refused requests from one person within this many seconds are one audit event and a count.
PDP_REFUSAL_WINDOW_SECONDS = env.int("PDP_REFUSAL_WINDOW_SECONDS", default=60)

# Governance checks (docs/operation.md, "Governance checks"): they run at lint and again at every promotion.
# Extra checks as entry points, "module.path:callable", comma-separated (installed packages may also register
# some under the entry-point group pdp_portal.governance).
PDP_GOVERNANCE_CHECKS = env.list("PDP_GOVERNANCE_CHECKS", default=[])
# The protected attributes no rule may read: None is the built-in list (engine/governance.py), "none" no list.
_forbidden_inputs = env.str("PDP_GOVERNANCE_FORBIDDEN_INPUTS", default=None)
PDP_GOVERNANCE_FORBIDDEN_INPUTS = (
    None
    if _forbidden_inputs is None
    else [name.strip() for name in _forbidden_inputs.split(",") if name.strip() and name.strip().lower() != "none"]
)
# The statutory maximum one person may be paid; unset, no maximum is checked.
PDP_GOVERNANCE_MAX_PAYMENT = env.float("PDP_GOVERNANCE_MAX_PAYMENT", default=None)
# Off by default: the seed's minimal rule (examples/wildfire-aid-minimal.json) cites no authority and must pass.
PDP_GOVERNANCE_REQUIRE_AUTHORITY = env.bool("PDP_GOVERNANCE_REQUIRE_AUTHORITY", default=False)
# The audit key seals every event and signs the checkpoints of the chain's end (audit/signing.py).
# Keep it, and the exported checkpoints, where the database and its administrators are not.
PDP_AUDIT_KEY = env.str("PDP_AUDIT_KEY", default="")
PDP_AUDIT_KEY_FILE = env.str("PDP_AUDIT_KEY_FILE", default=str(DATA_DIR / "audit_key"))
PDP_AUDIT_CHECKPOINT_FILE = env.str("PDP_AUDIT_CHECKPOINT_FILE", default=str(DATA_DIR / "audit-checkpoints.jsonl"))

# Decision serving (decisions/). Every decision is kept in the decision log: written in batches by a
# thread of the serving process every PDP_DECISION_LOG_FLUSH_SECONDS (or at PDP_DECISION_LOG_FLUSH_ROWS
# waiting); a crash loses at most that interval, a clean stop nothing (decisions/recorder.py). At most
# PDP_DECISION_LOG_BUFFER decisions wait while the database is unreachable; past that the oldest are
# dropped and counted. `inline` writes them in the request instead.
PDP_DECISION_LOG = env.bool("PDP_DECISION_LOG", default=True)
PDP_DECISION_LOG_MODE = env.str("PDP_DECISION_LOG_MODE", default="thread")
PDP_DECISION_LOG_FLUSH_SECONDS = env.float("PDP_DECISION_LOG_FLUSH_SECONDS", default=0.5)
PDP_DECISION_LOG_FLUSH_ROWS = env.int("PDP_DECISION_LOG_FLUSH_ROWS", default=20_000)
PDP_DECISION_LOG_BUFFER = env.int("PDP_DECISION_LOG_BUFFER", default=500_000)
# Keep account ids as a keyed hash (PDP_DECISION_LOG_ACCOUNT_KEY, else one derived from SECRET_KEY).
PDP_DECISION_LOG_HASH_ACCOUNTS = env.bool("PDP_DECISION_LOG_HASH_ACCOUNTS", default=False)
PDP_DECISION_LOG_ACCOUNT_KEY = env.str("PDP_DECISION_LOG_ACCOUNT_KEY", default="")
# Retention: the inputs each decision used go after PDP_DECISION_LOG_INPUTS_DAYS, the decisions after
# PDP_DECISION_LOG_DAYS (the worker purges hourly).
PDP_DECISION_LOG_DAYS = env.int("PDP_DECISION_LOG_DAYS", default=400)
PDP_DECISION_LOG_INPUTS_DAYS = env.int("PDP_DECISION_LOG_INPUTS_DAYS", default=90)
# The largest body POST /api/v1/decisions/batch reads (up to 10,000 citizens).
PDP_DECISION_BATCH_MAX_BYTES = env.int("PDP_DECISION_BATCH_MAX_BYTES", default=16 * 1024 * 1024)
# A candidate version is replayed against this many of the latest production decisions of its rule.
PDP_REPLAY_DECISIONS = env.int("PDP_REPLAY_DECISIONS", default=10_000)
if PDP_DECISION_LOG_MODE not in ("thread", "inline"):
    raise ImproperlyConfigured("PDP_DECISION_LOG_MODE must be thread or inline.")

# /metrics (operations/views.py): allowed with `Authorization: Bearer <PDP_METRICS_TOKEN>` (none by default)
# or from these networks (REMOTE_ADDR: behind a proxy, the proxy's address; docs/operation.md, "Metrics").
PDP_METRICS_TOKEN = env.str("PDP_METRICS_TOKEN", default="")
PDP_METRICS_ALLOWED_NETWORKS = env.list("PDP_METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
for _network in PDP_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"PDP_METRICS_ALLOWED_NETWORKS: {exc}") from exc

# One JSON object per line (PDP_LOG_FORMAT=json) or text; every line carries its request id.
PDP_LOG_FORMAT = env.str("PDP_LOG_FORMAT", default="json")
LOGGING = logging_config(PDP_LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))
