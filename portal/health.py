"""/health/: database, broker, chain, worker reachability and the senders' nonce streams as JSON.

503 when the database or the broker cannot be reached (the portal cannot take work);
200 with status "degraded" when only the chain or the workers are behind, or a sender's oldest
unconfirmed nonce is older than CHAIN_NONCE_STALL_SECONDS or a sender waits for funds or a key.
Anyone sees each component's status and the kind of failure; only staff see the failure's text
(it can name hosts, ports and credentials in URLs).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from kombu import Connection

from core.models import WorkerHeartbeat
from tokens.selectors import chain_status, sender_states

# What a failing check adds for staff only.
PRIVATE_KEYS = frozenset({"detail"})


def _public(checks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in check.items() if k not in PRIVATE_KEYS} for name, check in checks.items()}


def _timed(check: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer a health check reports
        return {"ok": False, "error": type(exc).__name__, "detail": str(exc)[:200]}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1), **(result or {})}


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict[str, Any]:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type}


def _workers() -> dict[str, Any]:
    last = WorkerHeartbeat.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is None:
        return {"last_heartbeat": None, "fresh": False}
    return {"last_heartbeat": last.isoformat(), "fresh": timezone.now() - last < timedelta(minutes=3)}


def _senders() -> dict[str, Any]:
    states = sender_states()
    return {
        "stalled_after_seconds": settings.CHAIN_NONCE_STALL_SECONDS,
        "senders": [
            {
                "address": s.address,
                "roles": s.roles,
                "ok": s.ok,
                "oldest_unconfirmed_nonce": s.oldest_nonce,
                "oldest_unconfirmed_age_seconds": s.age_seconds,
                "stalled": s.stalled,
                "held": s.held,
            }
            for s in states
        ],
        "all_ok": all(s.ok for s in states),
    }


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    checks["chain"] = chain_status(timeout=1.5)
    checks["workers"] = _timed(_workers) if checks["database"]["ok"] else {"ok": False, "error": "database down"}
    checks["senders"] = _timed(_senders) if checks["database"]["ok"] else {"ok": False, "error": "database down"}
    critical_ok = checks["database"]["ok"] and checks["broker"]["ok"]
    everything_ok = (
        critical_ok
        and checks["chain"]["ok"]
        and checks["workers"].get("fresh", False)
        and checks["senders"].get("all_ok", False)
    )
    status = "ok" if everything_ok else ("degraded" if critical_ok else "down")
    user = getattr(request, "user", None)
    shown = checks if user is not None and user.is_authenticated and user.is_staff else _public(checks)
    return JsonResponse({"status": status, "checks": shown}, status=200 if critical_ok else 503)
