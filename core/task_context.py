"""The request id follows the work a request queues: task headers, the worker's log lines, the rows it writes.

A request's id (core.middleware) is stamped on every task it publishes; the worker runs the task under that id,
so the task's log lines, its audit events and the chain transactions it records carry it, and so do the tasks
it queues in turn. A task nobody's request queued (the beat's) runs under its own task id.
"""

from __future__ import annotations

import logging
import time
from contextvars import Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.middleware import current_request_id, request_id_var, valid_request_id

HEADER = "request_id"
log = logging.getLogger("tessera.tasks")

# Per task id: the context token to restore and when it started (a worker process runs one task at a time per
# thread; eager tasks run inside the request and must give it its id back).
_running: dict[str, tuple[Token[str], float]] = {}


def request_id_stamp(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """On publish: the message carries the current request id unless the caller set one."""
    if headers is None or headers.get(HEADER):
        return
    request_id = current_request_id()
    if request_id:
        headers[HEADER] = request_id


def request_id_enter(task_id: str = "", task: Task | None = None, **kwargs: Any) -> None:
    """Before a task runs: its request id is the one it was queued under, else the current one, else its own id."""
    carried = str(getattr(task.request, HEADER, "") or "") if task is not None else ""
    request_id = carried if valid_request_id(carried) else (current_request_id() or task_id)
    _running[task_id] = (request_id_var.set(request_id), time.monotonic())
    name = getattr(task, "name", "")
    log.info("task %s started", name, extra={"task_name": name, "task_id": task_id})


def request_id_leave(task_id: str = "", task: Task | None = None, state: str | None = None, **kwargs: Any) -> None:
    entry = _running.pop(task_id, None)
    took_ms = round((time.monotonic() - entry[1]) * 1000, 1) if entry else None
    name = getattr(task, "name", "")
    log.info(
        "task %s finished: %s",
        name,
        state,
        extra={"task_name": name, "task_id": task_id, "state": state, "took_ms": took_ms},
    )
    if entry is not None:
        request_id_var.reset(entry[0])


def task_failure_count(sender: Task | None = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """A task failed for good: one more in its tally (shared by every worker, read by /metrics/)."""
    from core.models import TaskFailureTally

    name = getattr(sender, "name", "") or "unknown"
    error = type(exception).__name__ if exception is not None else ""
    fields = {"failures": F("failures") + 1, "last_failed_at": timezone.now(), "last_error": error[:200]}
    try:
        if TaskFailureTally.objects.filter(task_name=name).update(**fields):
            return
        try:
            with transaction.atomic():
                TaskFailureTally.objects.create(
                    task_name=name, failures=1, last_failed_at=timezone.now(), last_error=error[:200]
                )
        except IntegrityError:  # another worker counted this task's first failure at the same moment
            TaskFailureTally.objects.filter(task_name=name).update(**fields)
    except Exception:  # counting must never turn one failure into two; the worker's log has it
        log.exception("could not count the failure of %s", name)


def task_context_connect() -> None:
    before_task_publish.connect(request_id_stamp, weak=False, dispatch_uid="tessera_request_id_stamp")
    task_prerun.connect(request_id_enter, weak=False, dispatch_uid="tessera_request_id_enter")
    task_postrun.connect(request_id_leave, weak=False, dispatch_uid="tessera_request_id_leave")
    task_failure.connect(task_failure_count, weak=False, dispatch_uid="tessera_task_failure_count")
