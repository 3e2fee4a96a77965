"""Production settings for bench.load on loopback: no proxy terminates TLS here, so nothing insists on HTTPS.

Everything else is production's: PostgreSQL, Redis as broker and cache, JSON logs, DEBUG off, the same middleware.
"""

from portal.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
