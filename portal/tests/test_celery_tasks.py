"""Every task of the portal is configured so Celery can run it: JSON, acks_late, sane time limits."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings

from portal.celery import app

OURS = (
    "core.",
    "investors.",
    "compliance.",
    "offerings.",
    "tokens.",
    "registry.",
    "governance.",
    "backing.",
    "redemptions.",
)


def test_every_task_has_a_soft_limit_below_its_hard_limit_and_acks_late() -> None:
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.startswith(OURS)}
    assert len(tasks) >= 10
    problems = []
    for name, task in sorted(tasks.items()):
        hard = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        soft = task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        if not soft < hard:
            problems.append(f"{name}: soft {soft} s is not below hard {hard} s")
        if not task.acks_late:
            problems.append(f"{name}: acks_late is off")
    assert problems == []
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_chain_indexing_exports_and_screening_have_queues_of_their_own() -> None:
    app.loader.import_default_modules()
    routes = settings.CELERY_TASK_ROUTES
    unknown = [name for name in routes if name not in app.tasks]
    assert unknown == []
    assert {route["queue"] for route in routes.values()} == set(settings.TASK_QUEUES) - {"celery"}
    assert app.amqp.router.route({}, "tokens.tasks.outbox_flush_task")["queue"].name == "chain"
    assert app.amqp.router.route({}, "tokens.tasks.chain_index_task")["queue"].name == "indexing"
    assert app.amqp.router.route({}, "registry.tasks.export_job_run_task")["queue"].name == "exports"
    assert app.amqp.router.route({}, "compliance.tasks.sanctions_rescreen_task")["queue"].name == "screening"
    assert app.amqp.router.route({}, "core.tasks.worker_heartbeat")["queue"].name == "celery"
    assert app.amqp.router.route({}, "core.tasks.notification_events_email_task")["queue"].name == "notifications"


def test_a_beat_tick_no_worker_started_for_two_minutes_or_its_interval_is_dropped() -> None:
    from django_celery_beat.schedulers import ModelEntry

    schedule = cast(dict[str, dict[str, Any]], settings.CELERY_BEAT_SCHEDULE)
    entry = schedule["chain-outbox-watch"]
    assert settings.CHAIN_WATCH_SECONDS < settings.BEAT_TICK_EXPIRY_SECONDS == 120
    assert entry["options"]["expire_seconds"] == settings.BEAT_TICK_EXPIRY_SECONDS
    assert schedule["registry-exports-expire"]["options"]["expire_seconds"] == 3600  # its interval, the longer
    periodic = {name: e for name, e in schedule.items() if isinstance(e["schedule"], int | float)}
    assert len(periodic) >= 10
    wrong = [
        name
        for name, e in periodic.items()
        if e["options"].get("expire_seconds") != max(e["schedule"], settings.BEAT_TICK_EXPIRY_SECONDS)
    ]
    assert wrong == []
    # The database scheduler the beat runs keeps it, and sends each tick with it as the task's expiry.
    fields = ModelEntry._unpack_options(**entry["options"])
    assert fields["expire_seconds"] == settings.BEAT_TICK_EXPIRY_SECONDS
