"""One settings module for every environment, driven by environment variables.

With nothing set everything runs embedded (DESIGN.md section 3): SQLite, local-memory
cache, in-memory channel layer, a filesystem Celery broker and e-mails written to a
folder. DATABASE_URL, REDIS_URL, CELERY_BROKER_URL and EMAIL_URL switch to real services.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from celery.schedules import crontab

from core.circuit import BreakerConnection

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CRM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
# The fallback key only exists so the embedded demo starts with nothing set; production
# must set DJANGO_SECRET_KEY (check --deploy fails on this key).
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-demo-only-key-set-DJANGO_SECRET_KEY-in-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "channels",
    "core",
    "crm",
    "insights",
    "agents",
    "pricing",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # before CommonMiddleware: an API address without its trailing slash is served, not 301'd
    "core.middleware.ApiSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last of the auth-related ones: turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.JsonErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "crm.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # Stale connections after a PostgreSQL restart are re-opened instead of erroring.
        conn_health_checks=True,
    )
}
DB_IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")
if DB_IS_SQLITE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL + a busy timeout let the web server, the worker and beat share one file; the
    # test database is a file too so a real worker process can see the test rows.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # One file per test run (process id): two suites running at once on one machine would
    # otherwise create, flush and destroy each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_db.{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
    # A pool per process (psycopg's, through Django): under ASGI a request's database work runs
    # on any thread of an executor, and persistent per-thread connections (CONN_MAX_AGE) piled
    # up there: 36 still open after 80 requests at 8-way concurrency, max_connections filled
    # at 16-way. The pool bounds them at DB_POOL_MAX_SIZE per process (0 turns it off and
    # falls back to DB_CONN_MAX_AGE); a request waits up to 10 s for a free connection.
    DB_POOL_MAX_SIZE = int(os.environ.get("DB_POOL_MAX_SIZE", "10"))
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections, not Django
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            # Waiting for a free connection; also how long a request waits while PostgreSQL
            # is unreachable before it answers 503 (G12: no request hangs past 2.5 s).
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "1.5")),
            "max_idle": 300,
            # (conn_health_checks above makes Django check each connection the pool hands out:
            # after a PostgreSQL restart its idle connections are dead.)
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and channel layer --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Parallel test workers (pytest-xdist names them gw0, gw1, ...) each get their own Redis
# database and broker folder, so one worker's cache.clear() or queued task never reaches another.
TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def for_test_worker(url: str) -> str:
    if not (TEST_WORKER.startswith("gw") and url.startswith(("redis://", "rediss://"))):
        return url
    return urlunsplit(urlsplit(url)._replace(path=f"/{1 + int(TEST_WORKER[2:])}"))


REDIS_URL = for_test_worker(REDIS_URL)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crmi",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Short timeouts and ignored errors: pages keep answering (from the
                # database) when Redis is down or hung, instead of hanging with it.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
                # A circuit breaker: after one failed or timed-out call, Redis is skipped for
                # a few seconds, so a hung Redis costs a request one timeout, not one per call.
                "CONNECTION_POOL_KWARGS": {"connection_class": BreakerConnection},
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # The default capacity of 100 silently drops bursts (BENCHMARKS.md).
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1500, "expiry": 30},
        }
    }

# --- auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "crm.Member"
# django-axes first: it refuses a locked-out account before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout (G10, docs/security.md): 5 failed sign-ins for one e-mail from one address lock that
# pair for 15 minutes, through the login page and the API's token endpoint alike; a success
# resets the count. Attempts are kept in the database, so the lockout holds with Redis down.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "core.throttles.sign_in_name"
AXES_CLIENT_IP_CALLABLE = "core.throttles.sign_in_address"
AXES_LOCKOUT_CALLABLE = "core.throttles.lockout_response"
AXES_VERBOSE = False
# X-Forwarded-For is trusted only this many proxies deep (0: REMOTE_ADDR is the client).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Rate limits (G10, core.throttles): requests per period, per caller. `user` a signed-in
# member, `apikey` an integration, `anon` anyone else by address; `auth` the token
# endpoints and `login` the sign-in page, by address; `ingest` the ingestion endpoints.
RATE_LIMITS = {
    "user": os.environ.get("RATE_LIMIT_USER", "1200/min"),
    "apikey": os.environ.get("RATE_LIMIT_APIKEY", "3000/min"),
    "anon": os.environ.get("RATE_LIMIT_ANON", "120/min"),
    "auth": os.environ.get("RATE_LIMIT_AUTH", "20/min"),
    "login": os.environ.get("RATE_LIMIT_LOGIN", "20/min"),
    "ingest": os.environ.get("RATE_LIMIT_INGEST", "600/min"),
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Third-party front-end assets are installed by npm at set-up (package.json), never committed.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Upload limits: the ingest API documents its batch cap separately (crm.ingestion).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "crm.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.MemberThrottle",
        "core.throttles.ApiKeyThrottle",
        "core.throttles.AddressThrottle",
        "core.throttles.ScopedThrottle",
    ],
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    # Five minutes: a deactivated user is refused within the access-token lifetime (G14).
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CRM Insights API",
    "DESCRIPTION": "Ingestion, analytics and insights for CRM data. Errors share one shape: "
    '{"error": {"code", "message", "details"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets named "status" in several components get their own names.
    "ENUM_NAME_OVERRIDES": {
        "PricingSuggestionStatusEnum": "pricing.models.SuggestionStatus",
        "ReportExportStateEnum": "reports.models.ExportState",
        "ReportFormatEnum": "reports.models.FORMATS",
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = for_test_worker(os.environ.get("CELERY_BROKER_URL", REDIS_URL or "filesystem://"))
if (
    TEST_WORKER.startswith("gw")
    and os.environ.get("CELERY_BROKER_URL", CELERY_BROKER_URL) != CELERY_BROKER_URL
):
    # Celery reads the CELERY_BROKER_URL variable before this setting (celery.app.utils.Settings.
    # broker_url): without this, every test worker, and every worker process a system test
    # starts (they inherit the environment), shared one broker database and took each other's
    # tasks. Test workers only.
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
CELERY_BROKER_DIR = Path(os.environ.get("CRM_CELERY_BROKER_DIR", VAR_DIR / "celery-broker"))
if TEST_WORKER:
    CELERY_BROKER_DIR = CELERY_BROKER_DIR / TEST_WORKER
if CELERY_BROKER_URL.startswith("filesystem://"):
    (CELERY_BROKER_DIR / "out").mkdir(parents=True, exist_ok=True)
    (CELERY_BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Otherwise kombu writes its control exchange into the current directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest task, so an acks_late task is not redelivered while running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The periodic jobs, in UTC. django-celery-beat's DatabaseScheduler writes these entries into
# its tables when beat starts (and `manage.py sync_beat_schedule` does it without beat), so
# the schedule lives in code, reviewed like code, and the admin only shows and pauses it.
CELERY_BEAT_SCHEDULE = {
    "nightly contact snapshot": {
        "task": "crm.snapshot_contacts_all",
        "schedule": crontab(minute="30", hour="0"),
    },
    # Every family of statistics (agents' daily rows, the dashboard rollups), then what follows
    # each (goals achieved, rankings).
    "nightly statistics": {"task": "core.refresh_statistics_all", "schedule": crontab(minute="15", hour="1")},
    # Today's hours of the families with an hour level, so a window's recent edge is read from
    # rollups, not raw rows (core.stats.refresh.statistics_refresh_hours).
    "statistics hours every 5 minutes": {
        "task": "core.refresh_statistics_hours_all",
        "schedule": crontab(minute="*/5", hour="*"),
    },
    "agent rankings every 15 minutes": {
        "task": "agents.refresh_rankings_all",
        "schedule": crontab(minute="*/15", hour="*"),
    },
    # After the statistics of 01:15, which the business-intelligence run reads.
    "nightly business insights": {
        "task": "insights.bi_refresh_all",
        "schedule": crontab(minute="15", hour="2"),
    },
    # Approved prices take effect on their date, undecided suggestions expire (pricing).
    "pricing changes hourly": {"task": "pricing.apply_and_expire", "schedule": crontab(minute="5", hour="*")},
    # Scheduled reports: the due copies, each sent once (reports.services.send_due_reports).
    "scheduled reports every 5 minutes": {
        "task": "reports.send_due_all",
        "schedule": crontab(minute="*/5", hour="*"),
    },
    "report files expiry nightly": {
        "task": "reports.expire_files",
        "schedule": crontab(minute="45", hour="3"),
    },
}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- report files ----------------------------------------------------------------------------
# Rendered exports and the files of sent scheduled reports (kept REPORT_FILES_DAYS days),
# served only through the reports views that check the organization, never as static files.
REPORT_FILES_DIR = Path(os.environ.get("CRM_REPORT_FILES_DIR", VAR_DIR / "reports"))
REPORT_FILES_DAYS = 90
# Where e-mailed links (a scheduled report's unsubscribe link) point.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# --- e-mail -------------------------------------------------------------------------------
EMAIL_URL = os.environ.get("EMAIL_URL", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CRM Insights <reports@localhost>")
if EMAIL_URL:
    from urllib.parse import unquote, urlparse

    _mail = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
    EMAIL_USE_SSL = _mail.scheme == "smtps"
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- security (production values when DEBUG is off) ----------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every sign-in at INFO; its warnings (failures, lockouts) are kept.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Product settings.
CRM_INGEST_MAX_BATCH = int(os.environ.get("CRM_INGEST_MAX_BATCH", "10000"))
CRM_WEBHOOK_TOLERANCE_SECONDS = 300

# --- Content-Security-Policy (django-csp; docs/security.md, "Content-Security-Policy") --------
# Scripts and styles only from our own origin: no inline <script>, no on*= handlers, no eval,
# no style= attributes, on every page including the admin and /api/docs/. The live metrics'
# WebSocket (static/js/live.js) is same-origin: CSP Level 3 browsers match it with 'self', and
# SITE_URL's ws:/wss: origin is named for those that do not (a bare ws: would allow any host).
_SITE_ORIGIN = urlsplit(SITE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": [
            "'self'",
            f"{'wss' if _SITE_ORIGIN.scheme == 'https' else 'ws'}://{_SITE_ORIGIN.netloc}",
        ],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
