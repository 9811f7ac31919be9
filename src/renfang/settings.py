"""Django settings for renfang. Everything that differs between deployments comes from the
environment through the typed helpers in ``renfang.core.env``."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from renfang.core.env import env_bool, env_float, env_int, env_secret, env_str

PACKAGE_DIR = Path(__file__).resolve().parent

DEBUG = env_bool("RENFANG_DEBUG", False)
# In production (RENFANG_PRODUCTION=true) the key must come from the environment or a file.
PRODUCTION = env_bool("RENFANG_PRODUCTION", False)
SECRET_KEY = env_secret(
    "RENFANG_SECRET_KEY",
    default=None if PRODUCTION else "insecure-development-key-set-RENFANG_SECRET_KEY",
)
ALLOWED_HOSTS = [h for h in env_str("RENFANG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

# The city this deployment serves: a division code prefix (31 Shanghai, 4403 Shenzhen ...).
# A hukou whose division code starts with it is "in the city".
RENFANG_CITY_CODE = env_str("RENFANG_CITY_CODE", "31")
if not RENFANG_CITY_CODE.isdigit() or len(RENFANG_CITY_CODE) not in (2, 4, 6):
    raise ImproperlyConfigured(
        f"RENFANG_CITY_CODE={RENFANG_CITY_CODE!r} must be a 2-, 4- or 6-digit division code"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "renfang.core",
    "renfang.accounts",
    "renfang.audit",
    "renfang.areas",
    "renfang.codes",
    "renfang.houses",
    "renfang.people",
    "renfang.stats",
    "renfang.register",
    "renfang.sources",
    "renfang.linkage",
    "renfang.exchange",
    "renfang.synth",
    "renfang.web",
    "ninja",  # the API docs page serves Swagger UI from ninja's own static files
    "axes",  # lock-out after failed logins (ADR 0010)
    "django_otp",  # second factor (ADR 0010)
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "renfang.web.middleware.LocaleMiddleware",  # Chinese unless switched; see the module
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "renfang.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "renfang.accounts.middleware.IdleTimeoutMiddleware",
    "renfang.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out into its page
]

ROOT_URLCONF = "renfang.urls"
WSGI_APPLICATION = "renfang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{Path.cwd() / 'renfang.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app read while an import writes; a generous timeout waits out writers.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Login security (docs/adr/0010-login-security.md) ---------------------------------------
# Passwords: a minimum length, Django's checks (not like the username, not a common password,
# not all digits), and a mix of character classes (lower, upper, digit, symbol).
RENFANG_PASSWORD_MIN_LENGTH = env_int("RENFANG_PASSWORD_MIN_LENGTH", 12, minimum=8)
RENFANG_PASSWORD_CLASSES = env_int("RENFANG_PASSWORD_CLASSES", 3, minimum=0)
if RENFANG_PASSWORD_CLASSES > 4:
    raise ImproperlyConfigured(f"RENFANG_PASSWORD_CLASSES={RENFANG_PASSWORD_CLASSES} must be 0-4")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": RENFANG_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "renfang.accounts.passwords.CharacterClassValidator",
        "OPTIONS": {"min_classes": RENFANG_PASSWORD_CLASSES},
    },
]
# Lock-out (django-axes): this many failed logins (password or second-factor code) for one
# username from one address lock that pair for this many minutes; 0 attempts: no lock-out.
RENFANG_LOCKOUT_ATTEMPTS = env_int("RENFANG_LOCKOUT_ATTEMPTS", 5, minimum=0)
RENFANG_LOCKOUT_MINUTES = env_int("RENFANG_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "renfang.accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = RENFANG_LOCKOUT_ATTEMPTS > 0
AXES_FAILURE_LIMIT = RENFANG_LOCKOUT_ATTEMPTS
AXES_COOLOFF_TIME = RENFANG_LOCKOUT_MINUTES / 60  # axes reads a float as hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = False  # cleared after both factors, by renfang.accounts.signals
AXES_LOCKOUT_CALLABLE = "renfang.accounts.views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "renfang.audit.context.request_ip"  # the address the audit log shows
AXES_DISABLE_ACCESS_LOG = True  # the audit log records logins and logouts
AXES_ENABLE_ADMIN = False  # unlocking is done (and audited) in the user admin
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
AXES_VERBOSE = False
# Idle sessions end after this many minutes without a request; 0: never.
RENFANG_IDLE_MINUTES = env_int("RENFANG_IDLE_MINUTES", 30, minimum=0)
# Second factor (TOTP, django-otp): "admins" (roles that need it; others may choose it),
# "all", or "off".
RENFANG_TOTP = env_str("RENFANG_TOTP", "admins").strip().lower()
if RENFANG_TOTP not in ("admins", "all", "off"):
    raise ImproperlyConfigured(f"RENFANG_TOTP={RENFANG_TOTP!r} must be admins, all or off")
OTP_TOTP_ISSUER = env_str("RENFANG_TOTP_ISSUER", "renfang")
OTP_TOTP_THROTTLE_FACTOR = 0  # the lock-out above counts wrong codes; one mechanism, one message
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # no TOTP keys or QR codes in the admin
# --- end of login security ----------------------------------------------------------------

# Identity resolution (docs/adr/0014-identity-resolution.md): pairs of records at or above the
# link threshold (match probability) are one person; between the review threshold and it they
# wait for a reviewer. DuckDB's memory limit for `renfang resolve` (it spills to disk beyond).
RENFANG_LINK_THRESHOLD = env_float("RENFANG_LINK_THRESHOLD", 0.99, minimum=0.5, maximum=1.0)
RENFANG_REVIEW_THRESHOLD = env_float("RENFANG_REVIEW_THRESHOLD", 0.5, minimum=0.0, maximum=1.0)
if RENFANG_REVIEW_THRESHOLD > RENFANG_LINK_THRESHOLD:
    raise ImproperlyConfigured(
        f"RENFANG_REVIEW_THRESHOLD={RENFANG_REVIEW_THRESHOLD} must not be above "
        f"RENFANG_LINK_THRESHOLD={RENFANG_LINK_THRESHOLD}"
    )
RENFANG_RESOLVE_MEMORY = env_str("RENFANG_RESOLVE_MEMORY", "8GB")

# Audit events are kept this many days; the law asks for at least 183 (checked at start).
RENFANG_AUDIT_RETENTION_DAYS = env_int("RENFANG_AUDIT_RETENTION_DAYS", 365)
# Issue 11 (dept): figures shown to a department reader hide every count from 1 to k - 1
# (ADR 0022), and growth computed from a hidden count.
RENFANG_STATS_MIN_CELL = env_int("RENFANG_STATS_MIN_CELL", 10, minimum=1)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("RENFANG_STATIC_ROOT", str(Path.cwd() / "staticfiles")))

SESSION_COOKIE_HTTPONLY = True
# Behind HTTPS in production: cookies never travel in the clear.
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("RENFANG_LOG_LEVEL", "WARNING")},
}
