"""Transfer tasks: thin, they call one service each, and may run twice without harm."""

from __future__ import annotations

from celery import shared_task

from tokens.services import CHAIN_TRANSIENT_ERRORS
from transfers.models import HolderTransfer
from transfers.services.requests import transfer_requests_advance
from transfers.services.transfers import transfer_advance, transfers_advance

COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "max_retries": 3,
    "retry_backoff": True,
    "time_limit": 300,
    "soft_time_limit": 270,
    "ignore_result": True,
}


@shared_task(name="transfers.tasks.transfer_advance_task", **COMMON)
def transfer_advance_task(transfer_id: int) -> str:
    """One transfer moved on to what the chain and the register show (queued when its wallet reports a hash)."""
    transfer = HolderTransfer.objects.filter(pk=transfer_id).first()
    return transfer_advance(transfer=transfer).state if transfer is not None else "gone"


@shared_task(name="transfers.tasks.transfers_advance_task", **COMMON)
def transfers_advance_task() -> int:
    """Every open transfer and exception request followed to the register (the beat, after the ledger's sync)."""
    changed = transfers_advance()
    changed += transfer_requests_advance()
    return changed
