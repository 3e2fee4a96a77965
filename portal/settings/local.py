"""The embedded defaults used by `make demo`: SQLite, SQLite broker, local anvil, console e-mail."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-secret-key-not-for-production")

from .base import *
from .base import STORAGES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Local HTTP on localhost: WebAuthn needs this to accept the non-HTTPS origin.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}
