"""Tongshu settings.

Every setting that differs between machines comes from a ``TONGSHU_*`` environment variable with a working default,
so ``make run`` needs no configuration and production sets only what it changes (see docs/deployment.md).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"TONGSHU_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env(name, default).split(",") if part.strip()]


VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Uploads larger than FILE_UPLOAD_MAX_MEMORY_SIZE are spooled here, beside the data-plane upload folder, so accepting
# one moves the file (a rename) instead of writing it a second time (dataplane.services.submit_file).
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "tongshu.core.upload_handlers.HashingTemporaryFileUploadHandler",  # hashes the file as it arrives
]
(VAR_DIR / "static").mkdir(exist_ok=True)


def _secret_key() -> str:
    """The key comes from the environment, else from a file generated into var/ on first run (never the repo)."""
    if value := env("SECRET_KEY"):
        return value
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
# Demo mode: demo accounts may skip the forced password change and TOTP, and the login page shows the demo password.
DEMO_MODE = env_bool("DEMO")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "captcha",
    "ninja",
    "tongshu.core",
    "tongshu.accounts",
    "tongshu.security",
    "tongshu.standards",
    "tongshu.catalog",
    "tongshu.assessment",
    "tongshu.quality",
    "tongshu.dataplane",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tongshu.accounts.middleware.SessionSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tongshu.urls"
WSGI_APPLICATION = "tongshu.wsgi.application"
ASGI_APPLICATION = "tongshu.asgi.application"

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
                "tongshu.core.context_processors.platform",
            ],
        },
    }
]

# --- Databases ---------------------------------------------------------------------------------------------------
# Control plane: Django ORM. SQLite by default, in WAL mode with a busy timeout and IMMEDIATE write transactions, so
# the server, the task worker and the scheduler can share one file without "database is locked" errors.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tongshu.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if "sqlite" in DATABASE_URL else 60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-tongshu.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Data plane: SQLAlchemy Core, reached only through tongshu.dataplane.store.
DATA_URL = env("DATA_URL", f"sqlite:///{VAR_DIR / 'data.sqlite3'}")
# Key file encrypting pull sources' credentials (generated 0600 on first use; default var/keys/sources.key).
SOURCES_KEY_FILE = env("SOURCES_KEY_FILE", "")
# Host names, domains (*.hrx.gov.cn) and networks (10.43.0.0/16) that pull sources may reach although they are
# internal (loopback, private, link-local …); everything else must be a public address (dataplane/sources/guard.py).
# A demo allows the documentation network 192.0.2.0/24 (RFC 5737, never routed): its example sources point there.
PULL_ALLOWED_HOSTS = env_list("PULL_ALLOWED_HOSTS", "192.0.2.0/24" if DEMO_MODE else "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Background work --------------------------------------------------------------------------------------------
# Django's Tasks API (django-tasks); the database backend by default, a real queue in production (docs/deployment.md).
TASKS = {
    "default": {
        "BACKEND": env("TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Authentication and login security ----------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tongshu.accounts.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Client addresses: REMOTE_ADDR, unless the request came through one of these proxies (then X-Forwarded-For).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# Lockout: 5 failures within 15 minutes per (account, client address) pair.
AXES_FAILURE_LIMIT = env_int("LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "tongshu.core.net.axes_client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tongshu.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# A captcha is asked for after this many failures on an account (from any address) within the lockout window.
CAPTCHA_AFTER_FAILURES = env_int("CAPTCHA_AFTER_FAILURES", 3)
# Account-wide throttle: past this many failures in the window (summed over all addresses) each further attempt
# must wait, doubling; a browser that signed in to the account before (device cookie) is exempt, so an attacker
# cannot lock its owner out.
ACCOUNT_THROTTLE_AFTER = env_int("ACCOUNT_THROTTLE_AFTER", 10)
CAPTCHA_IMAGE_SIZE = (120, 40)
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 10

PASSWORD_EXPIRY_DAYS = env_int("PASSWORD_EXPIRY_DAYS", 90)
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("HTTPS")
SESSION_COOKIE_NAME = "tongshu_session"
CSRF_COOKIE_NAME = "tongshu_csrf"
OTP_TOTP_ISSUER = "通数 Tongshu"

# --- Audit log ---------------------------------------------------------------------------------------------------
AUDIT_HASH_ALGORITHM = env("AUDIT_HASH", "sha256")  # or "sm3"
AUDIT_RETENTION_DAYS = max(
    180, env_int("AUDIT_RETENTION_DAYS", 180)
)  # 网络安全法 第二十一条: at least 6 months
AUDIT_CHECKPOINT_EVERY = env_int("AUDIT_CHECKPOINT_EVERY", 1000)
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 60)
AUDIT_SIGNING_KEY = Path(env("AUDIT_SIGNING_KEY", str(VAR_DIR / "keys" / "audit-ed25519.pem")))
AUDIT_CHECKPOINT_FILE = Path(env("AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.log")))

# --- Catalog standards ------------------------------------------------------------------------------------------
# Digit widths of the resource category code's 类 / 项 / 目; the 细目 below them has a variable width. Verify against
# the city's master catalog (总目录) and set TONGSHU_CATEGORY_WIDTHS to match it.
CATALOG_CATEGORY_WIDTHS = tuple(int(part) for part in env_list("CATEGORY_WIDTHS", "1,2,3"))

# --- Internationalization -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "tongshu" / "locale"]

# --- Static files: all served by the app itself (no CDN) -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- HTTP hardening ----------------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
        # The scheduler would otherwise log every 30-second heartbeat enqueue on the `make run` console.
        "apscheduler": {"level": "WARNING"},
    },
}

# --- Catalog exchange (tongshu/catalog/exchange) ------------------------------------------------------------------
COUNTY_NAME = env("COUNTY_NAME", "华容县")
COUNTY_DIVISION_CODE = env("COUNTY_DIVISION_CODE", "430623")
CATALOG_IMPORT_MAX_MB = env_int("CATALOG_IMPORT_MAX_MB", 10)

# The demo accounts' password, shown on the console and the login page in demo mode only.
DEMO_PASSWORD = env("DEMO_PASSWORD", "Huarong@2026")

# --- Data plane -------------------------------------------------------------------------------------------------
# Upload limits per format, in MiB (a clear 413 above them). CSV and NDJSON stream, so theirs can be large.
DATAPLANE_UPLOAD_LIMITS_MB = {
    "csv": env_int("UPLOAD_LIMIT_CSV_MB", 4096),
    "ndjson": env_int("UPLOAD_LIMIT_NDJSON_MB", 4096),
    "json": env_int("UPLOAD_LIMIT_JSON_MB", 200),
    "xlsx": env_int("UPLOAD_LIMIT_XLSX_MB", 100),
    "xls": env_int("UPLOAD_LIMIT_XLS_MB", 50),
    "ods": env_int("UPLOAD_LIMIT_ODS_MB", 50),
    "default": 50,
}
# Push API (系统对接): the largest JSON body accepted in one request, in MiB (413 above it).
DATAPLANE_PUSH_MAX_MB = env_int("PUSH_MAX_MB", 20)
# A batch whose worker died is applied again (dataplane.recovery): at once when the worker ran on this machine, else
# when its heartbeat is older than the lease; after this many interrupted attempts it fails instead.
DATAPLANE_BATCH_LEASE_SECONDS = env_int("BATCH_LEASE_SECONDS", 300)
DATAPLANE_BATCH_MAX_ATTEMPTS = env_int("BATCH_MAX_ATTEMPTS", 3)
# Exact-match queries on masked items by a user who may not reveal them, per user, resource and hour (each audited).
DATAPLANE_MASKED_LOOKUPS_PER_HOUR = env_int("MASKED_LOOKUPS_PER_HOUR", 60)
# Zip-based spreadsheets (XLSX, ODS) are refused before reading when their directory promises more than this.
DATAPLANE_SPREADSHEET_ZIP_LIMITS = {"max_entries": 10_000, "max_uncompressed_mb": 2048, "max_ratio": 200}
