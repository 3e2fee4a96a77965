"""Settling an approved dealing day: each line's units burned, then its net paid, each exactly once.

A run of `dealing_day_settle` first reads what the chain says (lines burned and paid in final blocks, batches
that failed), then, under the dealing day's row lock, sends what is still to send:

- the redemption burner must hold the token's agent role (granted once per token, through the outbox);
- approved lines not yet carried by a live burn batch go out in batches of REDEMPTION_BURN_BATCH_MAX_LINES,
  each one outbox transaction under a key made of the dealing day, the run's round and the batch number;
- a line is paid only once its burn is final; stablecoin lines go out through the distribution payout
  contract under the dealing day's own reference, in batches keyed the same way, once the treasury holds
  (and has allowed) what is still to pay; bank-file lines wait for the day's payment run;
- the day is settled once every line is paid.

A line is burned once and paid once in any case: the burner and the payout contract keep one bit per line and
skip lines already done, whatever sends a batch again (a duplicate task, a retry, the same bytes after a
reorg). A line is marked burned or paid only from an event in a final block; if a reorg drops that block, the
line goes back to waiting while the outbox sends its batch again. Each confirmed burn is entered in the
control book as a cancellation, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from core.money import Money
from distributions.models import LinePaymentState, PaymentMethod
from offerings.services.stablecoin import units_per_cent
from redemptions.locks import dealing_day_locked
from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.notices import dealing_day_notify
from redemptions.services.wallets import wallets_under_action
from registry.services.control_book import control_book_post_cancellation
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import (
    distribution_line_payments,
    distribution_lines_paid,
    payout_treasury_funds,
    redemption_line_burns,
    redemption_lines_burned,
)
from tokens.services import (
    BurnLine,
    PayoutLine,
    distribution_batch_pay,
    failpoint,
    payout_allowance_ensure,
    redemption_batch_burn,
    redemption_burner_authorize,
)

log = logging.getLogger(__name__)

NOT_MINED = (TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST)
AUDITED_INDICES = 50


@dataclass(frozen=True)
class SettleRun:
    """What one run did: lines newly sent to burn, burned, sent to pay, paid, failed; why it waits if it does."""

    state: str
    burn_sent: int = 0
    burned: int = 0
    pay_sent: int = 0
    paid: int = 0
    failed: int = 0
    waiting: str = ""


def dealing_ref(day: DealingDay) -> str:
    """The dealing day as the burner and the payout contract know it (the payout's own per-line bits)."""
    return f"redemption:{day.public_id}"


def _key(day: DealingDay, step: str, round_: int) -> str:
    return f"redemption:{settings.CHAIN_ID}:{day.public_id}:{step}:{round_}"


def _locked(day_id: int) -> DealingDay:
    return dealing_day_locked(day_id)


def _audit(day: DealingDay, action: str, *, actor: User | str = "redemptions", **after: object) -> None:
    audit_record(actor=actor, action=action, obj=day, issuer=day.offering.issuer, after=after)


def _indices(values: list[int]) -> list[int]:
    return sorted(values)[:AUDITED_INDICES]


def _failure_of(tx: ChainTransaction) -> str:
    args = tx.error_args or {}
    if tx.error_name == "TreasuryShort":
        return (
            f"The treasury held {args.get('balance', '?')} units of the stablecoin, short of the "
            f"{args.get('needed', '?')} this batch needed. Fund the treasury, then retry."
        )
    if tx.error_name == "UnfreezeExceedsFrozen":
        return "The wallet no longer has these units frozen (an admin unfroze them?); the line cannot be burned."
    if tx.error_name:
        detail = ", ".join(f"{k} {v}" for k, v in args.items())
        return f"The batch failed: {tx.error_name}{f' ({detail})' if detail else ''}."
    return f"The batch failed: {tx.last_error or 'the transaction did not go through'}."


# --------------------------------------------------------------------------- confirming


def _burns_confirm(locked: DealingDay, burns: dict[int, str]) -> tuple[int, int]:
    """Mark approved lines burned from final LineRedeemed events, and burned lines whose event a reorg dropped back
    to approved; lines of failed batches get the reason. Returns (burned, failed)."""
    now = timezone.now()
    rows = list(
        RedemptionRequest.objects.filter(dealing_day=locked, line_index__isnull=False)
        .filter(Q(state=RequestState.APPROVED) | Q(state=RequestState.BURNED, payment_state=LinePaymentState.PENDING))
        .values_list("pk", "line_index", "state", "burn_transaction__status", "burn_transaction_id")
    )
    by_hash: dict[str, list[int]] = {}
    back: list[int] = []
    failed: dict[int, tuple[int, int]] = {}
    for pk, line, state, status, tx_id in rows:
        index = int(line or 0)
        if state == RequestState.APPROVED and index in burns:
            by_hash.setdefault(burns[index], []).append(pk)
        elif state == RequestState.BURNED and index not in burns:
            back.append(pk)
        elif state == RequestState.APPROVED and status == TxStatus.FAILED:
            failed[index] = (pk, tx_id)
    if failed:  # a line of a failed batch may have been burned by another one whose event is not indexed yet
        done = redemption_lines_burned(dealing_ref=dealing_ref(locked), indices=failed)
        failed = {i: v for i, v in failed.items() if i not in done}
    burned = 0
    for tx_hash, pks in by_hash.items():
        burned += RedemptionRequest.objects.filter(pk__in=pks, state=RequestState.APPROVED).update(
            state=RequestState.BURNED, burn_reference=tx_hash, burned_at=now, payment_failure=""
        )
        units = RedemptionRequest.objects.filter(dealing_day=locked, burn_reference=tx_hash).aggregate(
            u=Sum("accepted_units")
        )["u"]
        control_book_post_cancellation(offering=locked.offering, quantity=int(units or 0), transaction_hash=tx_hash)
    if burned:
        _audit(locked, "redemption.lines_burned", lines=burned)
    if back:
        reopened = RedemptionRequest.objects.filter(pk__in=back, state=RequestState.BURNED).update(
            state=RequestState.APPROVED, burn_reference="", burned_at=None
        )
        _audit(locked, "redemption.burns_reorged", lines=reopened, note="their block is gone; the batch is sent again")
    reasons = {tx.pk: _failure_of(tx) for tx in ChainTransaction.objects.filter(pk__in={t for _, t in failed.values()})}
    marked = 0
    for _index, (pk, tx_id) in failed.items():
        marked += RedemptionRequest.objects.filter(pk=pk, payment_failure="").update(
            payment_failure=reasons.get(tx_id, "The burn failed.")
        )
    if marked:
        _audit(locked, "redemption.burns_failed", lines=marked, first_lines=_indices(list(failed)))
    return burned, len(failed)


def _payments_confirm(locked: DealingDay) -> tuple[int, int]:
    """Mark stablecoin lines paid from final LinePaid events (and back to sending after a reorg dropped them);
    lines of failed payout batches get the reason and wait for a retry. Returns (paid, failed)."""
    payments = distribution_line_payments(distribution_ref=dealing_ref(locked))
    rows = list(
        RedemptionRequest.objects.filter(dealing_day=locked, line_index__isnull=False)
        .filter(
            Q(payment_state=LinePaymentState.SENDING)
            | Q(payment_state=LinePaymentState.PAID, payment_transaction__isnull=False)
        )
        .values_list("pk", "line_index", "payment_state", "payment_transaction__status", "payment_transaction_id")
    )
    now = timezone.now()
    by_hash: dict[str, list[int]] = {}
    back: list[int] = []
    failed: dict[int, tuple[int, int]] = {}
    for pk, line, state, status, tx_id in rows:
        index = int(line or 0)
        if state == LinePaymentState.SENDING and index in payments:
            by_hash.setdefault(payments[index], []).append(pk)
        elif state == LinePaymentState.PAID and index not in payments:
            back.append(pk)
        elif state == LinePaymentState.SENDING and status == TxStatus.FAILED:
            failed[index] = (pk, tx_id)
    if failed:
        done = distribution_lines_paid(distribution_ref=dealing_ref(locked), indices=failed)
        failed = {i: v for i, v in failed.items() if i not in done}
    paid = 0
    for tx_hash, pks in by_hash.items():
        paid += RedemptionRequest.objects.filter(pk__in=pks, payment_state=LinePaymentState.SENDING).update(
            payment_state=LinePaymentState.PAID,
            state=RequestState.PAID,
            payment_reference=tx_hash,
            paid_at=now,
            payment_failure="",
        )
    if paid:
        _audit(locked, "redemption.lines_paid", lines=paid)
    if back:
        reopened = RedemptionRequest.objects.filter(pk__in=back, payment_state=LinePaymentState.PAID).update(
            payment_state=LinePaymentState.SENDING, state=RequestState.BURNED, payment_reference="", paid_at=None
        )
        _audit(locked, "redemption.payments_reorged", lines=reopened)
    reasons = {tx.pk: _failure_of(tx) for tx in ChainTransaction.objects.filter(pk__in={t for _, t in failed.values()})}
    for _index, (pk, tx_id) in failed.items():
        RedemptionRequest.objects.filter(pk=pk, payment_state=LinePaymentState.SENDING).update(
            payment_state=LinePaymentState.FAILED, payment_failure=reasons.get(tx_id, "The payout failed.")
        )
    if failed:
        _audit(locked, "redemption.payments_failed", lines=len(failed), first_lines=_indices(list(failed)))
    return paid, len(failed)


def _settle_if_done(locked: DealingDay) -> None:
    lines = RedemptionRequest.objects.filter(dealing_day=locked, line_index__isnull=False)
    if locked.state == DealingState.SETTLING and not lines.exclude(state=RequestState.PAID).exists():
        locked.state, locked.settled_at = DealingState.SETTLED, timezone.now()
        locked.save(update_fields=["state", "settled_at"])
        totals = lines.aggregate(units=Sum("accepted_units"), net=Sum("net_minor"))
        audit_record(
            actor="redemptions",
            action="redemption.dealing_day_settled",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": DealingState.SETTLING},
            after={"state": locked.state, "units": int(totals["units"] or 0), "net_minor": int(totals["net"] or 0)},
        )
    elif locked.state == DealingState.SETTLED and lines.exclude(state=RequestState.PAID).exists():
        locked.state, locked.settled_at = DealingState.SETTLING, None
        locked.save(update_fields=["state", "settled_at"])
        _audit(locked, "redemption.dealing_day_reopened", note="a reorg dropped a burn or a payment")


def dealing_day_settle_if_done(day: DealingDay) -> None:
    """Settle a locked day whose lines are all paid (a bank confirmation's last payment)."""
    _settle_if_done(day)


# --------------------------------------------------------------------------- sending


def _burns_send(locked: DealingDay) -> int:
    """Approved lines not carried by a batch still on its way go out under the next round."""
    rows = list(
        RedemptionRequest.objects.filter(dealing_day=locked, state=RequestState.APPROVED)
        .filter(Q(burn_transaction__isnull=True) | Q(burn_transaction__status=TxStatus.FAILED, payment_failure=""))
        # A wallet the issuer is acting on (a recovery on its way) is burned from once the action is on the ledger.
        .exclude(wallet__in=wallets_under_action(offering=locked.offering))
        .order_by("line_index")
        .values_list("pk", "line_index", "wallet", "accepted_units")
    )
    if not rows:
        return 0
    locked.burn_round += 1
    locked.save(update_fields=["burn_round"])
    txs = redemption_batch_burn(
        key=_key(locked, "burn", locked.burn_round),
        owner_ref=locked.offering.owner_ref,
        dealing_ref=dealing_ref(locked),
        lines=[BurnLine(index=int(i or 0), holder=w, amount=u) for _, i, w, u in rows],
    )
    size = max(1, int(settings.REDEMPTION_BURN_BATCH_MAX_LINES))
    for number, tx in enumerate(txs):
        chunk = rows[number * size : (number + 1) * size]
        RedemptionRequest.objects.filter(pk__in=[pk for pk, _, _, _ in chunk]).update(burn_transaction=tx)
    failpoint("redemption_burns_queued")  # crash tests: the worker dies before this run commits
    _audit(
        locked,
        "redemption.burns_sent",
        round=locked.burn_round,
        batches=len(txs),
        lines=len(rows),
        units=sum(u for _, _, _, u in rows),
    )
    return len(rows)


def _payments_send(locked: DealingDay) -> tuple[int, str]:
    """Burned stablecoin lines still to pay go out under the next round, once the treasury can pay them."""
    now = timezone.now()
    nothing = RedemptionRequest.objects.filter(
        dealing_day=locked, state=RequestState.BURNED, payment_state=LinePaymentState.PENDING, net_minor=0
    ).update(payment_state=LinePaymentState.PAID, state=RequestState.PAID, paid_at=now)
    if nothing:
        _audit(locked, "redemption.lines_settled", lines=nothing, note="nothing to pay after the fee")
    if locked.payout_method != PaymentMethod.STABLECOIN:
        return 0, ""
    rows = list(
        RedemptionRequest.objects.filter(
            dealing_day=locked, state=RequestState.BURNED, payment_state=LinePaymentState.PENDING, net_minor__gt=0
        )
        .exclude(wallet__in=wallets_under_action(offering=locked.offering))  # paid once a recovery is posted
        .order_by("line_index")
        .values_list("pk", "line_index", "wallet", "net_minor")
    )
    if not rows:
        return 0, ""
    in_flight = RedemptionRequest.objects.filter(
        dealing_day=locked, payment_state=LinePaymentState.SENDING, payment_transaction__status__in=NOT_MINED
    ).aggregate(s=Sum("net_minor"))["s"]
    needed_minor = sum(n for _, _, _, n in rows) + int(in_flight or 0)
    per_cent = units_per_cent()
    funds = payout_treasury_funds()  # the chain's transient errors reach the task, which tries again
    if funds is None:
        return 0, _refuse(locked, "The payout contract or the stablecoin is not deployed yet: nothing can be paid.")
    if funds.balance < needed_minor * per_cent:
        have = funds.balance // per_cent
        return 0, _refuse(
            locked,
            f"The treasury {funds.treasury} holds {Money(have, locked.currency)}, short of the "
            f"{Money(needed_minor, locked.currency)} still to pay by {Money(needed_minor - have, locked.currency)}. "
            "Nothing was sent; fund the treasury and payment goes on at the next run.",
        )
    if funds.allowance < needed_minor * per_cent:
        try:
            approval = payout_allowance_ensure()
        except ApplicationError as exc:
            return 0, _refuse(locked, exc.message)
        if approval is not None:
            return 0, "the treasury to allow the payout contract"
    if locked.payment_failure:
        _audit(locked, "redemption.payment_resumed", refused_before=locked.payment_failure)
        locked.payment_failure = ""
        locked.save(update_fields=["payment_failure"])
    locked.payment_round += 1
    locked.save(update_fields=["payment_round"])
    txs = distribution_batch_pay(
        key=_key(locked, "pay", locked.payment_round),
        distribution_ref=dealing_ref(locked),
        lines=[PayoutLine(index=int(i or 0), payee=w, amount=net * per_cent) for _, i, w, net in rows],
    )
    size = max(1, int(settings.PAYOUT_BATCH_MAX_LINES))
    for number, tx in enumerate(txs):
        chunk = rows[number * size : (number + 1) * size]
        RedemptionRequest.objects.filter(pk__in=[pk for pk, _, _, _ in chunk]).update(
            payment_state=LinePaymentState.SENDING, payment_transaction=tx, payment_failure=""
        )
    failpoint("redemption_payouts_queued")
    _audit(
        locked,
        "redemption.payouts_sent",
        round=locked.payment_round,
        batches=len(txs),
        lines=len(rows),
        net_minor=sum(n for _, _, _, n in rows),
    )
    return len(rows), ""


def _refuse(locked: DealingDay, message: str) -> str:
    if locked.payment_failure != message:
        before = locked.payment_failure
        locked.payment_failure = message
        locked.save(update_fields=["payment_failure"])
        audit_record(
            actor="redemptions",
            action="redemption.payment_refused",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"payment_failure": before},
            after={"payment_failure": message},
        )
    return message


def dealing_day_settle(*, day_id: int) -> SettleRun:
    """One settling run of an approved dealing day: confirm what the chain burned and paid, then send what is still
    to burn and to pay. Safe to run any number of times, at once or one after the other (the row lock orders them)."""
    day = DealingDay.objects.select_related("offering").get(pk=day_id)
    if day.state not in (DealingState.SETTLING, DealingState.SETTLED):
        return SettleRun(state=day.state)
    burns = redemption_line_burns(dealing_ref=dealing_ref(day))
    with transaction.atomic():
        locked = _locked(day_id)
        if locked.state not in (DealingState.SETTLING, DealingState.SETTLED):
            return SettleRun(state=locked.state)
        burned, burn_failed = _burns_confirm(locked, burns)
        paid, pay_failed = _payments_confirm(locked)
        _settle_if_done(locked)
        if burned or paid:
            dealing_day_notify(day_id=locked.pk)
    if locked.state != DealingState.SETTLING:
        return SettleRun(state=locked.state, burned=burned, paid=paid)
    readiness = redemption_burner_authorize(owner_ref=day.offering.owner_ref)
    burn_sent = pay_sent = 0
    waiting = ""
    with transaction.atomic():
        locked = _locked(day_id)
        if locked.state != DealingState.SETTLING:
            return SettleRun(state=locked.state, burned=burned, paid=paid)
        if readiness.ready:
            burn_sent = _burns_send(locked)
        else:
            waiting = readiness.waiting_for
    with transaction.atomic():
        locked = _locked(day_id)
        if locked.state == DealingState.SETTLING:
            pay_sent, refused = _payments_send(locked)
            waiting = waiting or refused
            _settle_if_done(locked)
    return SettleRun(
        state=locked.state,
        burn_sent=burn_sent,
        burned=burned,
        pay_sent=pay_sent,
        paid=paid,
        failed=burn_failed + pay_failed,
        waiting=waiting,
    )


@transaction.atomic
def dealing_day_failed_retry(*, day: DealingDay, actor: User) -> int:
    """An issuer admin sends the failed burns and payouts of a settling day again (approved already)."""
    locked = _locked(day.pk)
    if locked.state != DealingState.SETTLING:
        raise Conflict(f"It is {locked.get_state_display().lower()}, not settling.", code="state")
    burns = RedemptionRequest.objects.filter(
        dealing_day=locked, state=RequestState.APPROVED, burn_transaction__status=TxStatus.FAILED
    ).exclude(payment_failure="")
    pays = RedemptionRequest.objects.filter(dealing_day=locked, payment_state=LinePaymentState.FAILED)
    count = burns.update(payment_failure="", burn_transaction=None) + pays.update(
        payment_state=LinePaymentState.PENDING, payment_failure=""
    )
    if not count:
        raise Conflict("No burn or payout of this dealing day has failed.", code="nothing_failed")
    audit_record(
        actor=actor,
        action="redemption.retry_requested",
        obj=locked,
        issuer=locked.offering.issuer,
        after={"lines": count},
    )
    from core.tasks import task_enqueue_on_commit
    from redemptions.tasks import dealing_day_settle_task

    task_enqueue_on_commit(dealing_day_settle_task, locked.pk, when_broker_down="the beat's next run sends them")
    return count


def dealing_days_settling() -> list[int]:
    return list(DealingDay.objects.filter(state=DealingState.SETTLING).order_by("pk").values_list("pk", flat=True))
