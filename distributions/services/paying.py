"""Paying approved distributions on-chain: stablecoin from the treasury through the payout contract.

A run of `distribution_pay_on_chain` first reads what the chain says (lines paid in final blocks,
batches that failed), then, under the distribution's row lock, sends what is still to pay:

- on or after the payment date an approved distribution is paying;
- lines that pay nothing in cash and reinvest nothing are settled;
- each line's wallet is looked up again among the investor's active wallets: a line without one is
  held (and listed), a held line whose holder has linked a wallet since is paid;
- the treasury must hold, and have allowed the payout contract, the cash still to pay, or nothing is
  sent and the reason is recorded on the distribution;
- the lines to pay go out in batches of PAYOUT_BATCH_MAX_LINES, each one outbox transaction under a
  key made of the distribution, the run's round and the batch number: the same run delivered twice
  sends the same rows, and a run that died before committing sent nothing.

A line is paid once in any case: the payout contract keeps one bit per line and skips paid lines,
whatever sends a batch again (a retry, a duplicate, the same bytes after a reorg). A line is marked
paid only from a `LinePaid` event in a final block; if a reorg drops that block, the line goes back
to sending while the outbox sends its batch again.
"""

from __future__ import annotations

import datetime as dt
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
from distributions.models import Distribution, DistributionLine, DistributionState, LinePaymentState, PaymentMethod
from distributions.notices import distribution_lines_paid_notify
from distributions.selectors import active_wallets
from distributions.services.register import distribution_register_compute
from distributions.services.reinvesting import reinvestment_outstanding
from offerings.services.stablecoin import units_per_cent
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import distribution_line_payments, distribution_lines_paid, payout_treasury_funds
from tokens.services import PayoutLine, distribution_batch_pay, failpoint, payout_allowance_ensure

log = logging.getLogger(__name__)

# Lines a run sends. A failed line waits for an admin's retry (which makes it pending again): sent again by
# every run, a line the chain refuses for good would spend gas each time.
TO_SEND = (LinePaymentState.PENDING,)
UNFINISHED = (LinePaymentState.PENDING, LinePaymentState.HELD, LinePaymentState.SENDING, LinePaymentState.FAILED)
FINISHED = (LinePaymentState.PAID, LinePaymentState.REINVESTED)
NOT_MINED = (TxStatus.PENDING, TxStatus.SIGNED, TxStatus.BROADCAST)
AUDITED_INDICES = 50  # line numbers named in one audit event; the count is always complete


@dataclass(frozen=True)
class PaymentRun:
    """What one run did: lines newly sent, paid, failed, held and settled, and why it stopped if it did."""

    state: str
    sent: int = 0
    batches: int = 0
    paid: int = 0
    failed: int = 0
    held: int = 0
    settled: int = 0
    refused: str = ""


def _ref(distribution: Distribution) -> str:
    return str(distribution.public_id)


def _batch_key(distribution: Distribution, round_: int, number: int) -> str:
    return f"distribution:{settings.CHAIN_ID}:{distribution.public_id}:pay:{round_}:{number}"


def _locked(distribution_id: int) -> Distribution:
    return (
        Distribution.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=distribution_id)
    )


def _audit(distribution: Distribution, action: str, *, actor: User | None = None, **after: object) -> None:
    audit_record(
        actor=actor if actor is not None else "distributions",
        action=action,
        obj=distribution,
        issuer=distribution.offering.issuer,
        after=after,
    )


def _indices(lines: list[int]) -> list[int]:
    return sorted(lines)[:AUDITED_INDICES]


def _failure_of(tx: ChainTransaction) -> str:
    """A reason a person can act on, from the batch's decoded revert."""
    args = tx.error_args or {}
    if tx.error_name == "TreasuryShort":
        return (
            f"The treasury held {args.get('balance', '?')} units of the stablecoin, short of the "
            f"{args.get('needed', '?')} this batch needed. Fund the treasury, then retry."
        )
    if tx.error_name == "AllowanceShort":
        return "The treasury had not allowed the payout contract to pay this much. Retry once it has."
    if tx.error_name == "LineRefused":
        return (
            f"The stablecoin refused to pay line {args.get('index', args.get('0', '?'))}'s wallet; fix it, then retry."
        )
    if tx.error_name:
        detail = ", ".join(f"{k} {v}" for k, v in args.items())
        return f"The batch failed: {tx.error_name}{f' ({detail})' if detail else ''}."
    return f"The batch failed: {tx.last_error or 'the transaction did not go through'}."


# --------------------------------------------------------------------------- confirming


def distribution_payments_confirm(*, distribution_id: int) -> PaymentRun:
    """Mark lines paid from final `LinePaid` events, failed from failed batches, and back to sending when a
    reorg dropped the event that paid them; the distribution is paid once every line is."""
    distribution = Distribution.objects.get(pk=distribution_id)
    if distribution.state not in (DistributionState.PAYING, DistributionState.PAID):
        return PaymentRun(state=distribution.state)
    # A paid line whose batch is final stays paid: only a reorg past finality reopens a batch (tokens.indexer),
    # and it drops the batch's events in the same transaction. So a paid line is watched only while its batch
    # is not final, and a paid distribution without such a line has nothing to confirm.
    reorgable = Q(payment_state=LinePaymentState.PAID, payment_transaction__isnull=False) & ~Q(
        payment_transaction__status=TxStatus.CONFIRMED
    )
    lines = DistributionLine.objects.filter(distribution_id=distribution_id)
    if distribution.state == DistributionState.PAID and not lines.filter(reorgable).exists():
        return PaymentRun(state=distribution.state)
    payments = distribution_line_payments(distribution_ref=_ref(distribution))
    watched = list(
        lines.filter(Q(payment_state=LinePaymentState.SENDING) | reorgable).values_list(
            "pk", "line_index", "payment_state", "payment_transaction_id", "payment_transaction__status"
        )
    )
    paid = [
        (pk, index) for pk, index, state, _, _ in watched if state == LinePaymentState.SENDING and index in payments
    ]
    reorged = [pk for pk, index, state, _, _ in watched if state == LinePaymentState.PAID and index not in payments]
    failed_batch = {
        index: (pk, tx_id)
        for pk, index, state, tx_id, status in watched
        if state == LinePaymentState.SENDING and index not in payments and status == TxStatus.FAILED
    }
    if failed_batch:
        # A line of a failed batch may have been paid by another one whose event is not indexed yet.
        paid_on_chain = distribution_lines_paid(distribution_ref=_ref(distribution), indices=failed_batch)
        failed_batch = {i: v for i, v in failed_batch.items() if i not in paid_on_chain}
    reasons = {
        tx.pk: _failure_of(tx)
        for tx in ChainTransaction.objects.filter(pk__in={tx_id for _, tx_id in failed_batch.values()})
    }
    now = timezone.now()
    with transaction.atomic():
        locked = _locked(distribution_id)
        if locked.state not in (DistributionState.PAYING, DistributionState.PAID):
            return PaymentRun(state=locked.state)
        marked = 0
        by_hash: dict[str, list[int]] = {}
        for pk, index in paid:
            by_hash.setdefault(payments[index], []).append(pk)
        for tx_hash, pks in by_hash.items():
            marked += DistributionLine.objects.filter(pk__in=pks, payment_state=LinePaymentState.SENDING).update(
                payment_state=LinePaymentState.PAID, payment_reference=tx_hash, paid_at=now, failure_reason=""
            )
        if paid:  # one notice per holder, written together, e-mailed by a task per EVENTS_PER_EMAIL_TASK lines
            distribution_lines_paid_notify(line_ids=[pk for pk, _ in paid])
        if marked:
            _audit(locked, "distribution.lines_paid", lines=marked, first_lines=_indices([i for _, i in paid]))
        back = DistributionLine.objects.filter(pk__in=reorged, payment_state=LinePaymentState.PAID).update(
            payment_state=LinePaymentState.SENDING, payment_reference="", paid_at=None
        )
        if back:
            _audit(
                locked, "distribution.payments_reorged", lines=back, note="their block is gone; the batch is sent again"
            )
        failed = 0
        by_reason: dict[str, list[tuple[int, int]]] = {}
        for index, (pk, tx_id) in failed_batch.items():
            by_reason.setdefault(reasons.get(tx_id, "The batch failed."), []).append((pk, index))
        for reason, rows in by_reason.items():
            count = DistributionLine.objects.filter(
                pk__in=[pk for pk, _ in rows], payment_state=LinePaymentState.SENDING
            ).update(payment_state=LinePaymentState.FAILED, failure_reason=reason)
            failed += count
            if count:
                _audit(
                    locked,
                    "distribution.lines_failed",
                    lines=count,
                    first_lines=_indices([i for _, i in rows]),
                    reason=reason,
                )
        _state_settle(locked)
    return PaymentRun(state=locked.state, paid=marked, failed=failed)


def _state_settle(locked: Distribution) -> None:
    """PAYING → PAID once no line is unfinished; PAID → PAYING when a reorg reopened a line."""
    unfinished = DistributionLine.objects.filter(distribution=locked, payment_state__in=UNFINISHED).exists()
    if locked.state == DistributionState.PAYING and not unfinished:
        locked.state = DistributionState.PAID
        locked.save(update_fields=["state"])
        totals = DistributionLine.objects.filter(distribution=locked).aggregate(cash=Sum("cash_minor"))
        audit_record(
            actor="distributions",
            action="distribution.paid",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": DistributionState.PAYING},
            after={"state": locked.state, "cash_minor": int(totals["cash"] or 0)},
        )
    elif locked.state == DistributionState.PAID and unfinished:
        locked.state = DistributionState.PAYING
        locked.save(update_fields=["state"])
        audit_record(
            actor="distributions",
            action="distribution.reopened",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"state": DistributionState.PAID},
            after={"state": locked.state},
        )


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class _Destinations:
    """Lines whose wallet changes: (pk, wallet) to pay elsewhere or again, pks to hold."""

    moved: list[tuple[int, str]]
    held: list[int]
    released: list[int]


def _destinations(distribution: Distribution) -> _Destinations:
    """The lines still to send, against their investors' active wallets now."""
    rows = list(
        DistributionLine.objects.filter(
            distribution=distribution,
            payment_state__in=(*TO_SEND, LinePaymentState.FAILED, LinePaymentState.HELD),
            cash_minor__gt=0,
        )
        .exclude(reinvestment_outstanding())
        .values_list("pk", "investor_id", "destination_wallet", "payment_state")
    )
    wallets = active_wallets(investor_ids={investor for _, investor, _, _ in rows})
    moved: list[tuple[int, str]] = []
    held: list[int] = []
    released: list[int] = []
    for pk, investor_id, wallet, state in rows:
        on_file = wallets.get(investor_id, [])
        if wallet and wallet in on_file:
            if state == LinePaymentState.HELD:
                released.append(pk)
            continue
        if on_file:
            moved.append((pk, on_file[0]))
            if state == LinePaymentState.HELD:
                released.append(pk)
        elif state != LinePaymentState.HELD:
            held.append(pk)
    return _Destinations(moved=moved, held=held, released=released)


def _still_to_send_minor(distribution: Distribution, destinations: _Destinations) -> tuple[int, int]:
    """Cash of the lines about to be sent (held ones released included), and of those sent but not mined yet
    (the treasury still holds it)."""
    to_send = (
        DistributionLine.objects.filter(distribution=distribution, cash_minor__gt=0)
        .filter(Q(payment_state__in=TO_SEND) & ~Q(pk__in=destinations.held) | Q(pk__in=destinations.released))
        .exclude(reinvestment_outstanding())
    )
    in_flight = DistributionLine.objects.filter(
        distribution=distribution, payment_state=LinePaymentState.SENDING, payment_transaction__status__in=NOT_MINED
    )
    to_send_minor, in_flight_minor = (int(q.aggregate(s=Sum("cash_minor"))["s"] or 0) for q in (to_send, in_flight))
    return to_send_minor, in_flight_minor


def _refuse(locked: Distribution, message: str, code: str) -> PaymentRun:
    if locked.payment_failure != message:
        before = locked.payment_failure
        locked.payment_failure = message
        locked.save(update_fields=["payment_failure"])
        audit_record(
            actor="distributions",
            action="distribution.payment_refused",
            obj=locked,
            issuer=locked.offering.issuer,
            before={"payment_failure": before},
            after={"payment_failure": message, "code": code},
        )
    return PaymentRun(state=locked.state, refused=message)


def distribution_pay_on_chain(*, distribution_id: int, today: dt.date | None = None) -> PaymentRun:
    """One payment run of a stablecoin distribution: confirm what the chain paid, then send what is still to pay.

    Safe to run any number of times, at once or one after the other (the row lock orders them)."""
    today = today or timezone.localdate()
    distribution = Distribution.objects.get(pk=distribution_id)
    if distribution.payment_method != PaymentMethod.STABLECOIN:
        raise ApplicationError("This distribution is not paid on-chain.", code="not_on_chain")
    if distribution.state == DistributionState.APPROVED and distribution.payment_date > today:
        return PaymentRun(state=distribution.state)
    confirmed = distribution_payments_confirm(distribution_id=distribution_id)
    if distribution.state not in (DistributionState.APPROVED, DistributionState.PAYING):
        return confirmed
    sent = _send(distribution_id, today=today)
    return PaymentRun(
        state=sent.state,
        sent=sent.sent,
        batches=sent.batches,
        paid=confirmed.paid,
        failed=confirmed.failed,
        held=sent.held,
        settled=sent.settled,
        refused=sent.refused,
    )


def _send(distribution_id: int, *, today: dt.date) -> PaymentRun:
    with transaction.atomic():
        locked = _locked(distribution_id)
        if locked.state not in (DistributionState.APPROVED, DistributionState.PAYING) or locked.payment_date > today:
            return PaymentRun(state=locked.state)
        destinations = _destinations(locked)
        to_send_minor, in_flight_minor = _still_to_send_minor(locked, destinations)
        needed_minor = to_send_minor + in_flight_minor
        funds = None
        # Only a run with lines to send asks the treasury: with every line sent, the batches on their way may be
        # mined already (the treasury paid them) before the outbox has read their receipts.
        if to_send_minor:
            funds = payout_treasury_funds()  # the chain's transient errors reach the task, which tries again
            if funds is None:
                return _refuse(
                    locked,
                    "The payout contract or the stablecoin is not deployed yet, so nothing can be paid on-chain. "
                    "Deploy the payout contract (manage.py chain_deploy payout).",
                    "no_payout_contract",
                )
            needed_units = needed_minor * units_per_cent()
            if funds.balance < needed_units:
                currency = locked.currency
                return _refuse(
                    locked,
                    f"The treasury {funds.treasury} holds {Money(funds.balance // units_per_cent(), currency)}, short "
                    f"of the {Money(needed_minor, currency)} still to pay by "
                    f"{Money(needed_minor - funds.balance // units_per_cent(), currency)}. Nothing was sent; fund "
                    "the treasury and payment goes on at the next run.",
                    "treasury_short",
                )
            if funds.allowance < needed_units:
                try:
                    approval = payout_allowance_ensure()
                except ApplicationError as exc:
                    return _refuse(locked, exc.message, exc.code)
                if approval is not None:
                    # Sent by the treasury, at its own nonces: the batches wait until it is mined.
                    return PaymentRun(state=locked.state, refused="The treasury is allowing the payout contract.")
        before_state = locked.state
        if locked.state == DistributionState.APPROVED:
            locked.state = DistributionState.PAYING
            locked.save(update_fields=["state"])
            audit_record(
                actor="distributions",
                action="distribution.paying",
                obj=locked,
                issuer=locked.offering.issuer,
                before={"state": before_state},
                after={"state": locked.state, "cash_minor": needed_minor},
            )
        if locked.payment_failure:
            _audit(locked, "distribution.payment_resumed", refused_before=locked.payment_failure)
            locked.payment_failure = ""
            locked.save(update_fields=["payment_failure"])
        held, settled = _lines_prepare(locked, destinations)
        sent, batches = _batches_send(locked)
        _state_settle(locked)
    return PaymentRun(state=locked.state, sent=sent, batches=batches, held=held, settled=settled)


def _lines_prepare(locked: Distribution, destinations: _Destinations) -> tuple[int, int]:
    """Settle lines with nothing to pay, hold lines without a wallet, point the others at a wallet on file."""
    now = timezone.now()
    settled = DistributionLine.objects.filter(
        distribution=locked, payment_state=LinePaymentState.PENDING, cash_minor=0, reinvest_units=0
    ).update(payment_state=LinePaymentState.PAID, paid_at=now)
    if settled:
        _audit(locked, "distribution.lines_settled", lines=settled, note="nothing to pay in cash")
    for pk, wallet in destinations.moved:
        DistributionLine.objects.filter(pk=pk).update(destination_wallet=wallet, destination_status="wallet")
    if destinations.released:
        DistributionLine.objects.filter(pk__in=destinations.released, payment_state=LinePaymentState.HELD).update(
            payment_state=LinePaymentState.PENDING, failure_reason=""
        )
        _audit(locked, "distribution.lines_released", lines=len(destinations.released), note="a wallet is on file now")
    if destinations.moved:
        _audit(locked, "distribution.destinations_changed", lines=len(destinations.moved))
    if destinations.held:
        DistributionLine.objects.filter(pk__in=destinations.held).update(
            payment_state=LinePaymentState.HELD,
            destination_wallet="",
            destination_status="no_wallet",
            failure_reason="No active wallet on file: held until the holder links one.",
        )
        _audit(locked, "distribution.lines_held", lines=len(destinations.held))
    return len(destinations.held), settled


def _batches_send(locked: Distribution) -> tuple[int, int]:
    lines = list(
        DistributionLine.objects.filter(distribution=locked, payment_state__in=TO_SEND, cash_minor__gt=0)
        .exclude(destination_wallet="")
        .exclude(reinvestment_outstanding())
        .order_by("line_index")
        .values_list("pk", "line_index", "destination_wallet", "cash_minor")
    )
    if not lines:
        return 0, 0
    locked.payment_round += 1
    locked.save(update_fields=["payment_round"])
    size = max(1, int(settings.PAYOUT_BATCH_MAX_LINES))
    per_cent = units_per_cent()
    batches = [lines[start : start + size] for start in range(0, len(lines), size)]
    for number, batch in enumerate(batches):
        (tx,) = distribution_batch_pay(
            key=_batch_key(locked, locked.payment_round, number),
            distribution_ref=_ref(locked),
            lines=[PayoutLine(index=i, payee=w, amount=cash * per_cent) for _, i, w, cash in batch],
        )
        DistributionLine.objects.filter(pk__in=[pk for pk, _, _, _ in batch]).update(
            payment_state=LinePaymentState.SENDING, payment_transaction=tx, failure_reason=""
        )
    failpoint("distribution_batches_queued")  # crash tests: the worker dies before this run commits
    _audit(
        locked,
        "distribution.payment_sent",
        round=locked.payment_round,
        batches=len(batches),
        lines=len(lines),
        cash_minor=sum(cash for _, _, _, cash in lines),
    )
    return len(lines), len(batches)


# --------------------------------------------------------------------------- retry, registers due


@transaction.atomic
def distribution_failed_lines_retry(*, distribution: Distribution, actor: User) -> int:
    """An issuer admin sends the failed lines of a paying distribution again (approved already: no second admin)."""
    locked = _locked(distribution.pk)
    if locked.state != DistributionState.PAYING:
        raise Conflict(f"It is {locked.get_state_display().lower()}, not paying.", code="state")
    failed = DistributionLine.objects.filter(distribution=locked, payment_state=LinePaymentState.FAILED)
    indices = list(failed.values_list("line_index", flat=True))
    if not indices:
        raise Conflict("No line of this distribution has failed.", code="nothing_failed")
    reasons = sorted(set(failed.values_list("failure_reason", flat=True)))
    count = failed.update(payment_state=LinePaymentState.PENDING)
    audit_record(
        actor=actor,
        action="distribution.retry_requested",
        obj=locked,
        issuer=locked.offering.issuer,
        after={"lines": count, "first_lines": _indices(indices), "reasons": reasons[:5]},
    )
    from core.tasks import task_enqueue_on_commit
    from distributions.tasks import distribution_pay_task

    task_enqueue_on_commit(distribution_pay_task, locked.pk, when_broker_down="the next scheduled run pays them")
    return count


def distribution_registers_due_compute(*, now: dt.datetime | None = None) -> int:
    """Compute the register of every draft whose record date has passed and whose record block the ledger has
    read; a distribution not ready yet is left for the next run. Returns how many were computed."""
    now = now or timezone.now()
    due = Distribution.objects.filter(
        state=DistributionState.DRAFT,
        register_computed_at__isnull=True,
        record_at__lte=now,
        record_transaction__status=TxStatus.CONFIRMED,
    ).order_by("pk")
    computed = 0
    for distribution in due:
        try:
            distribution_register_compute(distribution=distribution, actor=None)
        except (ApplicationError, Conflict) as exc:
            log.info("register of distribution %s not computed yet: %s", distribution.pk, exc)
            continue
        computed += 1
    return computed
