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


@shared_task(name="core.tasks.notification_email_task", acks_late=True, time_limit=60, soft_time_limit=45)
def notification_email_task(notification_id: int) -> bool:
    """E-mail one notification (once: the row says whether it went)."""
    from core.notifications import notification_email_send

    return notification_email_send(notification_id=notification_id)


@shared_task(name="core.tasks.notification_event_email_task", acks_late=True, time_limit=3600, soft_time_limit=3500)
def notification_event_email_task(event_key: str) -> int:
    """E-mail everyone told about one event (those already sent are skipped)."""
    from core.notifications import notifications_event_send

    return notifications_event_send(event_key=event_key)


@shared_task(name="core.tasks.notification_events_email_task", acks_late=True, time_limit=3600, soft_time_limit=3500)
def notification_events_email_task(event_keys: list[str]) -> int:
    """E-mail everyone told about these events (those already sent are skipped)."""
    from core.notifications import notifications_events_send

    return notifications_events_send(event_keys=event_keys)


@shared_task(name="core.tasks.notifications_sweep_task", acks_late=True, time_limit=300, soft_time_limit=280)
def notifications_sweep_task() -> int:
    """E-mail the notifications no task sent (the broker was down, or the mail server failed)."""
    from core.notifications import notifications_unsent_send

    return notifications_unsent_send()
