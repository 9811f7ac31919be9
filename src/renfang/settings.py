"""Django settings for renfang. Everything that differs between deployments comes from the
environment through the typed helpers in ``renfang.core.env``."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from renfang.accounts.client_ip import parse_networks
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
    "renfang.web.middleware.SecurityHeadersMiddleware",  # CSP, no-store (ADR 0023)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "renfang.web.middleware.LocaleMiddleware",  # Chinese unless switched; see the module
    "renfang.web.middleware.BodySizeMiddleware",  # 413 before anything reads a large body
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
# username, from any address, lock the username for this many minutes (an administrator, the
# security officer or `renfang unlock USERNAME` lifts it sooner); 0 attempts: no lock-out.
RENFANG_LOCKOUT_ATTEMPTS = env_int("RENFANG_LOCKOUT_ATTEMPTS", 5, minimum=0)
RENFANG_LOCKOUT_MINUTES = env_int("RENFANG_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "renfang.accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = RENFANG_LOCKOUT_ATTEMPTS > 0
AXES_FAILURE_LIMIT = RENFANG_LOCKOUT_ATTEMPTS
AXES_COOLOFF_TIME = RENFANG_LOCKOUT_MINUTES / 60  # axes reads a float as hours
AXES_LOCKOUT_PARAMETERS = ["username"]  # across addresses (issue 11, finding 10)
AXES_RESET_ON_SUCCESS = False  # cleared after both factors, by renfang.accounts.signals
AXES_LOCKOUT_CALLABLE = "renfang.accounts.views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "renfang.accounts.client_ip.client_ip"  # the audit log's address too
AXES_DISABLE_ACCESS_LOG = True  # the audit log records logins and logouts
AXES_ENABLE_ADMIN = False  # unlocking is done (and audited) in the user admin
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
AXES_VERBOSE = False
# The client's address behind a reverse proxy: the proxies' addresses or networks (comma-
# separated), and the header they name the client in. Without trusted proxies the header is
# ignored and the peer's address is the client's (renfang.accounts.client_ip).
RENFANG_CLIENT_IP_HEADER = env_str("RENFANG_CLIENT_IP_HEADER", "X-Forwarded-For").strip()
try:
    RENFANG_TRUSTED_PROXIES = [
        str(n) for n in parse_networks(env_str("RENFANG_TRUSTED_PROXIES", ""))
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"RENFANG_TRUSTED_PROXIES: {exc}") from exc
if not RENFANG_CLIENT_IP_HEADER:
    raise ImproperlyConfigured("RENFANG_CLIENT_IP_HEADER must name a header")
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
# The audit chain's key (ADR 0019): a file the database does not hold, read once. In production
# RENFANG_AUDIT_KEY_FILE must name it (system check audit.E002); in development a key is made
# on first use in RENFANG_AUDIT_KEY_DIR (default: beside the SQLite database, or the working
# directory). Anchors (signed heads) are appended to RENFANG_AUDIT_ANCHOR_FILE.
RENFANG_AUDIT_KEY_FILE = env_str("RENFANG_AUDIT_KEY_FILE", "")
RENFANG_AUDIT_KEY_DIR = env_str(
    "RENFANG_AUDIT_KEY_DIR",
    str(Path(DATABASES["default"]["NAME"]).parent)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and str(DATABASES["default"]["NAME"]) not in {"", ":memory:"}
    else str(Path.cwd()),
)
RENFANG_AUDIT_ANCHOR_FILE = env_str("RENFANG_AUDIT_ANCHOR_FILE", "")

# Issue 11 (ADR 0021): a masked ID or phone number leaves at least this many candidates on its
# own hidden characters; exact-number searches and not-found detail reads that miss are
# bounded per user and window (an alert for the auditor at the bound); searches by number are
# addressed by a token that lives this many minutes; an unmask purpose has this many
# characters at least.
RENFANG_MASK_MIN_CANDIDATES = env_int("RENFANG_MASK_MIN_CANDIDATES", 10_000, minimum=1)
RENFANG_IDENTIFY_MISSES = env_int("RENFANG_IDENTIFY_MISSES", 20, minimum=1)
RENFANG_IDENTIFY_WINDOW_MINUTES = env_int("RENFANG_IDENTIFY_WINDOW_MINUTES", 1440, minimum=1)
RENFANG_SEARCH_TOKEN_MINUTES = env_int("RENFANG_SEARCH_TOKEN_MINUTES", 30, minimum=1)
RENFANG_PURPOSE_MIN_LENGTH = env_int("RENFANG_PURPOSE_MIN_LENGTH", 4, minimum=2)

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

# --- Web hardening (docs/adr/0023-web-hardening.md) -----------------------------------------
# HTTPS: in production http is redirected to https and browsers are told to use nothing else
# for a year (HSTS, for this host and its subdomains). Behind a proxy that ends TLS, name the
# header it sets, as "X-Forwarded-Proto: https"; only then is a request taken as https
# (otherwise the redirect would loop). Never set it without such a proxy: a client could send
# the header itself.
RENFANG_HSTS_SECONDS = env_int("RENFANG_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_SECONDS = RENFANG_HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RENFANG_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("RENFANG_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("RENFANG_SSL_REDIRECT", PRODUCTION)
_PROXY_SSL_HEADER = env_str("RENFANG_PROXY_SSL_HEADER", "").strip()
if _PROXY_SSL_HEADER:
    _header, _sep, _value = _PROXY_SSL_HEADER.partition(":")
    if not _sep or not _header.strip() or not _value.strip():
        raise ImproperlyConfigured(
            f"RENFANG_PROXY_SSL_HEADER={_PROXY_SSL_HEADER!r} must look like "
            "'X-Forwarded-Proto: https'"
        )
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _header.strip().upper().replace("-", "_"),
        _value.strip(),
    )
# Origins (scheme://host[:port]) whose forms and API calls may POST here besides the host
# itself, e.g. https://renfang.example.gov.cn when a proxy changes the host name.
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in env_str("RENFANG_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"RENFANG_CSRF_TRUSTED_ORIGINS: {_origin!r} must start with https:// (or http://)"
        )
# Preloading HSTS into browsers is a decision for the domain's owner (hstspreload.org), not a
# default: without RENFANG_HSTS_PRELOAD, check --deploy does not ask for it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not SECURE_HSTS_SECONDS else ["security.W021"]
# axes.W006 asks for the address among the lock-out parameters; renfang locks a username from
# every address on purpose (ADR 0020), and User-Agents or cookies play no part in it.
SILENCED_SYSTEM_CHECKS += ["axes.W006"]
# What a page may load: this site's own scripts, styles, images and fonts; no inline script
# (the charts' data is a JSON block, not a script); style attributes are allowed (ECharts'
# tooltips), style elements are not; no plugins, no framing, forms post here only.
RENFANG_CONTENT_SECURITY_POLICY = env_str(
    "RENFANG_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)
# Request bodies (forms and API calls; files sent in a form aside) larger than this many
# bytes are refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("RENFANG_MAX_BODY_BYTES", 2_621_440, minimum=1024)
# Sessions live in the database, and so do flash messages: nothing the pages say (a webhook's
# signing secret, a number shown in full) rides in a cookie, signed but readable.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# --- end of web hardening -------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("RENFANG_LOG_LEVEL", "WARNING")},
}
