"""Django settings for renfang. Everything that differs between deployments comes from the
environment through the typed helpers in ``renfang.core.env``."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from renfang.core.env import env_bool, env_secret, env_str

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
    "renfang.areas",
    "renfang.codes",
    "renfang.houses",
    "renfang.people",
    "renfang.stats",
    "renfang.register",
    "renfang.synth",
    "renfang.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "renfang.web.middleware.LocaleMiddleware",  # Chinese unless switched; see the module
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

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
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("RENFANG_LOG_LEVEL", "WARNING")},
}
