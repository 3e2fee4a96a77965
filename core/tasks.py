"""Kernel tasks. They take plain values and call one service each."""

from __future__ import annotations

import socket
import uuid

from celery import shared_task

from core.models import WorkerHeartbeat


@shared_task(name="core.tasks.worker_heartbeat", acks_late=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat(token: str | None = None) -> str:
    """Record that a worker took a task from the broker (shown on /health/, used by tests)."""
    token = token or uuid.uuid4().hex
    WorkerHeartbeat.objects.get_or_create(token=token, defaults={"hostname": socket.gethostname()})
    return token
