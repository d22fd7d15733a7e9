"""DermRelay settings.

Two modes. With nothing set, the embedded default: SQLite and media under var/, a Celery broker on
the local file system (no server), DEBUG off unless DEBUG=1 (a debug page would show settings and
source to whoever reaches the port), a generated local secret. With DERMRELAY_ENV=production:
DATABASE_URL, REDIS_URL and SECRET_KEY are required, DEBUG is off, and files go to S3-compatible
storage when AWS_STORAGE_BUCKET_NAME is set. Every knob is an environment variable (see README).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import csp.constants as csp
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

REPO_DIR = Path(__file__).resolve().parents[2]
ENVIRONMENT = os.environ.get("DERMRELAY_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DERMRELAY_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DERMRELAY_ENV=production")
    return value


# Tests get their own folder so they never share a database file or a broker folder with `make run`.
_default_var_dir = REPO_DIR / "var" / ("test" if "pytest" in sys.modules else "")
VAR_DIR = Path(os.environ.get("DERMRELAY_VAR_DIR", _default_var_dir)).resolve()


def _local_secret_key() -> str:
    """A per-checkout secret for the embedded default, generated once and kept under var/."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = _required("SECRET_KEY")
    DEBUG = False
    # Connections are kept a minute and checked before each request reuses one: a connection the
    # database dropped (a failover, pg_terminate_backend) is replaced instead of answering 500.
    DATABASES = {"default": dj_database_url.parse(_required("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)}
    REDIS_URL = _required("REDIS_URL")
    ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DERMRELAY_ENV=production")
else:
    SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
    DEBUG = os.environ.get("DEBUG", "0") in {"1", "true", "True"}  # opt-in, for a developer's own machine
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'dermrelay.sqlite3'}"
        )
    }
    REDIS_URL = os.environ.get("REDIS_URL", "")
    ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker) share the file: wait for locks instead of failing. The test
    # database is a file too, so a real worker process can open it.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # account lockout after repeated wrong passwords (accounts/api.py)
    "django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static",  # second factor (accounts/mfa.py)
    "dermrelay.accounts",
    "dermrelay.audit",
    "dermrelay.jobs",
    "dermrelay.cases",
    "dermrelay.imaging",
    "dermrelay.analysis",
    "dermrelay.gate",
    "dermrelay.pipeline",
    "dermrelay.notifications",
    "dermrelay.reading",
    "dermrelay.qa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # before whitenoise, so static files carry the policy too
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # is_verified() for the Django admin (OTPAdminSite, urls.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dermrelay.audit.middleware.AuditContextMiddleware",
    "dermrelay.accounts.middleware.BreakGlassSessionMiddleware",  # emergency sessions end with their grant
    "axes.middleware.AxesMiddleware",  # the lockout page for Django's own login forms (the admin)
]

ROOT_URLCONF = "dermrelay.urls"
WSGI_APPLICATION = "dermrelay.wsgi.application"
ASGI_APPLICATION = "dermrelay.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Files. Originals and derived files never go through the static server: only through the
# authorized download endpoints of the API.
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DERMRELAY_STATIC_ROOT", VAR_DIR / "static"))
# The browser app (frontend/, `make frontend`) is built into frontend/dist and served as /static/app/.
FRONTEND_DIST = Path(os.environ.get("DERMRELAY_FRONTEND_DIST", REPO_DIR / "frontend" / "dist"))
STATICFILES_DIRS = [("app", FRONTEND_DIST)] if FRONTEND_DIST.is_dir() else []
MEDIA_ROOT = Path(os.environ.get("DERMRELAY_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"
FILE_UPLOAD_TEMP_DIR = os.environ.get("DERMRELAY_UPLOAD_TEMP_DIR", str(VAR_DIR / "tmp"))
FILE_UPLOAD_PERMISSIONS = 0o640
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)  # staging for uploads, beside the media
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No explicit location: the storage follows MEDIA_ROOT, also when tests override it.
    }
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# The audit trail's seals are HMACs with this key (audit/chain.py): keep it stable and out of the
# database (changing it makes every earlier seal fail verification).
DERMRELAY_AUDIT_KEY = os.environ.get("DERMRELAY_AUDIT_KEY") or hashlib.sha256(f"audit:{SECRET_KEY}".encode()).hexdigest()

# Tiles are served from signed, expiring URLs (imaging/tiles.py); nginx can check them too.
DERMRELAY_TILE_SECRET = os.environ.get("DERMRELAY_TILE_SECRET") or hashlib.sha256(f"tiles:{SECRET_KEY}".encode()).hexdigest()
DERMRELAY_TILE_URL_SECONDS = int(os.environ.get("DERMRELAY_TILE_URL_SECONDS", 4 * 3600))

# Uploads: the whole file may be large (an RCM mosaic of 256 megapixels), the form fields are not.
DERMRELAY_UPLOAD_MAX_BYTES = int(os.environ.get("DERMRELAY_UPLOAD_MAX_BYTES", 1024**3))
# Resumable (tus) uploads: an unfinished upload may be resumed this long after it was created, then
# its staging file and row are purged (cases.tasks.upload_expired_purge, hourly).
DERMRELAY_UPLOAD_EXPIRY_SECONDS = int(os.environ.get("DERMRELAY_UPLOAD_EXPIRY_SECONDS", 24 * 3600))
# How many unfinished uploads one person may hold, and how many declared bytes they may reserve together.
DERMRELAY_UPLOAD_OPEN_MAX = int(os.environ.get("DERMRELAY_UPLOAD_OPEN_MAX", 16))
DERMRELAY_UPLOAD_OPEN_MAX_BYTES = int(os.environ.get("DERMRELAY_UPLOAD_OPEN_MAX_BYTES", 8 * 1024**3))
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DERMRELAY_MAX_STACK_FRAMES = int(os.environ.get("DERMRELAY_MAX_STACK_FRAMES", 512))

# One cache for every process: login rate limits count across all web workers (not per worker).
CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": str(VAR_DIR / "cache")}}
)

# Client addresses: how many trusted proxies stand in front of the web tier and append to
# X-Forwarded-For (1 behind the shipped nginx; 0 when gunicorn answers directly, and the header is
# ignored). Rate limits, lockout and the audit trail read the address through dermrelay.network.
DERMRELAY_NUM_PROXIES = int(os.environ.get("DERMRELAY_NUM_PROXIES", 0))

# Device tokens (accounts/device_tokens.py): each capture device's own, revocable, for this many days.
DERMRELAY_DEVICE_TOKEN_DAYS = int(os.environ.get("DERMRELAY_DEVICE_TOKEN_DAYS", 90))

# Second factor (django-otp, accounts/mfa.py): authenticator apps show "DermRelay"; emergency access
# (accounts/break_glass.py) lasts at most this long.
OTP_TOTP_ISSUER = os.environ.get("DERMRELAY_TOTP_ISSUER", "DermRelay")
DERMRELAY_BREAK_GLASS_MAX_MINUTES = int(os.environ.get("DERMRELAY_BREAK_GLASS_MAX_MINUTES", 240))

# Account lockout (django-axes): after this many wrong passwords for one username, that account
# cannot sign in, even with the right password, until the cool-off has passed since the last failure.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("DERMRELAY_LOCKOUT_FAILURES", 10))
AXES_COOLOFF_TIME = datetime.timedelta(seconds=int(os.environ.get("DERMRELAY_LOCKOUT_SECONDS", 15 * 60)))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Axes would rather lock addresses too; a clinic's staff share one address behind its NAT, so ten
# typos there would lock the whole clinic out. Addresses are rate-limited instead (LoginRateThrottle).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # guesses during a lockout do not prolong it
AXES_CLIENT_IP_CALLABLE = "dermrelay.network.client_address"
AXES_VERBOSE = False  # the audit trail records each attempt

REST_FRAMEWORK = {
    # Token first: an unauthenticated request then gets 401 with WWW-Authenticate, not a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dermrelay.accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "dermrelay.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dermrelay.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": os.environ.get("DERMRELAY_LOGIN_RATE", "20/min"),
                               "mfa": os.environ.get("DERMRELAY_MFA_CODE_RATE", "20/min")},
    "NUM_PROXIES": DERMRELAY_NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "DermRelay API",
    "DESCRIPTION": "Store-and-forward teledermatology for RCM and dermoscopy. Not for clinical use "
    "where a model card says so.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # deny by default, docs too
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # HEAD and OPTIONS of the tus endpoints, which drf-spectacular never lists by itself (cases/tus.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "dermrelay.cases.tus.tus_schema_operations"],
    "ENUM_NAME_OVERRIDES": {
        "ImageKindEnum": "dermrelay.cases.models.ImageKind",
        "RoleEnum": "dermrelay.accounts.models.Role",
        "NotificationKindEnum": "dermrelay.notifications.models.NotificationKind",
        "SexEnum": "dermrelay.cases.models.Sex",
        "CaseStatusEnum": "dermrelay.cases.models.CaseStatus",
        "JobStateEnum": "dermrelay.jobs.models.JobState",
        "VerdictEnum": "dermrelay.gate.models.Verdict",
        "RegistrationSourceEnum": "dermrelay.imaging.models.RegistrationSource",
        "LesionSourceEnum": "dermrelay.gate.models.LesionSource",
        "CaseQualityStateEnum": "dermrelay.gate.serializers.CASE_QUALITY_STATES",
        "MosaicQualityStateEnum": "dermrelay.gate.serializers.MOSAIC_QUALITY_STATES",
    },
}

# Celery: with REDIS_URL, Redis is the broker; otherwise kombu's file-system transport, so the
# embedded default runs a real worker with no server at all.
BROKER_DIR = VAR_DIR / "broker"
# Reliable jobs (dermrelay.jobs): a running job holds a lease that its heartbeat renews every third
# of its length; the reconciler re-sends jobs whose lease expired or whose message may be lost.
DERMRELAY_JOB_LEASE_SECONDS = int(os.environ.get("DERMRELAY_JOB_LEASE_SECONDS", 60))
DERMRELAY_JOB_REQUEUE_SECONDS = int(os.environ.get("DERMRELAY_JOB_REQUEUE_SECONDS", 120))
DERMRELAY_RECONCILE_SECONDS = float(os.environ.get("DERMRELAY_RECONCILE_SECONDS", 15))
# Server-Sent Events of the case quality answer: how often the stream looks, and how long it lasts.
DERMRELAY_SSE_POLL_SECONDS = float(os.environ.get("DERMRELAY_SSE_POLL_SECONDS", 0.5))
# Where diagnosis model B's location comes from when the lesion has no recorded site:
# "body_region_model" (default, the paper's way) or "unknown". Measured on HAM10000 val, where 22 of
# 1,021 images have no recorded site (`python -m inference compare-diagnosis`): with the shipped
# 0.2.1 models both ways give 0.745 balanced accuracy (0.2.0: 0.731 and 0.727; 0.1.0: 0.576 and
# 0.616). Either way the region is shown to a person as a suggestion to confirm as the lesion's site.
DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK = os.environ.get("DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK", "body_region_model")
DERMRELAY_SSE_MAX_SECONDS = float(os.environ.get("DERMRELAY_SSE_MAX_SECONDS", 300))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged message of a worker that died whole comes back after this many seconds
    # (kombu's default is an hour). Redelivery of a job still running is harmless: the row's lease
    # turns the duplicate into a no-op.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("DERMRELAY_BROKER_VISIBILITY_SECONDS", 60)),
        "unacked_restore_limit": 100,
    }
else:
    CELERY_BROKER_URL = "dermrelayfs://"  # kombu's file-system transport, written atomically (dermrelay/broker.py)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # kombu's default of 1 s would add up to a second per queue hop
    }
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A new pool process loads and verifies every active model before it reports for work
# (analysis/tasks.py): Celery's default of 4 s to report killed replacements on a busy machine.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = float(os.environ.get("DERMRELAY_WORKER_START_SECONDS", 120))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"dermrelay.pipeline.tasks.derive": {"queue": "ingest"}, "dermrelay.imaging.tasks.*": {"queue": "ingest"},
                      "dermrelay.pipeline.tasks.analysis_run": {"queue": "inference"}}
CELERY_BEAT_SCHEDULE = {
    "reconcile-jobs": {"task": "dermrelay.jobs.tasks.reconcile", "schedule": DERMRELAY_RECONCILE_SECONDS},
    "sweep-work-dirs": {"task": "dermrelay.imaging.tasks.work_dirs_sweep", "schedule": 3600},
    "purge-expired-uploads": {"task": "dermrelay.cases.tasks.upload_expired_purge", "schedule": 3600},
    "sweep-upload-staging": {"task": "dermrelay.cases.tasks.staging_sweep", "schedule": 3600},
    "seal-audit-trail": {"task": "dermrelay.audit.tasks.audit_seal", "schedule": DERMRELAY_RECONCILE_SECONDS},
    "reconcile-pipeline": {"task": "dermrelay.pipeline.tasks.reconcile", "schedule": DERMRELAY_RECONCILE_SECONDS},
}
# Beat's own work (reconcilers, the audit sealer, sweeps) has a queue and a worker of its own, so
# it never waits behind derivations and model runs (a reconciler pass waited behind 20 s runs).
CELERY_TASK_ROUTES.update({entry["task"]: {"queue": "control"} for entry in CELERY_BEAT_SCHEDULE.values()})
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER") == "1"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Security. Production is HTTPS-only behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("DERMRELAY_SESSION_SECONDS", 8 * 3600))
CSRF_COOKIE_HTTPONLY = False  # the browser app reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# One Content-Security-Policy on every response (django-csp): the app's scripts and styles from this
# origin only (inline style attributes are React's), images and tiles from here or from the object
# store that pre-signed tile URLs point at, no plugins, never framed. The API docs pages widen it
# (dermrelay/urls.py). DERMRELAY_MEDIA_ORIGINS: extra origins for tiles (defaults to the S3 endpoint's).
_s3_endpoint = urlsplit(os.environ.get("AWS_S3_ENDPOINT_URL", ""))
MEDIA_ORIGINS = _env_list("DERMRELAY_MEDIA_ORIGINS", f"{_s3_endpoint.scheme}://{_s3_endpoint.netloc}"
                          if AWS_STORAGE_BUCKET_NAME and _s3_endpoint.netloc else "")
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [csp.SELF], "script-src": [csp.SELF], "style-src": [csp.SELF, csp.UNSAFE_INLINE],
    "img-src": [csp.SELF, "data:", "blob:", *MEDIA_ORIGINS], "connect-src": [csp.SELF, *MEDIA_ORIGINS],
    "object-src": [csp.NONE], "frame-ancestors": [csp.NONE], "base-uri": [csp.SELF], "form-action": [csp.SELF],
}}
# Browser features no page of the platform uses (django-permissions-policy): refused to every page.
PERMISSIONS_POLICY = {feature: [] for feature in (
    "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "geolocation", "gyroscope", "hid",
    "magnetometer", "microphone", "midi", "payment", "serial", "usb")}
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("DERMRELAY_SSL_REDIRECT", "1") != "0"
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("DERMRELAY_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DERMRELAY_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pyvips": {"level": "WARNING"},
                "axes": {"level": "WARNING"}},
}
