"""The one settings module. Everything that differs between machines comes from the environment:

MEMBERSYNC_DATA_DIR   where the SQLite database and other state live (default ./var)
DATABASE_URL          postgres://user:pass@host:port/name to use PostgreSQL instead of SQLite
SECRET_KEY            signing key (set it on any real site)
MEMBERSYNC_SECRETS_KEY  the key connections' credentials and webhook secrets are encrypted with at rest: a Fernet key
                      (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`),
                      or several comma-separated to rotate (the first encrypts, any of them decrypts). Unset, a key
                      is derived from SECRET_KEY with a warning: fine for development, not for a real site.
DEBUG                 "1" for development
ALLOWED_HOSTS         comma-separated (default 127.0.0.1,localhost)
EMAIL_BACKEND         Django email backend (default: console, which prints emails: the demo's choice). For real mail:
                      django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST, EMAIL_PORT (587),
                      EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS (1) or EMAIL_USE_SSL, EMAIL_TIMEOUT (10)
DEFAULT_FROM_EMAIL    sender of members' notifications and portal invitations
OPERATOR_EMAILS       who is alerted when something needs an operator (comma-separated)
HEALTH_WORKER_STALE_SECONDS  a worker silent this long counts as stopped (default 300): /healthz, alerts
HEALTH_MAX_LAG_SECONDS  a sink whose oldest due operation waited longer is "degraded" in /healthz (default 600)
ALERT_CONNECTION_FAILURES  calls failed in a row before a connection counts as failing (default 5)
ALERT_STORE_SILENT_HOURS  a WooCommerce store that sent nothing this long is alerted (default 24)
METRICS_TOKEN         /metrics answers a scraper sending it as a bearer token; unset: this machine only (default)
LOG_FORMAT            "json" (default: one JSON object per line, with the correlation id) or "text"
RETENTION_DELIVERY_DAYS, RETENTION_EVENT_DAYS  raw webhook deliveries / inbox events older than this are deleted
                      by the worker (default 0: kept forever; how long is the site's legal decision)
MEMBERSYNC_PUBLIC_URL  where stores reach MemberSync: the start of the webhook URLs `membersync connect` prints
DEFAULT_ON_HOLD_GRACE  on-hold grace of a plan imported from a store or made in the admin (default "1 day")
WEBHOOK_MAX_BYTES     largest webhook body accepted (default 2 MiB; larger: 413)
OUTBOX_LEASE_SECONDS, OUTBOX_BATCH_SIZE, OUTBOX_MAX_ATTEMPTS, SINK_HTTP_TIMEOUT_SECONDS  the worker's outbox (below)

Production (behind HTTPS; `membersync check --deploy` is clean with these set, see docs/decisions/0007):
SECURE_SSL_REDIRECT   "1": plain-HTTP requests are redirected to HTTPS
SECURE_PROXY_SSL_HEADER  the header a TLS-terminating proxy sets, e.g. X-Forwarded-Proto: a request is HTTPS when
                      it says "https" (set it only when the proxy always sets or strips that header)
SECURE_HSTS_SECONDS   Strict-Transport-Security max-age, e.g. 31536000 (default 0: no HSTS header)
SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD  "1" to add includeSubDomains / preload to that header
SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE  "1": the session and CSRF cookies are only sent over HTTPS
CSRF_TRUSTED_ORIGINS  comma-separated origins allowed to POST, e.g. https://members.example.com
TRUSTED_PROXY_COUNT   how many proxies in front append to X-Forwarded-For (default 0: the client address is the
                      connection's); login throttling counts failures per client address
With DEBUG off and no SECRET_KEY the web server refuses to start (membersync/wsgi.py); `membersync demo` sets a
key of its own (kept in MEMBERSYNC_DATA_DIR) and says so.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("MEMBERSYNC_DATA_DIR", Path.cwd() / "var")).resolve()

DEBUG = os.environ.get("DEBUG", "0") == "1"
# The fallback is for tests and management commands only: with DEBUG off the web server refuses to start on it
# (membersync.deploy.refuse_insecure_start, called by wsgi.py); the demo passes a key of its own to its server.
DEVELOPMENT_SECRET_KEY = "insecure-membersync-development-key"
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
# Connections' secrets at rest (membersync/people/cipher.py); empty: derived from SECRET_KEY, with a warning.
SECRETS_KEY = os.environ.get("MEMBERSYNC_SECRETS_KEY", "")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")]


def _flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# HTTPS in production: every one of these comes from the environment (documented above and in the README).
SECURE_SSL_REDIRECT = _flag("SECURE_SSL_REDIRECT")
if os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    _proxy_header = os.environ["SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.removeprefix("HTTP_"), "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _flag("SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = _flag("CSRF_COOKIE_SECURE")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS")
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

INSTALLED_APPS = [
    # Django's admin with MemberSync's site (its home page, alerts on every page, the site's time zone).
    "membersync.operations.adminconfig.MemberSyncAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "membersync.catalog",
    "membersync.people",
    "membersync.members",
    "membersync.orgs",
    "membersync.lms",
    "membersync.tags",
    "membersync.manual",
    "membersync.sync",
    "membersync.portal",
    "membersync.connectors",
    "membersync.connectors.learndash",
    "membersync.scenarios",
    "membersync.web",
    "membersync.demo",
    "membersync.bench",
    "membersync.api",
    "membersync.ops",
    "membersync.operations",
]

MIDDLEWARE = [
    "membersync.ops.logs.CorrelationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "membersync.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's own classes by name: its deploy checks (CSRF W003, the session cookie's W010-W012) look for them so.
    # An /api/ request costs them little: its views are CSRF-exempt and it never touches the session or messages.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "membersync.urls"
WSGI_APPLICATION = "membersync.wsgi.application"

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


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise RuntimeError(f"DATABASE_URL must be a postgres:// URL, not {parsed.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": _database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("MEMBERSYNC_SQLITE_PATH", str(DATA_DIR / "membersync.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A web process keeps its connection, as with PostgreSQL: opening one (and its pragmas) and closing it
            # (a WAL checkpoint) cost more than an API request's whole query.
            "CONN_MAX_AGE": int(os.environ.get("SQLITE_CONN_MAX_AGE", "60")),
            # Tests use a real file (WAL, several connections) rather than a shared in-memory database.
            "TEST": {"NAME": os.environ.get("MEMBERSYNC_TEST_SQLITE_PATH", str(DATA_DIR / "test.sqlite3"))},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "membersync@localhost")
# Who is told when something needs an operator (a mass removal held by the brake): comma-separated addresses.
OPERATOR_EMAILS = [a.strip() for a in os.environ.get("OPERATOR_EMAILS", "").split(",") if a.strip()]
# SMTP, when EMAIL_BACKEND is django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = _flag("EMAIL_USE_SSL")
EMAIL_USE_TLS = not EMAIL_USE_SSL and os.environ.get("EMAIL_USE_TLS", "1").strip().lower() in ("1", "true", "yes", "on")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))

# The worker's outbox: how many times an operation is tried, how long a lease lasts, how many operations a worker
# leases at once, and how long a remote sink's HTTP call may take (well inside the lease: sync/checks.py).
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8"))
# A plan imported from a store or created in the admin survives this much on-hold (a renewal's flicker).
DEFAULT_ON_HOLD_GRACE = os.environ.get("DEFAULT_ON_HOLD_GRACE", "1 day")
# The largest webhook body accepted (a bigger one is answered 413).
WEBHOOK_MAX_BYTES = int(os.environ.get("WEBHOOK_MAX_BYTES", str(2 * 1024 * 1024)))
# Where this MemberSync is reached from the outside: delivery URLs printed by `membersync connect` start here.
PUBLIC_URL = os.environ.get("MEMBERSYNC_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "60"))
OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", "500"))
SINK_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SINK_HTTP_TIMEOUT_SECONDS", "10"))
# The API's requests per minute for each key (a key may set its own: `membersync apikey create --rate N`).
API_RATE_PER_MINUTE = int(os.environ.get("API_RATE_PER_MINUTE", "600"))
# How long a web process keeps an API key it verified: a revoked key is refused everywhere within this time.
API_KEY_CACHE_SECONDS = float(os.environ.get("API_KEY_CACHE_SECONDS", "5"))
# How long the answer to a write sent with an Idempotency-Key is replayed; older answers are deleted.
API_IDEMPOTENCY_HOURS = float(os.environ.get("API_IDEMPOTENCY_HOURS", "24"))

# Health, alerts, metrics and retention (membersync/ops/, README "Keep it healthy").
HEALTH_WORKER_STALE_SECONDS = int(os.environ.get("HEALTH_WORKER_STALE_SECONDS", "300"))
HEALTH_MAX_LAG_SECONDS = int(os.environ.get("HEALTH_MAX_LAG_SECONDS", "600"))
ALERT_CONNECTION_FAILURES = int(os.environ.get("ALERT_CONNECTION_FAILURES", "5"))
ALERT_STORE_SILENT_HOURS = int(os.environ.get("ALERT_STORE_SILENT_HOURS", "24"))
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
RETENTION_DELIVERY_DAYS = int(os.environ.get("RETENTION_DELIVERY_DAYS", "0"))
RETENTION_EVENT_DAYS = int(os.environ.get("RETENTION_EVENT_DAYS", "0"))

# One line per event; the correlation id (membersync/ops/logs.py) on every line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "membersync.ops.logs.CorrelationFilter"}},
    "formatters": {
        "json": {"()": "membersync.ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "text" if os.environ.get("LOG_FORMAT", "json") == "text" else "json",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
