"""Test settings: SQLite and the embedded broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
# A fixed key for tests only; its successor in the list exercises decryption with an older key.
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS", "90jYYWFCDDT_B8Q9Dv-7RwvGzn21_rl793gBopu4DCc=,NzhB-NkcEknslufHuTAsSGe2L-roVeO5SSQ8WNN3wz4="
)
os.environ.setdefault("KYC_VENDOR_WEBHOOK_SECRET", "test-vendor-webhook-secret")
os.environ.setdefault("KYC_VENDOR_API_URL", "https://kyc-vendor.invalid/v1")
os.environ.setdefault("SANCTIONS_LIST_URL", "")

from .base import *
from .base import (
    ANVIL_DEV_ADDRESS,
    ANVIL_DEV_KEY,
    ANVIL_DEV_POOL,
    CACHES,
    CHAIN_SENDERS,
    DATABASES,
    PRIVATE_STORAGE,
    PRIVATE_STORAGE_BACKENDS,
    REST_FRAMEWORK,
    VAR_DIR,
    env,
)

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": PRIVATE_STORAGE_BACKENDS[PRIVATE_STORAGE],
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One name per test run, so two runs on one machine never share a database or a broker queue. The processes a
# run starts (pytest-xdist's workers, the Celery workers of the worker tests) inherit it from the environment.
os.environ.setdefault("TESSERA_TEST_RUN_ID", str(os.getpid()))
TEST_RUN_ID = env.str("TESSERA_TEST_RUN_ID")
# Each pytest-xdist worker ("gw0", "gw1", ...) has its own database (pytest-django adds the suffix), broker
# queues and cache keys; the Celery workers a test starts inherit the name and so share its queues.
TEST_WORKER = f"{TEST_RUN_ID}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
# A file, not :memory:, so that worker processes started by tests share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-tessera-{TEST_RUN_ID}.sqlite3")}
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-private"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / f'test-celery-broker-{TEST_WORKER}.sqlite3'}"
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # One Redis database for every run and worker: each keeps its queues under its own prefix.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"test-{TEST_WORKER}:"}
# Two runs (or two xdist workers) sharing one Redis cache keep their own counts (API throttling).
CACHES["default"]["KEY_PREFIX"] = f"test-{TEST_WORKER}"
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # ... and a test that empties the cache empties only its own keys, not those of the workers beside it.
    CACHES["default"]["BACKEND"] = "core.cache.PrefixedRedisCache"
# Tests walk whole registers through the API; the throttling tests set a small rate themselves.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"registry": "100000/minute", "transparency": "100000/minute"},
}
# The test runner empties tables between transactional tests; the guards tests install them themselves.
AUDIT_APPEND_ONLY_GUARD = False

# One key for every role on a local chain: anvil's first account (its address and published key).
CHAIN_SENDERS = {role: address or ANVIL_DEV_ADDRESS for role, address in CHAIN_SENDERS.items()}
CHAIN_DEV_SIGNER_KEY = ANVIL_DEV_KEY
# An agent pool on a local chain (CHAIN_AGENT_POOL_ADDRESSES) may use anvil's accounts 10 to 15.
CHAIN_DEV_POOL_SIGNER_KEYS = list(ANVIL_DEV_POOL.values())
# Crash tests arm named points where a worker kills itself (tokens/chain/failpoints.py).
CHAIN_FAILPOINTS = tuple(filter(None, env.str("CHAIN_FAILPOINTS", default="").split(",")))
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=1)
