"""Kernel tasks. They take plain values and call one service each."""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from core.models import WorkerHeartbeat

log = logging.getLogger(__name__)


def task_enqueue_on_commit(task: Task, *args: Any, when_broker_down: str | None = None) -> None:
    """Queue `task` with `args` once the current transaction commits (at once outside one).

    `when_broker_down` says what picks the work up later if the broker cannot be reached: then the failure
    is logged and the committed change stands; without it the failure reaches the caller.
    """

    def enqueue() -> None:
        try:
            task.delay(*args)
        except Exception:  # the change is committed; the named fallback does the work later
            if when_broker_down is None:
                raise
            log.warning("could not queue %s%r; %s", task.name, args, when_broker_down)

    transaction.on_commit(enqueue)


@shared_task(name="core.tasks.worker_heartbeat", acks_late=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat(token: str | None = None) -> str:
    """Record that a worker took a task from the broker (shown on /health/, used by tests)."""
    token = token or uuid.uuid4().hex
    WorkerHeartbeat.objects.get_or_create(token=token, defaults={"hostname": socket.gethostname()})
    return token
