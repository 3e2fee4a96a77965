"""Reinvestment on the payment date: new tokens at the declared price for the holders who elected it.

For each approved distribution with a reinvestment price, the lines of electing holders with whole
units to receive are minted in batches through the chain pipeline (`token_batch_mint`, one outbox row
per batch, its key derived from the first line's idempotency key and the batch number). The lines
point at their batch from the transaction that writes its outbox row, so a duplicate task or a worker
that died after committing finds them taken, and one that died before committing left nothing.

A line's units are settled once its batch is confirmed and the ledger shows the new lot (acquired at
the mint's block time, its cost basis the declared price: `registry.IssuancePrice`); a line with no
cash left to pay is then REINVESTED, one with a fraction in cash stays PENDING for the cash path. Before minting,
the token is asked whether it would mint to the line's wallet (`detectTransferRestriction`): a line the
token would refuse — the holder no longer eligible, the wallet frozen, no wallet on file — falls back
to cash in full, with the reason on the line. A batch the token refused anyway (the rules changed
after the check) is released and its lines checked again one by one.

The cash part of every line (`cash_minor`: the fraction below one token, or the whole net after a
fallback) is paid by the normal cash path, which leaves out `reinvestment_outstanding()`: a reinvesting
line's cash is due only once its units are settled or have fallen back, so a fallback never changes a
cash amount already paid (`lines_cash_due` lists what may be paid now).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from distributions.models import (
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    ReinvestmentMint,
)
from distributions.notices import distribution_lines_paid_notify
from registry.models import LedgerPosting, PostingKind
from registry.services.control_book import control_book_post_issuance
from registry.services.ledger import issuance_price_record, ledger_sync
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import token_deployment, token_mint_refusal
from tokens.services import token_batch_mint

# Holders per mint transaction (each costs a registry lookup and a checkpoint on the token).
REINVEST_BATCH = 100
# A distribution whose mints failed this often pays its remaining reinvesting lines in cash.
MAX_RELEASED_MINTS = 3
PAYABLE_STATES = (DistributionState.APPROVED, DistributionState.PAYING)


@dataclass(frozen=True)
class ReinvestProgress:
    queued: int  # lines sent to a mint in this pass
    settled: int  # lines reinvested in this pass
    refused: int  # lines fallen back to cash in this pass
    waiting: int  # lines whose mint is not settled yet

    @property
    def done(self) -> bool:
        return self.waiting == 0


def _reinvesting(distribution: Distribution) -> QuerySet[DistributionLine]:
    return DistributionLine.objects.filter(distribution=distribution, reinvest=True, reinvest_units__gt=0)


def reinvestment_outstanding() -> Q:
    """Lines whose units are neither minted and recorded nor fallen back to cash: their cash is not due yet."""
    return Q(reinvest_units__gt=0) & (Q(reinvest_mint__isnull=True) | Q(reinvest_mint__settled_at__isnull=True))


def lines_cash_due(*, distribution: Distribution) -> QuerySet[DistributionLine]:
    """Pending lines whose money part may be paid now: some cash, and no reinvestment outstanding."""
    return DistributionLine.objects.filter(
        distribution=distribution, cash_minor__gt=0, payment_state=LinePaymentState.PENDING
    ).exclude(reinvestment_outstanding())


def reinvestment_waiting(*, distribution: Distribution) -> int:
    """Reinvesting lines whose tokens are not minted and recorded yet."""
    return DistributionLine.objects.filter(distribution=distribution).filter(reinvestment_outstanding()).count()


def distribution_reinvest(*, distribution: Distribution, actor: User | None = None) -> ReinvestProgress:
    """One pass on or after the payment date: settle what is minted, then mint what is due. Idempotent.

    Raises the chain's transient errors when the node is down (the task retries)."""
    current = Distribution.objects.select_related("offering__issuer").get(pk=distribution.pk)
    if current.state not in PAYABLE_STATES:
        raise ApplicationError(
            f"Only an approved distribution is paid; this one is {current.get_state_display().lower()}.",
            code="state",
        )
    if current.payment_date > timezone.localdate():
        raise ApplicationError(
            f"Reinvestment happens on the payment date, {current.payment_date:%d %B %Y}.", code="not_due"
        )
    if not current.reinvestment_price_minor:
        return ReinvestProgress(queued=0, settled=0, refused=0, waiting=0)
    settled, refused = _settle(current, actor)
    queued = 0
    while True:
        batch_queued, batch_refused = _queue_next(current, actor)
        queued, refused = queued + batch_queued, refused + batch_refused
        if batch_queued == 0 and batch_refused == 0:
            break
    return ReinvestProgress(
        queued=queued, settled=settled, refused=refused, waiting=reinvestment_waiting(distribution=current)
    )


def distribution_reinvest_due(*, distribution_id: int, today: dt.date | None = None) -> ReinvestProgress | None:
    """The pass a payment run makes first: `distribution_reinvest` for a distribution with a reinvestment price
    that is approved or being paid and due; None (nothing done) for any other."""
    today = today or timezone.localdate()
    distribution = Distribution.objects.get(pk=distribution_id)
    if (
        not distribution.reinvestment_price_minor
        or distribution.state not in PAYABLE_STATES
        or distribution.payment_date > today
    ):
        return None
    return distribution_reinvest(distribution=distribution)


# --------------------------------------------------------------------------- minting


def _refusal(distribution: Distribution, line: DistributionLine, token_address: str) -> str:
    """Why the token would not mint this line's units now ('' when it would)."""
    if not line.destination_wallet:
        return "No wallet on file to receive the tokens."
    found = token_mint_refusal(address=token_address, wallet=line.destination_wallet, amount=line.reinvest_units)
    return f"The token would refuse the new tokens: {found.message}." if found else ""


def _candidates(distribution: Distribution) -> QuerySet[DistributionLine]:
    return _reinvesting(distribution).filter(reinvest_mint__isnull=True, payment_state=LinePaymentState.PENDING)


def _fall_back(line: DistributionLine, *, reason: str, actor: User | None) -> None:
    before = {"reinvest_units": line.reinvest_units, "cash_minor": line.cash_minor}
    line.reinvest_units, line.cash_minor, line.reinvest_refused_reason = 0, line.net_minor, reason[:1000]
    line.reinvest_mint = None
    line.save(update_fields=["reinvest_units", "cash_minor", "reinvest_refused_reason", "reinvest_mint"])
    audit_record(
        actor=actor or "system",
        action="distribution.reinvestment_refused",
        obj=line,
        issuer=line.distribution.offering.issuer,
        before=before,
        after={"reinvest_units": 0, "cash_minor": line.cash_minor, "reason": line.reinvest_refused_reason},
    )


def _queue_next(distribution: Distribution, actor: User | None) -> tuple[int, int]:
    """Check and mint the next batch of due lines; returns (lines queued, lines fallen back to cash)."""
    token = token_deployment(owner_ref=distribution.offering.owner_ref)
    if token is None or not token.address:
        raise ApplicationError("The token is not deployed.", code="no_token")
    ids = list(_candidates(distribution).order_by("line_index").values_list("pk", flat=True)[:REINVEST_BATCH])
    if not ids:
        return 0, 0
    # The token's view calls are made before any lock is taken; the lines are checked again under the lock.
    lines = {line.pk: line for line in DistributionLine.objects.filter(pk__in=ids)}
    refusals = {pk: _refusal(distribution, line, token.address) for pk, line in lines.items()}
    with transaction.atomic():
        locked = Distribution.objects.select_for_update(of=("self",)).get(pk=distribution.pk)
        if locked.state not in PAYABLE_STATES:
            return 0, 0
        rows = list(
            _candidates(locked)
            .filter(pk__in=ids)
            .select_for_update(of=("self",))
            .select_related("distribution__offering__issuer")
            .order_by("pk")
        )
        accepted: list[DistributionLine] = []
        refused = 0
        for line in sorted(rows, key=lambda r: r.line_index):
            reason = refusals[line.pk]
            if reason:
                _fall_back(line, reason=reason, actor=actor)
                refused += 1
            else:
                accepted.append(line)
        if accepted:
            _mint(locked, accepted, actor)
    return len(accepted), refused


def _mint(distribution: Distribution, lines: list[DistributionLine], actor: User | None) -> ReinvestmentMint:
    price = distribution.reinvestment_price_minor
    assert price
    offering = distribution.offering
    number = (
        ReinvestmentMint.objects.filter(distribution=distribution)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    ) + 1
    units = sum(line.reinvest_units for line in lines)
    tx = token_batch_mint(
        owner_ref=offering.owner_ref,
        allocations=[(line.destination_wallet, line.reinvest_units) for line in lines],
        idempotency_key=f"{lines[0].idempotency_key}:reinvest:{number}",
        actor=actor,
        purpose=f"Reinvesting a {distribution.get_kind_display().lower()} of {offering.token_symbol}: "
        f"batch {number}, {units} tokens to {len(lines)} holders",
    )
    mint = ReinvestmentMint.objects.create(
        distribution=distribution,
        number=number,
        chain_transaction=tx,
        holders=len(lines),
        units=units,
        price_minor=price,
    )
    issuance_price_record(chain_transaction=tx, offering=offering, price_minor=price, currency=distribution.currency)
    DistributionLine.objects.filter(pk__in=[line.pk for line in lines]).update(reinvest_mint=mint)
    audit_record(
        actor=actor or "system",
        action="distribution.reinvestment_mint_queued",
        obj=mint,
        issuer=offering.issuer,
        after={"number": number, "holders": len(lines), "units": units, "price_minor": price, "transaction": tx.pk},
    )
    return mint


# --------------------------------------------------------------------------- settling


def _on_ledger(offering_id: int, tx: ChainTransaction) -> bool:
    hashes = [h for h in [tx.tx_hash, *(tx.previous_hashes or [])] if h]
    return (
        bool(hashes)
        and LedgerPosting.objects.filter(
            offering_id=offering_id, transaction_hash__in=hashes, kind=PostingKind.MINT
        ).exists()
    )


def _settle(distribution: Distribution, actor: User | None) -> tuple[int, int]:
    """Reinvest the lines of confirmed mints the ledger has posted; release failed ones. Returns (settled, refused)."""
    open_mints = list(
        ReinvestmentMint.objects.filter(distribution=distribution, settled_at__isnull=True, released_at__isnull=True)
        .select_related("chain_transaction")
        .order_by("number")
    )
    if not open_mints:
        return 0, 0
    if any(m.chain_transaction.status == TxStatus.CONFIRMED for m in open_mints):
        ledger_sync(offering=distribution.offering)  # what the indexer read is on the ledger before it is looked for
    settled = refused = 0
    for mint in open_mints:
        tx = mint.chain_transaction
        if tx.status == TxStatus.CONFIRMED and _on_ledger(distribution.offering_id, tx):
            settled += _mint_settle(distribution, mint, actor)
        elif tx.status == TxStatus.FAILED:
            if _on_ledger(distribution.offering_id, tx):
                # Marked failed, yet its tokens are on the ledger: it took effect and is not sent again.
                settled += _mint_settle(distribution, mint, actor)
            else:
                refused += _mint_release(distribution, mint, actor)
    return settled, refused


def _mint_settle(distribution: Distribution, mint: ReinvestmentMint, actor: User | None) -> int:
    with transaction.atomic():
        locked = ReinvestmentMint.objects.select_for_update().get(pk=mint.pk)
        if locked.settled_at is not None or locked.released_at is not None:
            return 0
        now = timezone.now()
        count = DistributionLine.objects.filter(reinvest_mint=locked).count()
        # Nothing left to pay in money: the line is done. A fraction in cash waits for the cash path.
        done = list(
            DistributionLine.objects.filter(
                reinvest_mint=locked, cash_minor=0, payment_state=LinePaymentState.PENDING
            ).values_list("pk", flat=True)
        )
        DistributionLine.objects.filter(pk__in=done).update(payment_state=LinePaymentState.REINVESTED, paid_at=now)
        distribution_lines_paid_notify(line_ids=done)
        locked.settled_at = now
        locked.save(update_fields=["settled_at"])
        # The units the mint issued enter the control book, so reconciliation finds them issued by the portal.
        control_book_post_issuance(
            offering=distribution.offering, quantity=locked.units, transaction_hash=mint.chain_transaction.tx_hash or ""
        )
        audit_record(
            actor=actor or "system",
            action="distribution.reinvestment_mint_settled",
            obj=locked,
            issuer=distribution.offering.issuer,
            after={"lines": count, "units": locked.units, "tx_hash": mint.chain_transaction.tx_hash},
        )
    return count


def _mint_release(distribution: Distribution, mint: ReinvestmentMint, actor: User | None) -> int:
    """A failed mint minted nothing: its lines are checked again; those the token refuses are paid in cash."""
    tx = mint.chain_transaction
    error = tx.error_name or tx.last_error or "failed"
    token = token_deployment(owner_ref=distribution.offering.owner_ref)
    lines = list(DistributionLine.objects.filter(reinvest_mint=mint))
    refusals = {line.pk: _refusal(distribution, line, token.address if token else "") for line in lines}
    released = ReinvestmentMint.objects.filter(distribution=distribution, released_at__isnull=False).count()
    refused = 0
    with transaction.atomic():
        locked = ReinvestmentMint.objects.select_for_update().get(pk=mint.pk)
        if locked.settled_at is not None or locked.released_at is not None:
            return 0
        locked.released_at = timezone.now()
        locked.save(update_fields=["released_at"])
        for line in (
            DistributionLine.objects.select_for_update(of=("self",))
            .select_related("distribution__offering__issuer")
            .filter(reinvest_mint=locked)
            .order_by("pk")
        ):
            reason = refusals.get(line.pk, "")
            if not reason and released + 1 >= MAX_RELEASED_MINTS:
                reason = f"The mint failed {released + 1} times ({error}); the distribution is paid in cash."
            if reason:
                _fall_back(line, reason=reason, actor=actor)
                refused += 1
        DistributionLine.objects.filter(reinvest_mint=locked).update(reinvest_mint=None)
        audit_record(
            actor=actor or "system",
            action="distribution.reinvestment_mint_released",
            obj=locked,
            issuer=distribution.offering.issuer,
            after={"error": error[:200], "lines": len(lines), "paid_in_cash": refused},
        )
    return refused
