"""Registry tasks: thin, they call one service each."""

from __future__ import annotations

from celery import shared_task

from registry.services.ledger import ledger_sync_all
from registry.services.reconciliation import reconcile_all
from registry.services.token_admin import token_admin_actions_advance
from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "max_retries": 0,
    "time_limit": 600,
    "soft_time_limit": 540,
    "ignore_result": True,
}


@shared_task(name="registry.tasks.ledger_sync_task", **COMMON)
def ledger_sync_task() -> int:
    """Post new events, then move each token administration action on to what the outbox and ledger show."""
    posted = ledger_sync_all()
    token_admin_actions_advance()
    return posted


@shared_task(name="registry.tasks.reconcile_task", **COMMON)
def reconcile_task() -> int:
    return reconcile_all()
