"""gunicorn's settings for the portal (Procfile.production's web line), each from the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Threads serve requests that wait on the database; processes use the cores.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# A stopped process finishes the requests it holds first (SIGTERM); longer ones are cut at this many seconds.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Processes are replaced now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The proxy in front that terminates TLS (its X-Forwarded-Proto is trusted, settings.SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
# The portal's own log lines (JSON in production) carry the request id; the access log is the proxy's job too.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss request_id=%({x-request-id}o)s'
# Several gunicorns on one machine would share one control socket; signals do what it offers (TERM, HUP, TTIN).
control_socket_disable = True
