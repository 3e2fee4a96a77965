from __future__ import annotations

import time
import uuid

import pytest

from core.models import WorkerHeartbeat
from core.tasks import worker_heartbeat


@pytest.mark.worker
def test_a_real_worker_process_consumes_a_task_from_the_broker(celery_worker_process) -> None:
    worker = celery_worker_process("heartbeat")
    token = uuid.uuid4().hex
    worker_heartbeat.delay(token)  # published to the configured broker (SQLite, Redis or RabbitMQ)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(token=token).exists():
        assert worker.poll() is None, "the worker process exited"
        time.sleep(0.25)
    beat = WorkerHeartbeat.objects.get(token=token)
    assert beat.hostname


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_started_for_a_test_never_runs_what_an_earlier_test_left_on_the_broker(request) -> None:
    left = uuid.uuid4().hex
    worker_heartbeat.delay(left)  # queued by an earlier test whose worker stopped before taking it
    worker = request.getfixturevalue("celery_worker_process")("fresh")
    token = uuid.uuid4().hex
    worker_heartbeat.delay(token)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(token=token).exists():
        assert worker.poll() is None, "the worker process exited"
        time.sleep(0.25)
    assert WorkerHeartbeat.objects.filter(token=token).exists()
    assert not WorkerHeartbeat.objects.filter(token=left).exists()
