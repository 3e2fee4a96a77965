"""Redemption tasks: thin, they take ids and call one service each.

`redemption_freezes_send_task` freezes the units of the requests of a moment in one batch. The beat's
`redemptions_advance_task` sends what no run sent, follows requests' freezes and unfreezes, cuts off and prices
the dealing days that are due, and hands every settling dealing day to `dealing_day_settle_task`, which burns and
pays what is still to burn and pay (safe to deliver twice: the day's row lock and the outbox keys make one effect).
"""

from __future__ import annotations

from celery import shared_task

from redemptions.services.dealing import dealing_day_price, dealing_days_due
from redemptions.services.freezing import redemption_freezes_send
from redemptions.services.requesting import redemption_requests_advance
from redemptions.services.settling import dealing_day_settle, dealing_days_settling
from tokens.services import CHAIN_TRANSIENT_ERRORS

COMMON = {
    "acks_late": True,
    "autoretry_for": CHAIN_TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "time_limit": 600,
    "soft_time_limit": 540,
    "ignore_result": True,
}


@shared_task(name="redemptions.tasks.redemptions_advance_task", **{**COMMON, "max_retries": 0})
def redemptions_advance_task() -> int:
    """Beat: follow requests on-chain, price the dealing days due, queue a settling run for each settling day."""
    redemption_requests_advance()
    for day_id in dealing_days_due():
        dealing_day_price(day_id=day_id)
    settling = dealing_days_settling()
    for day_id in settling:
        dealing_day_settle_task.delay(day_id)
    return len(settling)


@shared_task(name="redemptions.tasks.redemption_freezes_send_task", **COMMON)
def redemption_freezes_send_task(offering_id: int) -> int:
    """A moment after requests were made: freeze their units in one batch (safe twice: rows are locked and linked)."""
    return redemption_freezes_send(offering_id=offering_id)


@shared_task(name="redemptions.tasks.dealing_day_settle_task", **COMMON)
def dealing_day_settle_task(day_id: int) -> str:
    run = dealing_day_settle(day_id=day_id)
    waiting = f", waiting for {run.waiting}" if run.waiting else ""
    return f"{run.state}: {run.burn_sent} to burn, {run.pay_sent} to pay{waiting}"
