"""Production: every secret comes from the environment and has no default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *
from .base import LOGGING, PRIVATE_STORAGE, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Links in e-mails start with this (https://portal.example.com): never a guess from the request.
SITE_URL = env.str("SITE_URL")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
CACHES = {"default": env.cache("CACHE_URL")}
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL")
CHAIN_ID = env.int("CHAIN_ID")
# The senders' addresses; their keys are read by workers only (tokens/chain/signer.py), never here.
CHAIN_SENDER_ADDRESS = env.str("CHAIN_SENDER_ADDRESS")
CHAIN_SENDERS = {
    role: env.str(f"CHAIN_{role.upper()}_SENDER_ADDRESS", default="") or CHAIN_SENDER_ADDRESS
    for role in ("registry", "agent", "treasury", "attestor")
}
# Nothing is credited, minted against or shown as final before this depth (or the node's finalized tag).
CHAIN_FINALITY = env.str("CHAIN_FINALITY", default="depth")
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=12)
CHAIN_MIN_CONFIRMATIONS = 12  # not from the environment: the floor a deployment cannot lower
if CHAIN_FINALITY not in ("depth", "finalized"):
    raise ImproperlyConfigured("CHAIN_FINALITY must be 'depth' or 'finalized'.")
if CHAIN_FINALITY == "depth" and CHAIN_CONFIRMATIONS < CHAIN_MIN_CONFIRMATIONS:
    raise ImproperlyConfigured(
        f"CHAIN_CONFIRMATIONS={CHAIN_CONFIRMATIONS} is below the production minimum of {CHAIN_MIN_CONFIRMATIONS}; "
        "raise it, or set CHAIN_FINALITY=finalized to use the node's finalized block."
    )
# Personal data at rest is encrypted with these (newest first); production will not start without them.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")

# Metrics only for staff and the scraper's token, whatever the environment says.
METRICS_REQUIRE_AUTH = True
if PRIVATE_STORAGE == "s3" and not env.str("S3_BUCKET", default=""):
    raise ImproperlyConfigured("PRIVATE_STORAGE=s3 needs S3_BUCKET.")

# One JSON object a line, for the log collector; LOG_FORMAT=plain to read them by eye.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
