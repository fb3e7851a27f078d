"""The one settings module, read from the environment.

Without any variable set it runs on embedded defaults (SQLite, a file-system Celery
broker, an in-process cache), so `make run` works on a bare machine. Production sets
DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS, and then passes
`manage.py check --deploy` without warnings.
"""

from __future__ import annotations

import ipaddress
import os
from email.utils import formataddr
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration

BASE_DIR = Path(__file__).resolve().parent.parent


# Helpers fail loudly: a typo in a variable must stop the process, not silently
# fall back to a default that is wrong in production.
def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return Path(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Local state of a development run (SQLite, the file broker, beat's schedule, uploads).
# Settings only name the folders; the portal app creates them when it starts on the
# embedded defaults (portal/apps.py), so importing settings writes nothing.
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)
# seed_demo writes accounts whose passwords the README publishes: development settings
# only, unless told with --allow-production. A setting of its own, read from DEBUG here,
# because the test runner turns DEBUG off after settings are loaded.
DEMO_DATA_ALLOWED = DEBUG
_DEV_SECRET = "dev-insecure-secret-key-only-for-local-runs-never-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("Set a real SECRET_KEY when DEBUG=0")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_guid",
    "portal",
    "portal.accounts",
    "portal.audit",
    "portal.idempotency",
    "projects",
    "votes",
]

MIDDLEWARE = [
    # First: the request id covers everything below, and the latency clock starts here.
    "django_guid.middleware.guid_middleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Before SecurityMiddleware reads the scheme: forwarded headers only from trusted proxies.
    "portal.middleware.UntrustedForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "portal.middleware.NulInQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.csp.CachedCSPMiddleware",  # django-csp's, with the header built once
    # After WhiteNoise (static files are never shed) and before the session, the user and
    # the database: a shed request costs nothing and writes nothing (portal/shedding.py).
    "portal.shedding.LoadSheddingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
SITE_ID = 1

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
                "django.template.context_processors.i18n",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
# DATABASE_URL (and DATABASE_REPLICA_URL) point at PgBouncer in transaction mode: a
# client's statements may run on different server connections between transactions, so
# nothing may rely on session state (README, "PgBouncer").
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
# A streaming replica for the public reads (results, exports, ledger, statistics,
# catalogue); portal/replica.py routes them there and everything else to the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")


def _postgres_database(url: str, *, connect_timeout: int) -> dj_database_url.DBConfig:
    database = dj_database_url.parse(
        url,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        # A SELECT 1 before the first query of a request that reuses a connection;
        # CONN_HEALTH_CHECKS=0 saves that round trip where connections never go stale.
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
    options = database.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", connect_timeout)
    if not DATABASE_PGBOUNCER:
        # Server-side cursors (QuerySet.iterator: the ballot ledger, grouped ballots,
        # exports) are always read to the end here. PostgreSQL plans a cursor for its
        # first 10 % of rows by default, which for the ledger meant walking the global
        # receipt index with a lookup per ballot: 21 s instead of 3.5 s on 1 M ballots
        # (bench/NOTES.md). PgBouncer refuses this startup parameter and would not keep
        # it per session anyway: portal.db.streaming sets it per transaction as well.
        options["options"] = "-c cursor_tuple_fraction=1.0"
    return database


if DATABASE_URL:
    DATABASES = {"default": _postgres_database(DATABASE_URL, connect_timeout=env_int("DATABASE_CONNECT_TIMEOUT", 10))}
    if DATABASE_REPLICA_URL:
        # A short timeout: a replica that does not answer sends its reads to the primary.
        DATABASES["replica"] = _postgres_database(
            DATABASE_REPLICA_URL, connect_timeout=env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2)
        )
        # Tests read the replica alias as the primary (no test database is made for it).
        DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
        DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]
elif DATABASE_REPLICA_URL:
    raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL (the primary)")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }
# Seconds a replica that failed to connect is skipped before it is tried again.
DATABASE_REPLICA_RETRY_SECONDS = env_int("DATABASE_REPLICA_RETRY_SECONDS", 10)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, answering as an empty cache while Redis is down
            # (portal/cache.py): a cache outage must not take casting or log-in down.
            "BACKEND": "portal.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # A task whose worker died unacked is delivered again after this many seconds
    # (acks_late): longer than the longest final tally. Workers scan for such tasks
    # every interval x throttle seconds (kombu's default, 100 s, or sooner when the
    # timeout is shorter).
    _visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    _restore_period = max(1, min(100, _visibility_timeout))
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": _visibility_timeout,
        "unacked_restore_interval": min(10, _restore_period),
        "unacked_restore_throttle": max(1, _restore_period // min(10, _restore_period)),
        "socket_connect_timeout": 2,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A broker that needs no server: messages are files under var/, shared by the web
    # process, the worker and beat on one machine.
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        # The queues' bindings too (kombu's default is ./control in the working directory).
        "control_folder": str(_broker_dir / "control"),
    }

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Three queues, so a flood of e-mails never waits in front of a count: production runs a
# worker per queue (docs/deploy.md); a worker started without -Q (`make run`) takes all.
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name} for name in ("counting", "seal", "mail")}
CELERY_TASK_DEFAULT_QUEUE = "counting"
CELERY_TASK_ROUTES = {
    "votes.tasks.ledger_seal": {"queue": "seal"},
    "votes.tasks.*": {"queue": "counting"},
    # The e-mail tasks live in votes/tasks.py under their old names (see there).
    "portal.tasks.notify_*": {"queue": "mail"},
}
# Beat records its last tick (portal.heartbeats) at least this often; workers write a
# heartbeat as often. /health/ready/ calls either down after HEARTBEAT_STALE_SECONDS.
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 10)
HEARTBEAT_STALE_SECONDS = env_int("HEARTBEAT_STALE_SECONDS", 3 * HEARTBEAT_INTERVAL)
CELERY_BEAT_SCHEDULER = "portal.heartbeats:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = HEARTBEAT_INTERVAL
# `manage.py pabulib_conformance` without a DIR reads this folder of .pb files; empty: the
# repository's samples (tests/data/pabulib and its more/).
PABULIB_DIR = env_str("PABULIB_DIR", "")
LIVE_TALLY_INTERVAL = env_int("LIVE_TALLY_INTERVAL", 60)  # seconds
CAMPAIGN_CLOCK_INTERVAL = env_int("CAMPAIGN_CLOCK_INTERVAL", 30)  # seconds
# Live tallies older than this many intervals mean the worker or beat is down.
LIVE_TALLY_STALE_INTERVALS = env_int("LIVE_TALLY_STALE_INTERVALS", 3)
# Live standings (and any per-entry figure of a live tally) appear only from this many
# ballots: below it they would show the few voters' choices. Final results are not held.
LIVE_STANDINGS_MIN_BALLOTS = env_int("LIVE_STANDINGS_MIN_BALLOTS", 50)
# The screening after the close (votes.screening): participations keep keyed hashes of
# the client's network and user agent and a time bucket of this many minutes, erased this
# many days after the results are published (README, 152-ФЗ). The key: its own, or one
# derived from SECRET_KEY.
SCREENING_HASH_KEY = env_str("SCREENING_HASH_KEY", "")
SCREENING_TIME_BUCKET_MINUTES = env_int("SCREENING_TIME_BUCKET_MINUTES", 10)
SCREENING_RETENTION_DAYS = env_int("SCREENING_RETENTION_DAYS", 30)
# A burst: more participations than this from one network or device in one bucket.
SCREENING_BURST_THRESHOLD = env_int("SCREENING_BURST_THRESHOLD", 20)
# Bulk accounts: at least this many made within SCREENING_BULK_WINDOW_MINUTES from one network.
SCREENING_BULK_ACCOUNTS = env_int("SCREENING_BULK_ACCOUNTS", 10)
SCREENING_BULK_WINDOW_MINUTES = env_int("SCREENING_BULK_WINDOW_MINUTES", 60)
# A volunteer is an outlier above the median of the volunteers + k·MAD.
SCREENING_OUTLIER_K = env_float("SCREENING_OUTLIER_K", 5.0)
CELERY_BEAT_SCHEDULE = {
    # Hourly, so a worker down at one hour still tells officials that day; the notices'
    # unique (campaign, official, day) keeps it to one e-mail a day (votes.services.turnout).
    "turnout-watch": {
        "task": "votes.tasks.turnout_watch",
        "schedule": 3600.0,
    },
    "screening-erase": {
        "task": "votes.tasks.screening_data_erase",
        "schedule": 86400.0,
    },
    "campaigns-clock": {
        "task": "votes.tasks.campaigns_clock",
        "schedule": float(CAMPAIGN_CLOCK_INTERVAL),
    },
    "live-tallies": {
        "task": "votes.tasks.live_tallies_refresh",
        "schedule": float(LIVE_TALLY_INTERVAL),
    },
    # Idempotency-Keys of the API are kept for a day (portal/idempotency).
    "idempotency-cleanup": {
        "task": "portal.idempotency.tasks.idempotent_requests_cleanup",
        "schedule": 3600.0,
    },
}

# --- Health and metrics ---------------------------------------------------------
# What /health/ready/ answers 503 for. The web serves and casts without Redis (cache and
# throttles fail open, tasks are enqueued again by beat), so by default only the primary
# database takes a web host out of the load balancer; the others are reported.
HEALTH_READY_REQUIRED = env_list("HEALTH_READY_REQUIRED", ["database"])
# /metrics answers clients from these networks, or with `Authorization: Bearer <token>`.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# gunicorn's workers (and a worker host's Celery processes) share their counters through
# files in this folder (prometheus-client's multiprocess mode): see docs/deploy.md.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
# A Celery worker serves its own /metrics (the seal's duration, tasks) on this port.
CELERY_METRICS_PORT = env_int("CELERY_METRICS_PORT", 0)
CELERY_METRICS_ADDR = env_str("CELERY_METRICS_ADDR", "127.0.0.1")

# --- Accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("FAST_PASSWORD_HASHER", False):
    # Tests and load-test fixtures create thousands of users; argon2 stays for real ones.
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "portal.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.accounts.adapters.SocialAccountAdapter"
THROTTLE = env_bool("THROTTLE", True)
ACCOUNT_RATE_LIMITS: dict | bool = (
    {
        "login_failed": env_str("THROTTLE_LOGIN_FAILED", "10/m/ip,5/5m/key"),
        "signup": env_str("THROTTLE_SIGNUP", "20/m/ip"),
        "reset_password": env_str("THROTTLE_RESET_PASSWORD", "20/m/ip,5/5m/key"),
        "confirm_email": "1/3m/key",
    }
    if THROTTLE
    else False
)


# A regional identity service (as Gosuslugi is for the real vote) plugs in as an
# OpenID Connect provider without code: set OIDC_SERVER_URL, OIDC_CLIENT_ID, OIDC_SECRET.
def oidc_providers() -> dict:
    """allauth's providers from the environment (a function: the end-to-end test reads
    the same variables against a real provider, tests/accounts/test_oidc_end_to_end.py)."""
    if not env_str("OIDC_SERVER_URL", ""):
        return {}
    return {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": env_str("OIDC_PROVIDER_ID", "regional-id"),
                    "name": env_str("OIDC_PROVIDER_NAME", "Regional ID"),
                    "client_id": env_str("OIDC_CLIENT_ID"),
                    "secret": env_str("OIDC_SECRET"),
                    "settings": {"server_url": env_str("OIDC_SERVER_URL")},
                }
            ],
            # birthdate is in the standard "profile" scope; the municipality's OKTMO code
            # (claim "oktmo") or address.locality in "address" (portal/accounts/identity.py).
            "SCOPE": env_list("OIDC_SCOPES", ["openid", "profile", "email", "address"]),
            "EMAIL_AUTHENTICATION": True,
            "VERIFIED_EMAIL": True,
        }
    }


SOCIALACCOUNT_PROVIDERS: dict = oidc_providers()

# --- Identity assurance (README "Identity levels") ---------------------------------
# One-time codes by SMS: the class that sends them (console in development: the code is
# logged; portal.accounts.sms.HttpSmsBackend in production, with the gateway below).
SMS_BACKEND = env_str("SMS_BACKEND", "portal.accounts.sms.ConsoleSmsBackend")
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN", "")
SMS_SENDER = env_str("SMS_SENDER", "Portal")
SMS_GATEWAY_TIMEOUT = env_float("SMS_GATEWAY_TIMEOUT", 5.0)
PHONE_CODE_TTL_MINUTES = env_int("PHONE_CODE_TTL_MINUTES", 10)
PHONE_CODE_MAX_ATTEMPTS = env_int("PHONE_CODE_MAX_ATTEMPTS", 5)
PHONE_CODE_SENDS_PER_PHONE_PER_HOUR = env_int("PHONE_CODE_SENDS_PER_PHONE_PER_HOUR", 3)
PHONE_CODE_SENDS_PER_ACCOUNT_PER_HOUR = env_int("PHONE_CODE_SENDS_PER_ACCOUNT_PER_HOUR", 10)
# A volunteer's desk sends a code for every resident without a verified phone.
PHONE_CODE_SENDS_PER_VOLUNTEER_PER_HOUR = env_int("PHONE_CODE_SENDS_PER_VOLUNTEER_PER_HOUR", 120)
# Keys the HMAC of identity document numbers (in-person checks) and of one-time codes.
# Keep it stable: screening compares the HMACs of documents across accounts. Derived from
# SECRET_KEY when not set, so rotating SECRET_KEY then breaks that comparison.
IDENTITY_HMAC_KEY = env_str("IDENTITY_HMAC_KEY", "") or f"identity-hmac:{SECRET_KEY}"

# --- API ------------------------------------------------------------------------
# Days an API token stays valid after it is issued (portal/accounts/tokens.py).
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 14)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.accounts.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        "ballot_user": env_str("THROTTLE_BALLOT_USER", "10/min"),
        "ballot_ip": env_str("THROTTLE_BALLOT_IP", "120/min"),
        "auth_ip": env_str("THROTTLE_AUTH_IP", "30/min"),
        "auth_user": env_str("THROTTLE_AUTH_USER", "10/min"),
        "ledger_lookup": env_str("THROTTLE_LEDGER_LOOKUP", "30/min"),
    },
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Civic participation portal API",
    "DESCRIPTION": "Campaigns, ballots and results of the comfortable urban environment vote.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Languages and time ---------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Yekaterinburg")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
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
WHITENOISE_USE_FINDERS = DEBUG
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")

# --- E-mail ---------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
# For EMAIL_BACKEND=...filebased.EmailBackend (the fault tests read what was sent).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Who the portal's e-mails come from and how their subjects begin: residents must
# recognise the sender (a bare address or "[example.com]" reads like phishing).
EMAIL_SENDER_NAME = env_str("EMAIL_SENDER_NAME", "Портал «Комфортная городская среда»")
EMAIL_SENDER_ADDRESS = env_str("DEFAULT_FROM_EMAIL", "portal@example.org")
DEFAULT_FROM_EMAIL = (
    formataddr((EMAIL_SENDER_NAME, EMAIL_SENDER_ADDRESS)) if EMAIL_SENDER_NAME else EMAIL_SENDER_ADDRESS
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = env_str("EMAIL_SUBJECT_PREFIX", "[Комфортная городская среда] ")
ACCOUNT_EMAIL_SUBJECT_PREFIX = EMAIL_SUBJECT_PREFIX

# --- Personal data (152-ФЗ) ---------------------------------------------------------
# The version of the privacy policy (templates/portal/privacy.html) residents consent to at
# sign-up; change it with the text, and the consent recorded says which text was agreed to.
PRIVACY_POLICY_VERSION = env_str("PRIVACY_POLICY_VERSION", "2026-12-01")
ACCOUNT_SIGNUP_FORM_CLASS = "portal.accounts.forms.SignupConsentForm"
# Money spent above this multiple of the estimated cost is taken only with a reason.
SPENT_OVERRUN_RATIO = env_float("SPENT_OVERRUN_RATIO", 1.5)
NOTIFY_BATCH_SIZE = env_int("NOTIFY_BATCH_SIZE", 200)  # e-mails per Celery task
COMMENT_RATE_PER_MINUTE = env_int("COMMENT_RATE_PER_MINUTE", 10)  # per user, when THROTTLE is on

# --- Security -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# The load balancers or reverse proxies in front of the web processes: how many there
# are ("1"), or their networks ("10.0.0.0/8,2001:db8::/32"). Empty: none, and
# X-Forwarded-For and X-Forwarded-Proto are ignored (lib/client_address.py).
_trusted_proxies = env_list("TRUSTED_PROXIES", [])
TRUSTED_PROXY_COUNT = 0
TRUSTED_PROXY_NETWORKS: list[str] = []
if len(_trusted_proxies) == 1 and _trusted_proxies[0].isdigit():
    TRUSTED_PROXY_COUNT = int(_trusted_proxies[0])
else:
    for _network in _trusted_proxies:
        try:
            TRUSTED_PROXY_NETWORKS.append(str(ipaddress.ip_network(_network, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES={_network!r} is neither a number of proxies nor a network"
            ) from None
if TRUSTED_PROXY_COUNT or TRUSTED_PROXY_NETWORKS:
    # Only a proxy that terminates TLS may say the request came over HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers and Prometheus probe the hosts over plain HTTP, inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Shedding load (portal/shedding.py): 0 turns a bound off.
SHED_MAX_IN_FLIGHT = env_int("SHED_MAX_IN_FLIGHT", 0)  # requests at once per worker process
SHED_MAX_QUEUE_MS = env_int("SHED_MAX_QUEUE_MS", 0)  # wait before the worker, from X-Request-Start
SHED_RETRY_AFTER = env_int("SHED_RETRY_AFTER", 10)  # seconds, in Retry-After and the waiting room
SHED_EXEMPT_PATHS = env_list(
    "SHED_EXEMPT_PATHS", [r"^/health/", r"^/metrics$", r"^/campaigns/\d+/results/$", r"^/static/"]
)
# An open campaign is read once per this many seconds per process for its ballots
# (votes/ballot_campaign.py); 0 reads it for every ballot.
BALLOT_CAMPAIGN_CACHE_SECONDS = env_float("BALLOT_CAMPAIGN_CACHE_SECONDS", 2.0)
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=()"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Inline style attributes (admin, map) are harmless; inline scripts are not allowed.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *env_list("CSP_IMG_EXTRA", ["https://tile.openstreetmap.org"])],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Logs and error reports -----------------------------------------------------
# LOG_FORMAT=json writes one JSON object per line (for a log shipper); every line carries
# the request id (`X-Request-ID`, made up when the client sends none), which follows the
# request into the Celery tasks it enqueues.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use text or json")
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,  # a client's id that is not a UUID is replaced, never logged as is
    # Tasks enqueued while handling a request carry its id in their headers.
    "INTEGRATIONS": [CeleryIntegration()],
    "IGNORE_URLS": ["health/live", "health/ready", "metrics"],
}
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_guid": {"level": "WARNING"},
        # A probe every few seconds with a worker down must not fill the log with tracebacks:
        # /health/ready/ says what is down.
        "health_check": {"level": "ERROR"},
    },
}

# Errors go to Sentry (or a compatible service) when a DSN is set. No personal data:
# no cookies, user ids, request bodies or local variables, which in casting would name
# the voter next to the ballot.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from portal.observability import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
