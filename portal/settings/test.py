"""Test settings: SQLite and the embedded broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from .base import *
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A file, not :memory:, so that worker processes started by tests share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-tessera.sqlite3")}
PRIVATE_MEDIA_ROOT = VAR_DIR / "test-private"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'test-celery-broker.sqlite3'}")
# The test runner empties tables between transactional tests; test_audit installs the guard itself.
AUDIT_APPEND_ONLY_GUARD = False
