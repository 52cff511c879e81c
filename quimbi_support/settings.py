"""Settings, all from the environment (django-environ); defaults serve the embedded mode.

Embedded mode (no variables set): SQLite file, local-memory cache, Celery over kombu's
filesystem transport, so `make run` needs no server. Production sets DATABASE_URL,
REDIS_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and HTTPS=true. Every variable
is documented in .env.example and the README.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# Runtime files of the embedded mode (filesystem broker, test database); never committed.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-embedded-mode-only-set-SECRET_KEY-in-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "axes",
    # Our apps, lowest layer first (DESIGN.md "Dependencies between apps").
    "agents",
    "tickets",
    "sla",
    "intelligence",
    "routing",
    "rules",
    "integrations",
    "analytics",
    "quimbi_support",  # composition root: management commands spanning every app
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # After CORS, so that a browser frontend can read these errors too.
    "quimbi_support.middleware.ApiErrorsAsJsonMiddleware",
    "quimbi_support.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a locked-out login into the 429 of agents.lockout.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "quimbi_support.urls"
WSGI_APPLICATION = "quimbi_support.wsgi.application"

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
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded worker and web process write the same file: wait for locks instead of
    # failing, and take the write lock at BEGIN so two writers never deadlock on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # A file, not shared-cache memory, so a test's Celery worker thread sees committed rows.
    # One file per test process, so two runs on one checkout never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's PostgreSQL backend with timestamps read by psycopg's C loader.
        DATABASES["default"]["ENGINE"] = "quimbi_support.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A read replica (optional): list and report endpoints read from it, inside
# agents.replica.replica_reads(); every other query stays on the primary, and so does
# any read inside a transaction. Tests give it a database of its own (test_<name>), not
# a mirror of the primary, so that what they read shows where it was read.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["replica"]["ENGINE"] = "quimbi_support.postgresql"
    if DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        # The same SQL runs on either (raw queries are compiled for the primary's vendor).
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL."
        )
    DATABASES["replica"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASE_ROUTERS = ["agents.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # Redis is a cache: when it is down, requests go on without it.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # Throttle histories, shared by every worker. Errors must surface here (an ignored one
    # reads as an empty history: throttles would fail open); agents/throttling.py then
    # counts in process memory ("throttle-fallback") until Redis answers again.
    CACHES["throttle"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "throttle",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "IGNORE_EXCEPTIONS": False,
        },
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHES["throttle-fallback"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "throttle-fallback",
}
# Authenticated API keys and tokens are kept this long (s) in the default cache, so a
# request authenticates without SQL; revoking, deleting, or changing the agent or the
# organization drops the entry at once. 0 turns it off. Only a cache shared by every process
# (Redis) is used: with the local-memory cache nothing is cached (agents/credential_cache.py).
AUTH_CACHE_SECONDS = env.int("AUTH_CACHE_SECONDS", default=60)
# Cache credentials in a per-process cache too. Right only when one process both serves
# requests and makes every credential change: the tests. Deliberately not an env variable.
AUTH_CACHE_PROCESS_LOCAL = False

# --- List counts (tickets/pagination.py) ------------------------------------------------
# An inbox queue (filtered by status, assignee and team only) is counted exactly up to
# API_COUNT_CAP rows and the count kept API_QUEUE_COUNT_SECONDS; any other filtering is
# counted up to API_FILTER_COUNT_CAP rows per request. Past a cap, the planner's estimate
# (pagination.total_is_estimate).
API_COUNT_CAP = env.int("API_COUNT_CAP", default=10_000)
API_FILTER_COUNT_CAP = env.int("API_FILTER_COUNT_CAP", default=1_000)
API_QUEUE_COUNT_SECONDS = env.int("API_QUEUE_COUNT_SECONDS", default=5)

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "agents.Agent"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Failed logins (admin and POST /api/v1/auth/token) lock the account, and separately the
# client address, out for a while: django-axes, recorded in the database (agents/lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "agents.lockout.login_name"
AXES_CLIENT_IP_CALLABLE = "agents.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "agents.lockout.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Lock-outs are the platform operator's: `manage.py axes_reset_username EMAIL` lifts one.
AXES_ENABLE_ADMIN = False

# --- Security: HTTPS=true turns on what `check --deploy` asks of a TLS deployment -------
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Session cookies: never readable by scripts, not sent on cross-site sub-requests. The
# CSRF cookie stays readable: a same-site frontend sends it back as X-CSRFToken.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Load balancers probe health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=HTTPS)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Demo-only endpoints (POST /tickets/{id}/reset and /reset-conversation): `make run` turns
# them on; everywhere else they do not exist.
DEMO_FEATURES = env.bool("DEMO_FEATURES", default=False)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

CORS_ALLOWED_ORIGINS = env.list("CORS_ORIGINS", default=[])
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "x-api-key",
    "x-csrftoken",
    "x-requested-with",
]

# --- I18N / time ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files: whitenoise serves the admin's CSS/JS under gunicorn with DEBUG off ---
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps too, so a fresh clone needs no collectstatic to look right.
WHITENOISE_USE_FINDERS = True

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.ApiKeyAuthentication",
        "agents.authentication.AgentTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agents.permissions.IsOrganizationMember"],
    "DEFAULT_RENDERER_CLASSES": ["quimbi_support.renderers.FastJSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "quimbi_support.schema.AutoSchema",
    "EXCEPTION_HANDLER": "quimbi_support.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["agents.throttling.CallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Per agent, API key or (anonymous) client address.
        "caller": env.str("THROTTLE_CALLER", default="60000/minute"),
        # Logins (POST /api/v1/auth/token) per client address.
        "auth": env.str("THROTTLE_AUTH", default="10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quimbi Support Backend API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "DESCRIPTION": (
        "The system of record for support teams. Canonical paths are /api/v1/...; the same "
        "operations answer at /api/... (unversioned, for the existing frontend), with or "
        "without a trailing slash. Authenticate with X-API-Key, 'Authorization: Token ...' "
        "or a session (with CSRF)."
    ),
    "PREPROCESSING_HOOKS": ["quimbi_support.schema.only_versioned_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "quimbi_support.schema.add_error_responses",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery ---------------------------------------------------------------------------
# Default: kombu's filesystem transport, a real broker that needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing gives up quickly: the outbox row is already committed and the periodic
# re-dispatch sends it later, so a broker outage must not stall a web request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Installed into django-celery-beat's tables at beat start; editable in the admin.
# Time automations scan incrementally; each rule also gets a full scan at least this
# often (one rule per beat), for changes no event records (a customer's tier).
AUTOMATION_FULL_SCAN_MINUTES = env.float("AUTOMATION_FULL_SCAN_MINUTES", default=10.0)

CELERY_BEAT_SCHEDULE = {
    "tickets.event_redispatch": {
        "task": "tickets.event_redispatch",
        "schedule": env.float("EVENT_REDISPATCH_SECONDS", default=60.0),
    },
    "sla.scan": {
        "task": "sla.scan",
        "schedule": env.float("SLA_SCAN_SECONDS", default=60.0),
    },
    "intelligence.refresh_open_customers": {
        "task": "intelligence.refresh_open_customers",
        "schedule": env.float("INTELLIGENCE_REFRESH_SECONDS", default=600.0),
    },
    "rules.smart_score_refresh": {
        "task": "rules.smart_score_refresh",
        "schedule": env.float("SCORE_REFRESH_SECONDS", default=60.0),
    },
    "routing.queues_drain": {
        "task": "routing.queues_drain",
        "schedule": env.float("ROUTING_QUEUE_SECONDS", default=60.0),
    },
    "rules.automations_time_scan": {
        "task": "rules.automations_time_scan",
        "schedule": env.float("AUTOMATION_SCAN_SECONDS", default=30.0),
    },
    "integrations.provider_sync_due": {
        "task": "integrations.provider_sync_due",
        "schedule": env.float("PROVIDER_SYNC_SCAN_SECONDS", default=60.0),
    },
    "integrations.inbound_sweep": {
        "task": "integrations.inbound_sweep",
        "schedule": 60.0,
    },
    "integrations.provider_push_send": {
        "task": "integrations.provider_push_send",
        "schedule": 30.0,
    },
    "integrations.webhook_send_due": {
        "task": "integrations.webhook_send_due",
        "schedule": env.float("WEBHOOK_RETRY_SCAN_SECONDS", default=15.0),
    },
    "analytics.rollup_refresh": {
        "task": "analytics.rollup_refresh",
        "schedule": env.float("ANALYTICS_ROLLUP_SECONDS", default=3600.0),
    },
}

# --- External systems -----------------------------------------------------------------
QUIMBI_BASE_URL = env.str("QUIMBI_BASE_URL", default="")
QUIMBI_API_KEY = env.str("QUIMBI_API_KEY", default="")
QUIMBI_TIMEOUT_SECONDS = env.float("QUIMBI_TIMEOUT_SECONDS", default=5.0)
GORGIAS_DOMAIN = env.str("GORGIAS_DOMAIN", default="")
GORGIAS_USERNAME = env.str("GORGIAS_USERNAME", default="")
GORGIAS_API_KEY = env.str("GORGIAS_API_KEY", default="")
GORGIAS_WEBHOOK_SECRET = env.str("GORGIAS_WEBHOOK_SECRET", default="")
ZENDESK_SUBDOMAIN = env.str("ZENDESK_SUBDOMAIN", default="")
ZENDESK_EMAIL = env.str("ZENDESK_EMAIL", default="")
ZENDESK_API_TOKEN = env.str("ZENDESK_API_TOKEN", default="")
ZENDESK_WEBHOOK_SECRET = env.str("ZENDESK_WEBHOOK_SECRET", default="")

# Outbound webhooks (integrations/sending.py). Private and loopback targets are refused
# unless allowed (a receiver on your own network); link-local ones always are.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=30.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=6 * 3600.0)
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=86400.0)
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=8)

# Zendesk / Gorgias connectors (integrations/providers). Credentials are sealed with this
# Fernet key (derived from SECRET_KEY when unset).
INTEGRATION_SECRETS_KEY = env.str("INTEGRATION_SECRETS_KEY", default="")
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=30.0)
PROVIDER_MAX_RETRIES = env.int("PROVIDER_MAX_RETRIES", default=5)
PROVIDER_BACKOFF_SECONDS = env.float("PROVIDER_BACKOFF_SECONDS", default=1.0)
# Longest wait honoured for a 429's Retry-After (longer: the run stops, resumable).
PROVIDER_MAX_RETRY_AFTER_SECONDS = env.float("PROVIDER_MAX_RETRY_AFTER_SECONDS", default=120.0)
PROVIDER_COMMENT_FETCH_CONCURRENCY = env.int("PROVIDER_COMMENT_FETCH_CONCURRENCY", default=8)
PROVIDER_PUSH_MAX_ATTEMPTS = env.int("PROVIDER_PUSH_MAX_ATTEMPTS", default=8)
PROVIDER_PUSH_BACKOFF_SECONDS = env.float("PROVIDER_PUSH_BACKOFF_SECONDS", default=30.0)
# Uploaded and received files (inbound email attachments): Django's storage.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# Inbound email (integrations/channels): attachment caps (413 above), and after how many
# days a reply to a closed ticket opens a follow-up instead of reopening it.
EMAIL_ATTACHMENT_MAX_BYTES = env.int("EMAIL_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
EMAIL_MESSAGE_MAX_BYTES = env.int("EMAIL_MESSAGE_MAX_BYTES", default=25 * 1024 * 1024)
EMAIL_FOLLOWUP_AFTER_DAYS = env.int("EMAIL_FOLLOWUP_AFTER_DAYS", default=14)
# Outbound email (agents' replies on email tickets): EMAIL_URL, e.g.
# smtp://user:pass@host:587 or smtp+tls://..., smtp+ssl://...; the console when unset.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="support@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
# This backend's public address (https://support.example.com): Twilio's delivery status
# callbacks are requested at it. Unset: no callbacks (a reply is "sent" once accepted).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="")
# A running sync silent for this long is taken as dead (its lock is released).
SYNC_STALE_MINUTES = env.float("SYNC_STALE_MINUTES", default=15.0)

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
