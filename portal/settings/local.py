"""The embedded defaults used by `make demo`: SQLite, SQLite broker, local anvil, console e-mail."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-secret-key-not-for-production")
# Local development only: a fixed key so the demo's encrypted fields survive restarts.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "Jb4nRZg0wkH1W4vQ3gI4tq3Z2W7p9v5sXk3yq8m1cYI=")

from .base import *
from .base import ANVIL_DEV_ADDRESS, ANVIL_DEV_KEY, ANVIL_DEV_POOL, CHAIN_SENDERS, STORAGES, env

# The demo runs as production does: the portal's own error pages, never a traceback or the URL list.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Without DEBUG, WhiteNoise serves static/ and the vendored packages straight from their folders
# (no collectstatic step for the demo).
WHITENOISE_USE_FINDERS = True
# One key for every role on a local chain: anvil's first account (its address and published key).
CHAIN_SENDERS = {role: address or ANVIL_DEV_ADDRESS for role, address in CHAIN_SENDERS.items()}
CHAIN_DEV_SIGNER_KEY = ANVIL_DEV_KEY
# An agent pool on a local chain (CHAIN_AGENT_POOL_ADDRESSES) may use anvil's accounts 10 to 15.
CHAIN_DEV_POOL_SIGNER_KEYS = list(ANVIL_DEV_POOL.values())
# Local HTTP on localhost: WebAuthn needs this to accept the non-HTTPS origin.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}
# The demo's anvil starts empty the first time: a worker deploys the registry when it starts.
CHAIN_BOOTSTRAP_ON_WORKER_START = True
