"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("TESSERA_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "core.admin_apps.TesseraAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "django_countries",
    "core",
    "investors",
    "compliance",
    "offerings",
    "tokens",
    "registry",
    "distributions",
    "governance",
    "backing",
    "redemptions",
    "transfers",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.PrivilegedIdleTimeoutMiddleware",
    "core.middleware.PrivilegedEnrolmentGuardMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "core.context_processors.navigation",
            ],
            # Money, quantities, dates, transaction hashes and addresses are written one way on every page.
            "builtins": ["core.templatetags.formatting", "tokens.templatetags.chain_refs"],
        },
    },
]

# Every form draws through the site's templates: one field template, Bootstrap classes from core.forms.
FORM_RENDERER = "core.forms.PortalFormRenderer"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: write-ahead log, wait for the lock, take it up front.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Private files (identity documents, agreements, attestations, exports, bank files) go through the "private"
# storage (core/storage.py): a directory outside any public root by default (one machine, or a volume every
# process mounts), or PRIVATE_STORAGE=s3 for an S3-compatible bucket that processes on any machine share.
PRIVATE_MEDIA_ROOT = Path(env.str("TESSERA_PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
PRIVATE_STORAGE = env.str("PRIVATE_STORAGE", default="local")
PRIVATE_STORAGE_BACKENDS: dict[str, dict[str, Any]] = {
    "local": {"BACKEND": "core.storage.PrivateFileSystemStorage"},
    "s3": {
        "BACKEND": "core.storage_s3.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET", default=""),
            "location": env.str("S3_PREFIX", default="private"),
            # Any S3-compatible service (MinIO, Ceph, R2...): its URL; empty for AWS itself.
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            # Empty: boto3 finds credentials itself (instance role, AWS_* variables, ~/.aws).
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "object_parameters": {"ServerSideEncryption": env.str("S3_SERVER_SIDE_ENCRYPTION", default="AES256")},
        },
    },
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": PRIVATE_STORAGE_BACKENDS[PRIVATE_STORAGE],
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://tessera")}

# --- django-allauth: e-mail login, mandatory verification, MFA -------------------------
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Tessera] "
# allauth's defaults already limit logins; stated here so they are never switched off by accident.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Tessera"
# A code of the time step before or after the server's is taken too (RFC 6238 §5.2: a code typed at the end of
# its 30 seconds arrives in the next); a code is still accepted once only.
MFA_TOTP_TOLERANCE = 1
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", default=False)

# The portal's own name (e-mail greetings and subjects) and the address links in e-mails start with.
PORTAL_NAME = env.str("PORTAL_NAME", default="Tessera")
SITE_URL = env.str("SITE_URL", default=env.str("DEMO_URL", default="http://127.0.0.1:8000"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tessera <no-reply@tessera.local>")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Per user and scope, in the default cache (set CACHE_URL to Redis when several processes serve).
    "DEFAULT_THROTTLE_RATES": {
        "registry": env.str("REGISTRY_API_RATE", default="120/minute"),
        # The public transparency report, per client address (no sign-in).
        "transparency": env.str("TRANSPARENCY_API_RATE", default="60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Security-token offerings: investors, offerings, cap table and transfer-agent records.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No call to the public validator: the page loads nothing from outside the portal (Content-Security-Policy).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"EligibilityReasonCode": "compliance.eligibility.ReasonCode"},
}

# --- Celery -----------------------------------------------------------------------------
# Embedded default: a SQLite broker through kombu's SQLAlchemy transport (no server needed).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues by kind of work, so a long export or a list download never holds up signing or indexing; each can
# have its own workers (Procfile.production). A task not routed here goes to the default queue, "celery".
CELERY_TASK_DEFAULT_QUEUE = "celery"
TASK_QUEUES = ("celery", "chain", "indexing", "exports", "screening", "notifications")
CELERY_TASK_ROUTES = {
    # Chain signing: one sender's nonces are assigned under its row lock, whichever worker takes the task.
    "tokens.tasks.outbox_flush_task": {"queue": "chain"},
    "tokens.tasks.outbox_watch_task": {"queue": "chain"},
    "tokens.tasks.chain_bootstrap_task": {"queue": "chain"},
    # Indexing: events to the holdings ledger, and the reconciliation that compares them.
    "tokens.tasks.chain_index_task": {"queue": "indexing"},
    "registry.tasks.ledger_sync_task": {"queue": "indexing"},
    "registry.tasks.reconcile_task": {"queue": "indexing"},
    # Exports: register files and reports, minutes long for a large register.
    "registry.tasks.export_job_run_task": {"queue": "exports"},
    "registry.tasks.difference_reports_task": {"queue": "exports"},
    "registry.tasks.position_snapshot_build_task": {"queue": "exports"},
    # Screening: the OFAC list download, re-screening every investor against it, the KYC vendor.
    "compliance.tasks.sanctions_list_refresh": {"queue": "screening"},
    "compliance.tasks.sanctions_rescreen_task": {"queue": "screening"},
    "compliance.tasks.kyc_check_send_task": {"queue": "screening"},
    # E-mails of notifications: a distribution paid to 10,000 holders is 10,000 e-mails, which must not hold up
    # the payment runs and closings on the default queue (a worker taking both takes from each in turn).
    "core.tasks.notification_email_task": {"queue": "notifications"},
    "core.tasks.notification_event_email_task": {"queue": "notifications"},
    "core.tasks.notification_events_email_task": {"queue": "notifications"},
    "core.tasks.notifications_sweep_task": {"queue": "notifications"},
}
# Workers log through settings.LOGGING (portal/celery.py), so their lines carry the request id too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "worker-heartbeat": {"task": "core.tasks.worker_heartbeat", "schedule": 60.0},
    # E-mails of notifications that no task sent (broker down at the time, mail server failing).
    "notifications-sweep": {"task": "core.tasks.notifications_sweep_task", "schedule": 300.0},
    # OFAC publishes list changes without a fixed calendar; an unchanged list costs one download.
    "sanctions-list-refresh": {"task": "compliance.tasks.sanctions_list_refresh", "schedule": 6 * 3600.0},
    "verification-expiry": {"task": "compliance.tasks.verifications_expire", "schedule": 3600.0},
    # Ballots: the voting power once the record date has passed, the count once voting has closed.
    "ballots-due": {"task": "governance.tasks.ballots_due_advance", "schedule": 300.0},
}

# --- Chain ------------------------------------------------------------------------------
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", default="http://127.0.0.1:8545")
CHAIN_ID = env.int("CHAIN_ID", default=31337)
# What the portal treats as final (credited, minted against, shown as done): a block this many deep
# ("depth"), or at or below the node's `finalized` block tag ("finalized", proof-of-stake chains).
CHAIN_FINALITY = env.str("CHAIN_FINALITY", default="depth")
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=1)

# --- Investor onboarding and compliance ---------------------------------------------------
# Fernet keys for PII at rest (core/fields.py), comma-separated, newest first; older keys only decrypt.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
IDENTITY_UPLOAD_MAX_BYTES = env.int("IDENTITY_UPLOAD_MAX_BYTES", default=8 * 1024 * 1024)
# Pixels an uploaded image may have (a 48-megapixel phone photo passes); more is refused before decoding.
UPLOAD_IMAGE_MAX_PIXELS = env.int("UPLOAD_IMAGE_MAX_PIXELS", default=50_000_000)
# KYC providers (compliance/kyc/): the classes the portal knows, and the one new checks start with.
KYC_PROVIDERS = [
    "compliance.kyc.manual.ManualReviewProvider",
    "compliance.kyc.vendor.SignedWebhookVendorProvider",
]
KYC_PROVIDER = env.str("KYC_PROVIDER", default="manual")
KYC_VENDOR_API_URL = env.str("KYC_VENDOR_API_URL", default="")
KYC_VENDOR_API_KEY = env.str("KYC_VENDOR_API_KEY", default="")
KYC_VENDOR_WEBHOOK_SECRET = env.str("KYC_VENDOR_WEBHOOK_SECRET", default="")
KYC_VENDOR_WEBHOOK_TOLERANCE_SECONDS = 300
# Customers must be adults to sign a subscription agreement (age of majority in most US states).
INVESTOR_MINIMUM_AGE_YEARS = 18
# How long decisions hold before the investor must be verified again.
KYC_VALIDITY_DAYS = env.int("KYC_VALIDITY_DAYS", default=730)
ACCREDITATION_VALIDITY_DAYS = env.int("ACCREDITATION_VALIDITY_DAYS", default=90)
# Rule 501(a) figures in USD cents; the SEC adjusts them, so they are data, not code.
ACCREDITATION_THRESHOLDS_CENTS = {
    "income": 200_000_00,  # 501(a)(6): > $200,000 in each of the last two years
    "joint_income": 300_000_00,  # 501(a)(6): > $300,000 with a spouse or spousal equivalent
    "net_worth": 1_000_000_00,  # 501(a)(5): > $1,000,000 excluding the primary residence
    "entity_assets": 5_000_000_00,  # 501(a)(3), (7), (9), (12): > $5,000,000
}
# 506(c)(2)(ii): asset statements, credit reports and third-party letters dated within three months.
ACCREDITATION_EVIDENCE_MAX_AGE_DAYS = 90
# Sign-In with Ethereum (EIP-4361): how long a challenge may be answered.
SIWE_NONCE_TTL_SECONDS = env.int("SIWE_NONCE_TTL_SECONDS", default=600)
# OFAC SDN list in its CSV form: a base URL (or directory) that holds SDN.CSV, ALT.CSV and ADD.CSV.
SANCTIONS_LIST_URL = env.str("SANCTIONS_LIST_URL", default="https://www.treasury.gov/ofac/downloads/")
SANCTIONS_MATCH_THRESHOLD = env.int("SANCTIONS_MATCH_THRESHOLD", default=88)

# --- Security headers (tightened further in production.py) -------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Sessions of issuer, compliance, transfer-agent, platform-compliance and staff accounts end after
# this long without a request.
PRIVILEGED_IDLE_TIMEOUT_SECONDS = env.int("PRIVILEGED_IDLE_TIMEOUT_SECONDS", default=30 * 60)
# How long an invitation link (a role, or a second factor after a reset) can be used.
INVITATION_VALIDITY_DAYS = env.int("INVITATION_VALIDITY_DAYS", default=7)
CSRF_COOKIE_HTTPONLY = False
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Logs name the request (or task) they belong to. LOG_FORMAT=json writes one JSON object a line (production's
# default, for a log collector); "plain" one readable line (local runs and tests).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# /metrics/ (portal/metrics.py) for Prometheus: staff, or a scraper sending METRICS_TOKEN as a bearer token.
# Production refuses everyone else whatever this says; elsewhere METRICS_REQUIRE_AUTH=false opens it.
METRICS_REQUIRE_AUTH = env.bool("METRICS_REQUIRE_AUTH", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Errors to Sentry (portal/error_reporting.py) when SENTRY_DSN is set, without personal data.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from portal.error_reporting import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# The database refuses UPDATE/DELETE on the audit chain and the payment ledger (see core/db_guards.py).
AUDIT_APPEND_ONLY_GUARD = True

# --- Chain signer and outbox -------------------------------------------------------------
# The signer class can be swapped for a remote signer / KMS with the same interface.
CHAIN_SIGNER_CLASS = env.str("CHAIN_SIGNER_CLASS", default="tokens.chain.signer.LocalKeySigner")
# Web processes know only the senders' addresses. The private keys are environment variables
# (CHAIN_SIGNER_KEY, or CHAIN_<ROLE>_SIGNER_KEY per role) that only tokens/chain/signer.py reads,
# and only in a worker, when it signs; they never become settings.
# Each role is its own nonce stream; a role without its own address uses CHAIN_SENDER_ADDRESS.
CHAIN_SENDER_ADDRESS = env.str("CHAIN_SENDER_ADDRESS", default="")
CHAIN_SENDERS = {
    role: env.str(f"CHAIN_{role.upper()}_SENDER_ADDRESS", default="") or CHAIN_SENDER_ADDRESS
    # registry administration, token agent, stablecoin treasury, reserve attestations (tokens/reserve_feed.py)
    for role in ("registry", "agent", "treasury", "attestor")
}
# The agent pool: more senders of agent calls (mints, transfers, registrations), each holding the agent role of
# every token and of the registry (queued at deploy; `manage.py chain_agent_pool` for contracts deployed before)
# and each its own nonce stream and lock, so independent effects are signed in parallel and one stalled sender
# holds up only its own. Their keys are CHAIN_AGENT_POOL_SIGNER_KEYS (comma-separated), read by workers only.
CHAIN_AGENT_POOL = env.list("CHAIN_AGENT_POOL_ADDRESSES", default=[])
# Local chains only: the published key that signs when no key variable is set (none in production).
CHAIN_DEV_SIGNER_KEY = ""
CHAIN_DEV_POOL_SIGNER_KEYS: list[str] = []
# anvil's first development account: published in anvil's own output, funded only on local chains.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
# anvil's development accounts 10 to 15 (its published mnemonic), for an agent pool on a local chain.
ANVIL_DEV_POOL = {
    "0xBcd4042DE499D14e55001CcbB24a551F3b954096": "0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897",
    "0x71bE63f3384f5fb98995898A86B02Fb2426c5788": "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82",
    "0xFABB0ac9d68B0B445fB7357272Ff202C5651694a": "0xa267530f49f8280200edf313ee7af6b827f2a8bce2897751d06a843f644967b1",
    "0x1CBd3b2770909D4e10f157cABC84C7264073C9Ec": "0x47c99abed3324a2707c28affff1267e45918ec8c3f20b8aa892e8b065d2942dd",
    "0xdF3e18d64BC6A983f673Ab319CCaE4f1a57C7097": "0xc526ee95bf44d8fc405a158bb884d9d1238d99f0612e9f33d006bb0789009aaa",
    "0xcd3B766CCDd6AE721141F452C550Ca635964ce71": "0x8166f546bab6da521a8369cab06c5d2b9e46670292d85c875ee9ec20e84ffb61",
}
# /health/ and the staff chain page turn red when a sender's oldest unconfirmed nonce is older.
CHAIN_NONCE_STALL_SECONDS = env.int("CHAIN_NONCE_STALL_SECONDS", default=600)
# A transaction sent but not mined after this long is sent again with the same nonce and a higher fee.
CHAIN_REPLACE_UNMINED_AFTER_SECONDS = env.int("CHAIN_REPLACE_UNMINED_AFTER_SECONDS", default=120)
CHAIN_FALLBACK_GAS_LIMIT = env.int("CHAIN_FALLBACK_GAS_LIMIT", default=8_000_000)
# Block explorers per chain id: where transaction hashes and addresses link. A chain without one (a local
# anvil) links to the portal's own pages, which read the transaction from the node. CHAIN_EXPLORER_TX_URL and
# CHAIN_EXPLORER_ADDRESS_URL, when set, replace the entry of CHAIN_ID.
CHAIN_EXPLORERS = {
    1: {"tx": "https://etherscan.io/tx/{hash}", "address": "https://etherscan.io/address/{address}"},
    11155111: {
        "tx": "https://sepolia.etherscan.io/tx/{hash}",
        "address": "https://sepolia.etherscan.io/address/{address}",
    },
    137: {"tx": "https://polygonscan.com/tx/{hash}", "address": "https://polygonscan.com/address/{address}"},
    8453: {"tx": "https://basescan.org/tx/{hash}", "address": "https://basescan.org/address/{address}"},
    42161: {"tx": "https://arbiscan.io/tx/{hash}", "address": "https://arbiscan.io/address/{address}"},
    10: {
        "tx": "https://optimistic.etherscan.io/tx/{hash}",
        "address": "https://optimistic.etherscan.io/address/{address}",
    },
}
CHAIN_EXPLORER_TX_URL = env.str("CHAIN_EXPLORER_TX_URL", default="")  # e.g. https://etherscan.io/tx/{hash}
CHAIN_EXPLORER_ADDRESS_URL = env.str("CHAIN_EXPLORER_ADDRESS_URL", default="")  # …/address/{address}
CHAIN_WATCH_SECONDS = env.float("CHAIN_WATCH_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE["chain-outbox-watch"] = {"task": "tokens.tasks.outbox_watch_task", "schedule": CHAIN_WATCH_SECONDS}
CELERY_BEAT_SCHEDULE["chain-index"] = {"task": "tokens.tasks.chain_index_task", "schedule": CHAIN_WATCH_SECONDS}

# --- Offerings, subscriptions and payments ------------------------------------------------
# Exemption figures (compliance/exemptions.py). USD cents, basis points and days; the SEC adjusts
# several for inflation, so operators update them here, never in code.
EXEMPTION_FIGURES = {
    "reg_cf_limit_threshold_cents": 124_000_00,  # Reg CF 227.100(a)(2): income or net worth below $124,000
    "reg_cf_limit_floor_cents": 2_500_00,  # 227.100(a)(2)(i): the greater of $2,500 ...
    "reg_cf_limit_low_bps": 500,  # ... or 5% of the greater of income and net worth
    "reg_cf_limit_high_bps": 1000,  # 227.100(a)(2)(ii): 10% when both are at least the threshold
    "reg_cf_limit_cap_cents": 124_000_00,  # ... capped at $124,000
    "reg_cf_issuer_cap_cents": 5_000_000_00,  # 227.100(a)(1): $5M per 12 months
    "reg_cf_min_open_days": 21,  # 227.303(a)
    "reg_cf_cancel_hours": 48,  # 227.304(a)
    "reg_cf_reconfirm_business_days": 5,  # 227.304(c)
    "reg_a_tier2_limit_bps": 1000,  # 230.251(d)(2)(i)(C): 10% of the greater of income and net worth
    "reg_a_tier2_issuer_cap_cents": 75_000_000_00,  # 230.251(a)(2)
    "rule_506b_max_non_accredited": 35,  # 230.506(b)(2)(i)
    "rule_506b_window_days": 90,  # 230.502(a) integration: 35 across 506(b) offerings within 90 days
    # Resale restrictions enforced on-chain: Rule 144(d) one year (non-reporting issuer), Reg CF 227.501
    # one year, Reg S 903 distribution compliance period (40 days, category 2), Reg A not restricted.
    "lockup_days": {"reg_d_506b": 365, "reg_d_506c": 365, "reg_s": 40, "reg_cf": 365, "reg_a_tier2": 0},
    # Rule 144(d)(1)(ii): restricted securities of an issuer that does not report are held one year from the sale
    # by the issuer before resale under Rule 144 (six months, 144(d)(1)(i), once it has reported for 90 days).
    "rule_144_holding_days": 365,
}
# Payment providers the portal knows, in the order investors see them (offerings/payments/).
PAYMENT_PROVIDERS = env.list(
    "PAYMENT_PROVIDERS",
    default=[
        "offerings.payments.wire.WireTransferProvider",
        "offerings.payments.stripe.StripeCheckoutProvider",
        "offerings.payments.stablecoin.StablecoinProvider",
    ],
)
# Stripe Checkout: enabled only when a secret key and a webhook signing secret are set.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
STRIPE_PAYMENT_METHOD_TYPES = env.list("STRIPE_PAYMENT_METHOD_TYPES", default=["card", "us_bank_account"])
# Where investors send wires (the escrow account that holds subscription money until closing).
WIRE_BANK_DETAILS = {
    "beneficiary": env.str("WIRE_BENEFICIARY", default="Tessera Escrow Services (demo account)"),
    "bank_name": env.str("WIRE_BANK_NAME", default="Demo Bank, N.A."),
    "bank_address": env.str("WIRE_BANK_ADDRESS", default="1 Demo Plaza, New York, NY 10004"),
    "account_number": env.str("WIRE_ACCOUNT_NUMBER", default="000123456789"),
    "routing_number": env.str("WIRE_ROUTING_NUMBER", default="021000021"),
    "swift": env.str("WIRE_SWIFT", default="DEMOUS33"),
}
# Business days skip weekends and this country's public holidays (core/business_days.py; US: federal).
BUSINESS_DAY_HOLIDAYS = env.str("BUSINESS_DAY_HOLIDAYS", default="US")
# A new offering's time to pay a reservation, in business days; the issuer may set another per offering.
SUBSCRIPTION_PAYMENT_DUE_BUSINESS_DAYS = env.int("SUBSCRIPTION_PAYMENT_DUE_BUSINESS_DAYS", default=5)
# How far in the past an offering's opening may lie when it is published (the minute the issuer typed);
# an opening in that window becomes the moment of publication, an older one is refused.
OFFERING_PUBLISH_OPENS_AT_MAX_AGE_SECONDS = env.int("OFFERING_PUBLISH_OPENS_AT_MAX_AGE_SECONDS", default=600)
# Closing mints to at most this many holders per chain transaction (never more than 100).
CLOSING_MINT_MAX_HOLDERS = env.int("CLOSING_MINT_MAX_HOLDERS", default=100)
CELERY_BEAT_SCHEDULE["offerings-closing-advance"] = {
    "task": "offerings.tasks.closings_advance_task",
    "schedule": CHAIN_WATCH_SECONDS,
}
CELERY_BEAT_SCHEDULE["offerings-scheduled"] = {"task": "offerings.tasks.offerings_scheduled_task", "schedule": 300.0}
# Stablecoin payments arrive here; empty means the portal signer's own address (it can refund).
STABLECOIN_RECEIVING_ADDRESS = env.str("STABLECOIN_RECEIVING_ADDRESS", default="")
STABLECOIN_DECIMALS = env.int("STABLECOIN_DECIMALS", default=6)
# Distribution lines paid per payout transaction (tokens/payout.py). A line costs 13.3k gas to a wallet that
# holds the coin and 30.4k to one that never did (python -m bench.payout_gas), so 200 lines stay under
# 8M gas, a quarter of a 30M block, whoever the payees are.
PAYOUT_BATCH_MAX_LINES = env.int("PAYOUT_BATCH_MAX_LINES", default=200)
# Redemption lines burned per burner transaction (tokens/redemption.py): a line releases its frozen units and
# burns them, two token calls (python -m bench.redemption reports the gas per line).
REDEMPTION_BURN_BATCH_MAX_LINES = env.int("REDEMPTION_BURN_BATCH_MAX_LINES", default=100)
# Redemption requests frozen per burner transaction: one partial freeze each (bench.redemption reports the gas).
REDEMPTION_FREEZE_BATCH_MAX_LINES = env.int("REDEMPTION_FREEZE_BATCH_MAX_LINES", default=200)
# How long a request waits for others to share its freeze batch (seconds): the holder sees it frozen that much later.
REDEMPTION_FREEZE_GATHER_SECONDS = env.float("REDEMPTION_FREEZE_GATHER_SECONDS", default=1.0)
# A distribution's record date must be this far ahead when declared: the outbox tells the token before it passes.
DISTRIBUTION_RECORD_DATE_LEAD_SECONDS = env.int("DISTRIBUTION_RECORD_DATE_LEAD_SECONDS", default=300)
# Bank-file distributions: a payment run written once a day from the payment date (distributions/tasks.py).
CELERY_BEAT_SCHEDULE["distributions-bank-runs"] = {
    "task": "distributions.tasks.bank_payment_runs_task",
    "schedule": 900.0,
}
# Distributions: registers computed once their record date is read, payments sent from the payment date on
# and followed until every line is paid (distributions/tasks.py).
CELERY_BEAT_SCHEDULE["distributions-advance"] = {
    "task": "distributions.tasks.distributions_advance_task",
    "schedule": CHAIN_WATCH_SECONDS,
}
# Redemptions: requests followed on-chain, dealing days cut off and priced when due, approved ones burned and
# paid until settled (redemptions/tasks.py).
CELERY_BEAT_SCHEDULE["redemptions-advance"] = {
    "task": "redemptions.tasks.redemptions_advance_task",
    "schedule": CHAIN_WATCH_SECONDS,
}
CELERY_BEAT_SCHEDULE["stablecoin-receipts-match"] = {
    "task": "offerings.tasks.stablecoin_receipts_match_task",
    "schedule": CHAIN_WATCH_SECONDS,
}
# Refunds handed to a provider are booked when it reports them succeeded (a confirmed transfer).
CELERY_BEAT_SCHEDULE["refunds-pending-settle"] = {
    "task": "offerings.tasks.refunds_pending_settle_task",
    "schedule": CHAIN_WATCH_SECONDS,
}

# The holdings ledger posts indexed token events; reconciliation compares control book, supply and ledger.
CELERY_BEAT_SCHEDULE["registry-ledger-sync"] = {
    "task": "registry.tasks.ledger_sync_task",
    "schedule": CHAIN_WATCH_SECONDS,
}
RECONCILIATION_SECONDS = env.float("RECONCILIATION_SECONDS", default=3600.0)
CELERY_BEAT_SCHEDULE["registry-reconcile"] = {
    "task": "registry.tasks.reconcile_task",
    "schedule": RECONCILIATION_SECONDS,
}
# 17Ad-11: last month's report of aged record differences, per issuer; the first three days of a month, so a
# beat that was down on the 1st still builds it (each issuer and month is built once).
CELERY_BEAT_SCHEDULE["registry-difference-reports"] = {
    "task": "registry.tasks.difference_reports_task",
    "schedule": crontab(minute=30, hour=1, day_of_month="1-3"),
}
# 17Ad-10(f): holder data replaced or deleted is kept six years, then purged once a day.
HOLDER_RECORD_RETENTION_YEARS = 6
CELERY_BEAT_SCHEDULE["investors-holder-records-purge"] = {
    "task": "investors.tasks.holder_records_purge_task",
    "schedule": crontab(minute=45, hour=2),
}
# Panels other apps add to an offering's dashboard: dotted paths to `panel(offering) -> (template, context)`.
# The dashboard lives in offerings, which cannot import the apps above it; they plug in here.
OFFERING_DASHBOARD_PANELS = [
    "registry.panels.record_differences_panel",
    "distributions.panels.distributions_panel",
    "governance.panels.ballots_panel",
    "transfers.panels.requests_panel",
    "backing.panels.backing_panel",
    "redemptions.panels.redemptions_panel",
]

# Sections apps above offerings add to an offering's public page: dotted paths to `section(offering)` returning
# (template, context) or None. The page is public: a section shows public facts only.
OFFERING_PAGE_SECTIONS = ["backing.panels.offering_page_section"]
# Who prices the offerings not sold at a fixed price (offerings/pricing.py): backing prices at NAV, forward.
SUBSCRIPTION_PRICER = "backing.pricing.NavPricer"

# Panels of each person's home (core/home.py): dotted paths to `panel(user) -> list[dict]`, from the apps
# that know the work; the home orders them by role.
HOME_PANELS = [
    "offerings.panels.issuer_home_panels",
    "compliance.panels.review_home_panels",
    "registry.panels.registers_home_panels",
    "compliance.panels.identity_home_panels",
    "core.home.staff_panel",
    "investors.panels.onboarding_home_panel",
]

# Register exports, in the order the exports page lists them (registry/exporters/).
REGISTRY_EXPORTERS = env.list(
    "REGISTRY_EXPORTERS",
    default=[
        "registry.exporters.master_file.MasterFileExporter",
        "registry.exporters.journal.JournalExporter",
        "registry.exporters.control_book.ControlBookExporter",
        "registry.exporters.record_differences.RecordDifferencesExporter",
        "registry.exporters.ocf.OcfCapTableExporter",
        "distributions.exporters.register.DistributionRegisterExporter",
        "distributions.exporters.irs_forms.Form1099DivExporter",
        "distributions.exporters.irs_forms.Form1099IntExporter",
        "distributions.exporters.irs_forms.Form1042SExporter",
        "governance.exporters.result.BallotResultExporter",
    ],
)
# Tabs apps above the registry add to a token's register pages: (tab, label, URL name taking slug and offering id).
REGISTRY_RECORD_TABS = [("distributions", "Distributions", "registry_distributions")]
# Sections apps above the registry add to the investor's portfolio: dotted paths to `section(investor)`.
PORTFOLIO_SECTIONS = [
    "distributions.statements.portfolio_section",
    "distributions.panels.reinvestment_section",
    "governance.votes.portfolio_section",
    "redemptions.panels.portfolio_section",
    "backing.panels.portfolio_nav_section",
    "transfers.views.portfolio_section",
]
# Apps whose holders sign transactions in their own wallets on the portal's instruction: dotted paths to
# `hashes -> the hashes they instructed`, so the ledger marks those as made through the portal.
LEDGER_PORTAL_SIGNED = ["transfers.selectors.portal_signed_hashes"]
# Transfers (transfers/): a custodial transfer is signed only this soon after the holder's two-factor check.
TRANSFER_STEP_UP_SECONDS = env.int("TRANSFER_STEP_UP_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["transfers-advance"] = {
    "task": "transfers.tasks.transfers_advance_task",
    "schedule": CHAIN_WATCH_SECONDS * 2,
}
# 26 USC 6042(a) and 6049(a), Instructions for Forms 1099-DIV and 1099-INT: a form is filed for $10 or more
# in the year, or whenever tax was withheld. Minor units of USD; kept here so the figure changes in one place.
FORM_1099_DIV_MIN_MINOR = env.int("FORM_1099_DIV_MIN_MINOR", default=10_00)
FORM_1099_INT_MIN_MINOR = env.int("FORM_1099_INT_MIN_MINOR", default=10_00)
# Export files name holders: they are deleted this long after they were made.
REGISTRY_EXPORT_RETENTION_HOURS = env.int("REGISTRY_EXPORT_RETENTION_HOURS", default=72)
# A job still queued or running after this long is shown as failed (its worker is gone).
REGISTRY_EXPORT_STALE_HOURS = env.int("REGISTRY_EXPORT_STALE_HOURS", default=6)
CELERY_BEAT_SCHEDULE["registry-exports-expire"] = {"task": "registry.tasks.exports_expired_task", "schedule": 3600.0}
# Exchange Act 12(g)(1) and Rule 12g-1: an issuer with total assets over $10M whose class is held of record
# by 2,000 persons, or by 500 persons who are not accredited investors, must register the class. The cap
# table warns once a count reaches `warning_bps` of its threshold. Figures as data: the SEC may change them.
# The cap table's charts and 12(g) counts are computed again after any ledger change, and at least this
# often (a holder's country or accreditation changes outside the ledger).
CAP_TABLE_CENSUS_SECONDS = env.int("CAP_TABLE_CENSUS_SECONDS", default=60)
# As of a past date, a token with at most this many holders is summed in the request; a larger one's positions
# at that moment are derived by a worker into a snapshot (seconds at 100,000 holders) while the page waits.
CAP_TABLE_AS_OF_INLINE_HOLDERS = env.int("CAP_TABLE_AS_OF_INLINE_HOLDERS", default=5_000)
HOLDER_COUNT_FIGURES = {
    "total_assets_cents": 10_000_000_00,
    "holders_of_record": 2_000,
    "non_accredited_holders": 500,
    "warning_bps": 8_000,
}

# Backing (backing/): attestation documents are PDFs of at most this size; the daily check compares each
# guarded token's supply with its latest approved attestation and alerts the issuer's admins when one begins
# to fall short or go stale.
RESERVE_DOCUMENT_MAX_BYTES = env.int("RESERVE_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
# The public transparency report is built at most this often per token (the page and its JSON share it).
TRANSPARENCY_CACHE_SECONDS = env.int("TRANSPARENCY_CACHE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["backing-daily-check"] = {
    "task": "backing.tasks.backing_checks_task",
    "schedule": crontab(minute=15, hour=6),
}
# Each token with a backing rule gets its on-chain reserve feed and reserve-guarded minter, a step per sweep.
CELERY_BEAT_SCHEDULE["backing-reserve-guards"] = {
    "task": "backing.tasks.reserve_guards_sync_task",
    "schedule": CHAIN_WATCH_SECONDS * 2,
}
# Each token's NAV oracle (an AggregatorV3 feed on the chain) is read this often; its new rounds become NAV points.
NAV_ORACLE_READ_SECONDS = env.float("NAV_ORACLE_READ_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["backing-nav-oracles"] = {
    "task": "backing.tasks.nav_oracles_read_task",
    "schedule": NAV_ORACLE_READ_SECONDS,
}

# A tick of the beat that no worker has started within BEAT_TICK_EXPIRY_SECONDS (or its own interval, if longer)
# is dropped: the ticks sent since stand in for it. Periodic passes (the outbox watch, the indexer, payment runs)
# take longer than their period when there is much to do (thousands of events to index), and a worker may be down
# for a while; without an expiry their ticks would pile up and keep every worker busy afterwards with passes that
# find nothing new. Not the interval itself: a tick waiting a few seconds behind other work must still run, or a
# busy queue would drop every one. (`expire_seconds` is the DatabaseScheduler's spelling.)
BEAT_TICK_EXPIRY_SECONDS = env.float("BEAT_TICK_EXPIRY_SECONDS", default=120.0)
for _entry in CELERY_BEAT_SCHEDULE.values():
    _every = _entry["schedule"]
    if isinstance(_every, int | float):
        _expiry = max(float(_every), BEAT_TICK_EXPIRY_SECONDS)
        _entry["options"] = {"expire_seconds": _expiry, **_entry.get("options", {})}
