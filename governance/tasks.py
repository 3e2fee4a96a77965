from __future__ import annotations

from celery import shared_task

from governance.services.ballots import ballots_due_advance


@shared_task(name="governance.tasks.ballots_due_advance", acks_late=True, time_limit=600, soft_time_limit=540)
def ballots_due_advance_task() -> dict[str, int]:
    """Read the voting power of ballots past their record date and count those past their close (idempotent)."""
    summary = ballots_due_advance()
    return {"power_read": summary.power_read, "closed": summary.closed}
