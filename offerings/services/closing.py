"""Closing an offering: mint to every paid and eligible subscription, or refund everyone.

Closing runs in steps, each its own transaction under the offering's row lock: end the unpaid
subscriptions, then mint up to `CLOSING_MINT_MAX_HOLDERS` holders per chain transaction (the outbox row,
the batch and the subscriptions' new state commit together, with an idempotency key per batch
number), then settle batches as their transactions confirm. A step that is interrupted leaves
nothing half-done, and the next run carries on where the last committed step stopped, so nothing
is minted or refunded twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import OrderedDict, defaultdict
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from compliance.eligibility import subscription_eligibility, verified_wallets
from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from core.tasks import task_enqueue_on_commit
from investors.models import Wallet
from offerings.models import (
    CloseOutcome,
    MintBatch,
    Offering,
    OfferingStatus,
    Subscription,
    SubscriptionStatus,
)
from offerings.pricing import offering_pricer
from offerings.selectors.offerings import paid_total
from offerings.selectors.subscriptions import closing_contexts
from offerings.services.offerings import offering_opened_at, offering_terms
from offerings.services.subscriptions import _end
from tokens import services as chain
from tokens.models import OPEN_STATUSES, ChainTransaction, TxStatus
from tokens.selectors import token_deployment, token_holdings_onchain
from tokens.services import CHAIN_TRANSIENT_ERRORS

log = logging.getLogger(__name__)
END_CHUNK = 200


def close_refusal(offering: Offering, *, now: dt.datetime, scheduled: bool) -> str | None:
    if offering.status == OfferingStatus.DRAFT:
        return "Publish the offering before closing it."
    if offering.status != OfferingStatus.OPEN:
        return f"This offering is already {offering.get_status_display().lower()}."
    if offering.min_open_days and not scheduled:
        # Reg CF 227.303(a): open to the public at least 21 days (from publication) before any sale.
        earliest = offering_opened_at(offering) + dt.timedelta(days=offering.min_open_days)
        if now < earliest:
            return (
                f"{offering.get_exemption_display()} offerings can close no earlier than {offering.min_open_days} "
                f"days after opening: {earliest:%d %B %Y at %H:%M} UTC."
            )
    if offering.cancel_window_hours and not scheduled and now < offering.closes_at:
        # Reg CF 227.304(a): investors may cancel until 48 hours before the deadline they were shown, so
        # the offering closes at that deadline, not earlier.
        return (
            f"Investors may cancel until {offering.cancel_window_hours} hours before the deadline they were shown, "
            f"{offering.closes_at:%d %B %Y at %H:%M} UTC; the offering closes then, on its own."
        )
    if token_deployment(owner_ref=offering.owner_ref) is None:
        return "The offering's token is not deployed."
    return None


def offering_close(*, offering: Offering, actor: User | None, scheduled: bool = False) -> Offering:
    """Decide the outcome (soft cap met: mint; else: refund) and take the first step with it."""
    with transaction.atomic():
        offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering.pk)
        now = timezone.now()
        if offering.status == OfferingStatus.CLOSING:
            raise Conflict("This offering is already closing; progress is on its dashboard.", code="closing")
        refusal = close_refusal(offering, now=now, scheduled=scheduled)
        if refusal:
            raise ApplicationError(refusal, code="cannot_close")
        paid = paid_total(offering=offering)
        outcome = CloseOutcome.MINT if paid >= offering.soft_cap_minor else CloseOutcome.REFUND
        if outcome == CloseOutcome.MINT:
            # Every unit the close would mint, checked before anything is signed (a reserve guard may refuse).
            chain.token_mint_check(owner_ref=offering.owner_ref, units=_paid_quantity(offering))
        offering.status = OfferingStatus.CLOSING
        offering.close_outcome = outcome
        offering.close_requested_at = now
        offering.save(update_fields=["status", "close_outcome", "close_requested_at", "updated_at"])
        audit_record(
            actor=actor or "scheduled close",
            action="offering.close_started",
            obj=offering,
            before={"status": OfferingStatus.OPEN},
            after={
                "status": offering.status,
                "outcome": outcome,
                "paid_minor": paid,
                "soft_cap": offering.soft_cap_minor,
            },
        )
        _step(offering, actor)
        from offerings.tasks import closing_advance_task

        task_enqueue_on_commit(
            closing_advance_task, offering.pk, when_broker_down="the beat's next pass advances every closing"
        )
    return offering


def _paid_quantity(offering: Offering) -> int:
    rows = Subscription.objects.filter(offering=offering, status=SubscriptionStatus.PAID, mint_batch__isnull=True)
    return sum(rows.values_list("quantity", flat=True))


class _MintHeld(Exception):
    """A mint guard refused the next batch: the closing waits (nothing signed) until the guard allows it."""


def offerings_close_due(*, now: dt.datetime | None = None) -> int:
    """Close the open offerings whose close date arrived; a refused close is logged and left open."""
    closed = 0
    for offering in Offering.objects.filter(status=OfferingStatus.OPEN, closes_at__lte=now or timezone.now()):
        try:
            offering_close(offering=offering, actor=None, scheduled=True)
            closed += 1
        except ApplicationError as exc:
            log.warning("scheduled close of offering %s refused: %s", offering.pk, exc.message)
    return closed


def closings_advance() -> int:
    """Carry on every closing (settles batches whose transactions confirmed)."""
    ids = list(Offering.objects.filter(status=OfferingStatus.CLOSING).values_list("pk", flat=True))
    for offering_id in ids:
        closing_advance(offering_id=offering_id)
    return len(ids)


def closing_advance(*, offering_id: int, max_steps: int | None = None) -> str:
    """Run closing steps until it waits for the chain or is done. Safe to run twice, concurrently too."""
    steps = 0
    while max_steps is None or steps < max_steps:
        with transaction.atomic():
            offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering_id)
            if offering.status != OfferingStatus.CLOSING:
                return offering.status
            more = _step(offering, None)
        steps += 1
        if not more:
            break
    return Offering.objects.values_list("status", flat=True).get(pk=offering_id)


def _step(offering: Offering, actor: User | None) -> bool:
    """One unit of closing work on the locked offering. True when there is more to do right away."""
    if offering.close_outcome == CloseOutcome.REFUND:
        return _refund_step(offering, actor)
    unpaid = list(
        Subscription.objects.filter(
            offering=offering, status__in=[SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED]
        ).order_by("pk")[:END_CHUNK]
    )
    for s in unpaid:
        _end(
            s,
            status=SubscriptionStatus.CANCELLED,
            reason="Not paid in full when the offering closed; any part payment is refunded.",
            actor=actor,
        )
    if unpaid:
        return True
    if offering.close_screened_at is None:
        return _screen_step(offering, actor)
    try:
        if _mint_next_batch(offering, actor):
            return True
    except _MintHeld:
        return False
    return _settle(offering)


def _eligible(offering: Offering, rows: list[Subscription], actor: User | None) -> list[tuple[Subscription, str]]:
    """Check each paid subscription as at closing; reject (and refund) those no longer eligible.

    Returns the eligible ones with the registered wallet each is minted to."""
    terms = dataclasses.replace(offering_terms(offering), accepting=True)
    contexts = closing_contexts(offering=offering, subscriptions=rows)
    accepted: list[tuple[Subscription, str]] = []
    for s in rows:
        context = contexts[s.pk]
        result = subscription_eligibility(
            investor=s.investor, terms=terms, amount_minor=s.amount_minor, context=context
        )
        if not result.allowed:
            _end(
                s,
                status=SubscriptionStatus.REJECTED,
                reason="Not eligible when the offering closed: " + " ".join(r.message for r in result.reasons),
                actor=actor,
            )
            continue
        registered = context.registered_wallets or frozenset()
        wallet = (
            s.wallet_address
            if s.wallet_address in registered
            else verified_wallets(s.investor, registered=registered)[0]
        )
        accepted.append((s, wallet))
    return accepted


def _priced(
    offering: Offering, accepted: list[tuple[Subscription, str]], actor: User | None
) -> list[tuple[Subscription, str]]:
    """An offering priced otherwise than at its fixed price (at NAV, forward: offerings.pricing) issues each
    subscription at its final price: the quantity and cost set, what was paid beyond the cost left to be paid
    back as an overpayment. Those that cannot be priced yet wait; when none can, the closing holds (nothing
    signed) until the price is published. One whose payment buys no whole unit is rejected and refunded."""
    pricer = offering_pricer(offering)
    if pricer is None or not accepted:
        return accepted
    finals = pricer.quantities_final(offering, [s for s, _ in accepted])
    ready: list[tuple[Subscription, str]] = []
    for s, wallet in accepted:
        final = finals.get(s.pk)
        if final is None:
            continue
        if final.quantity < 1:
            _end(s, status=SubscriptionStatus.REJECTED, reason=f"{final.note} Your payment is refunded.", actor=actor)
            continue
        if (s.quantity, s.amount_minor) != (final.quantity, final.amount_minor):
            before = {"quantity": s.quantity, "amount_minor": s.amount_minor}
            released = s.amount_minor - final.amount_minor
            s.quantity, s.amount_minor = final.quantity, final.amount_minor
            s.save(update_fields=["quantity", "amount_minor", "updated_at"])
            Offering.objects.filter(pk=offering.pk).update(committed_minor=F("committed_minor") - released)
            audit_record(
                actor=actor or "system",
                action="subscription.priced",
                obj=s,
                issuer=offering.issuer,
                before=before,
                after={"quantity": s.quantity, "amount_minor": s.amount_minor, "note": final.note},
            )
        ready.append((s, wallet))
    if not ready and len(finals) < len(accepted):
        raise _MintHeld("waiting for the price of the dealing day")
    return ready


def _paid_rows(offering: Offering, *, after_pk: int, limit: int) -> list[Subscription]:
    return list(
        Subscription.objects.filter(
            offering=offering, status=SubscriptionStatus.PAID, mint_batch__isnull=True, pk__gt=after_pk
        )
        .select_related("investor")
        .prefetch_related(
            "investor__accreditation_claims",
            Prefetch(
                "investor__wallets", queryset=Wallet.objects.filter(removed_at__isnull=True).order_by("linked_at")
            ),
        )
        .order_by("pk")[:limit]
    )


def _screen_step(offering: Offering, actor: User | None) -> bool:
    """Screen paid subscriptions in chunks, then decide the soft cap again on what is left.

    The soft cap counted at the close request included subscriptions that may be found ineligible now;
    minting for the rest when they no longer reach the minimum would issue an offering that failed.
    """
    rows = _paid_rows(offering, after_pk=offering.close_screened_through, limit=END_CHUNK)
    if rows:
        _eligible(offering, rows, actor)
        offering.close_screened_through = rows[-1].pk
        offering.save(update_fields=["close_screened_through", "updated_at"])
        return True
    paid = paid_total(offering=offering)
    offering.close_screened_at = timezone.now()
    fields = ["close_screened_at", "updated_at"]
    if paid < offering.soft_cap_minor:
        offering.close_outcome = CloseOutcome.REFUND
        fields.append("close_outcome")
    offering.save(update_fields=fields)
    audit_record(
        actor=actor or "system",
        action="offering.close_screened",
        obj=offering,
        after={"paid_minor": paid, "soft_cap": offering.soft_cap_minor, "outcome": offering.close_outcome},
    )
    return True


def _refund_step(offering: Offering, actor: User | None) -> bool:
    open_rows = list(
        Subscription.objects.filter(
            offering=offering,
            status__in=[SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED, SubscriptionStatus.PAID],
        ).order_by("pk")[:END_CHUNK]
    )
    for s in open_rows:
        _end(
            s,
            status=SubscriptionStatus.CANCELLED,
            reason="The offering did not reach its minimum (soft cap); your payment is refunded.",
            actor=actor,
        )
    if open_rows:
        return True
    offering.status = OfferingStatus.FAILED
    offering.closed_at = timezone.now()
    offering.save(update_fields=["status", "closed_at", "updated_at"])
    # Each investor was told as their subscription ended, with the reason and the refund.
    audit_record(actor=actor or "system", action="offering.closed_unsuccessful", obj=offering)
    return False


def _mint_next_batch(offering: Offering, actor: User | None) -> bool:
    size = max(1, min(int(settings.CLOSING_MINT_MAX_HOLDERS), 100))
    rows = _paid_rows(offering, after_pk=0, limit=size)
    if not rows:
        return False
    # Checked again at minting: time passed since screening (a sanctions hit, an expired KYC).
    accepted = _priced(offering, _eligible(offering, rows, actor), actor)
    allocations: OrderedDict[str, int] = OrderedDict()
    for s, wallet in accepted:
        allocations[wallet] = allocations.get(wallet, 0) + s.quantity
    if not accepted:
        return True
    number = (
        MintBatch.objects.filter(offering=offering).order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    try:
        tx = chain.token_batch_mint(
            owner_ref=offering.owner_ref,
            allocations=list(allocations.items()),
            idempotency_key=f"close:{offering.pk}:{number}",
            actor=actor,
            purpose=f"Closing {offering.token_symbol}: mint batch {number} to {len(allocations)} holders",
        )
    except chain.MintRefused as exc:
        # Nothing is signed and the closing waits; the backing panel on the dashboard says mints are held.
        log.warning("closing mint batch %s of offering %s held: %s", number, offering.pk, exc.message)
        raise _MintHeld(exc.message) from exc
    batch = MintBatch.objects.create(
        offering=offering,
        number=number,
        chain_transaction=tx,
        holders=len(allocations),
        quantity=sum(allocations.values()),
    )
    now = timezone.now()
    for s, wallet in accepted:
        s.status, s.mint_batch, s.wallet_address, s.updated_at = SubscriptionStatus.ALLOCATED, batch, wallet, now
    Subscription.objects.bulk_update([s for s, _ in accepted], ["status", "mint_batch", "wallet_address", "updated_at"])
    audit_record(
        actor=actor or "system",
        action="offering.mint_batch_queued",
        obj=batch,
        issuer=offering.issuer,
        after={"number": number, "holders": batch.holders, "quantity": batch.quantity, "transaction": tx.pk},
    )
    return True


def _settle(offering: Offering) -> bool:
    """Mark subscriptions of confirmed batches issued; close the offering when every batch is."""
    pending = list(
        MintBatch.objects.filter(offering=offering, settled_at__isnull=True, released_at__isnull=True).select_related(
            "chain_transaction"
        )
    )
    now = timezone.now()
    for batch in pending:
        if batch.chain_transaction.status != TxStatus.CONFIRMED:
            continue
        Subscription.objects.filter(mint_batch=batch, status=SubscriptionStatus.ALLOCATED).update(
            status=SubscriptionStatus.ISSUED, issued_at=now, updated_at=now
        )
        batch.settled_at = now
        batch.save(update_fields=["settled_at"])
        audit_record(actor="system", action="offering.mint_batch_confirmed", obj=batch, issuer=offering.issuer)
        _notify("issued", offering, batch.pk)
    if MintBatch.objects.filter(offering=offering, settled_at__isnull=True, released_at__isnull=True).exists():
        return False
    offering.status = OfferingStatus.CLOSED
    offering.closed_at = now
    offering.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(actor="system", action="offering.closed", obj=offering)
    return False


def _notify(kind: str, offering: Offering, batch_id: int | None) -> None:
    from offerings.tasks import closing_notify_task

    # E-mail is best effort once the state is committed.
    task_enqueue_on_commit(
        closing_notify_task,
        kind,
        offering.pk,
        batch_id,
        when_broker_down="the holders are told when the task next runs",
    )


# --------------------------------------------------------------------------- a failed mint batch


class MintFinding(StrEnum):
    """What the chain shows about a failed batch."""

    ABSENT = "absent"  # nothing of it is minted: its subscriptions may be minted again
    MINTED = "minted"  # its tokens are there: the batch is settled, nothing is sent again
    UNCLEAR = "unclear"  # the token's figures match neither: a person reconciles first


def _batch_finding(offering: Offering, batch: MintBatch) -> tuple[MintFinding, str]:
    """Compare the token's supply and the batch's recipients' balances with what the portal minted."""
    confirmed = MintBatch.objects.filter(
        offering=offering, released_at__isnull=True, chain_transaction__status=TxStatus.CONFIRMED
    ).exclude(pk=batch.pk)
    minted_before = sum(confirmed.values_list("quantity", flat=True))
    mine: dict[str, int] = defaultdict(int)
    for wallet, quantity in batch.subscriptions.values_list("wallet_address", "quantity"):
        mine[wallet] += quantity
    before: dict[str, int] = defaultdict(int)
    for wallet, quantity in Subscription.objects.filter(
        mint_batch__in=confirmed, wallet_address__in=list(mine)
    ).values_list("wallet_address", "quantity"):
        before[wallet] += quantity
    try:
        holdings = token_holdings_onchain(owner_ref=offering.owner_ref, wallets=list(mine))
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError(
            "The chain cannot be reached, so whether this batch was minted cannot be checked; nothing was "
            "retried. Try again in a few minutes.",
            code="chain_unavailable",
        ) from exc
    if holdings is None:
        raise ApplicationError("The offering's token has no address yet.", code="no_token")
    figures = (
        f"on-chain supply {holdings.supply}, minted by confirmed batches {minted_before}, this batch {batch.quantity}"
    )
    if holdings.supply == minted_before:
        return MintFinding.ABSENT, figures
    if holdings.supply == minted_before + batch.quantity and all(
        holdings.balances.get(w, 0) >= before[w] + q for w, q in mine.items()
    ):
        return MintFinding.MINTED, figures
    return MintFinding.UNCLEAR, figures


def mint_batch_retry(*, batch: MintBatch, actor: User) -> MintFinding:
    """Deal with a failed mint batch after checking on-chain whether it minted after all.

    Minted: the batch is settled as issued, nothing is sent again. Not minted: the batch is released,
    its subscriptions are screened again and minted in a new batch (the failed transaction is never
    sent again). Neither: nothing changes until a person reconciles the token.
    """
    with transaction.atomic():
        offering = Offering.objects.select_for_update().select_related("issuer").get(pk=batch.offering_id)
        batch = MintBatch.objects.select_for_update().select_related("chain_transaction").get(pk=batch.pk)
        if offering.status != OfferingStatus.CLOSING:
            raise Conflict("The offering is no longer closing.", code="not_closing")
        if batch.released_at is not None or batch.settled_at is not None:
            raise Conflict(f"Batch {batch.number} was already dealt with.", code="batch_done")
        if batch.chain_transaction.status != TxStatus.FAILED:
            raise Conflict(
                f"Batch {batch.number} has not failed; it is {batch.chain_transaction.get_status_display().lower()}.",
                code="not_failed",
            )
        in_flight = (
            MintBatch.objects.filter(offering=offering, settled_at__isnull=True, released_at__isnull=True)
            .exclude(pk=batch.pk)
            .filter(chain_transaction__status__in=OPEN_STATUSES)
        )
        if in_flight.exists():
            raise Conflict(
                "Other batches of this offering are still on their way to the chain; try again once they are "
                "confirmed, so the check reads final figures.",
                code="batches_in_flight",
            )
        finding, figures = _batch_finding(offering, batch)
        error = batch.chain_transaction.error_name or batch.chain_transaction.last_error[:200]
        now = timezone.now()
        if finding == MintFinding.UNCLEAR:
            audit_record(
                actor=actor,
                action="offering.mint_batch_unclear",
                obj=batch,
                issuer=offering.issuer,
                after={"figures": figures},
            )
        elif finding == MintFinding.MINTED:
            Subscription.objects.filter(mint_batch=batch, status=SubscriptionStatus.ALLOCATED).update(
                status=SubscriptionStatus.ISSUED, issued_at=now, updated_at=now
            )
            batch.settled_at = now
            batch.save(update_fields=["settled_at"])
            audit_record(
                actor=actor,
                action="offering.mint_batch_found_on_chain",
                obj=batch,
                issuer=offering.issuer,
                before={"error": error},
                after={"figures": figures},
            )
            _notify("issued", offering, batch.pk)
        else:
            released = list(
                batch.subscriptions.filter(status=SubscriptionStatus.ALLOCATED).values_list("pk", flat=True)
            )
            Subscription.objects.filter(pk__in=released).update(
                status=SubscriptionStatus.PAID, mint_batch=None, updated_at=now
            )
            batch.released_at = now
            batch.save(update_fields=["released_at"])
            audit_record(
                actor=actor,
                action="offering.mint_batch_released",
                obj=batch,
                issuer=offering.issuer,
                before={"error": error, "subscriptions": released},
                after={"figures": figures},
            )
        if finding != MintFinding.UNCLEAR:
            from offerings.tasks import closing_advance_task

            task_enqueue_on_commit(
                closing_advance_task, offering.pk, when_broker_down="the beat's next pass advances every closing"
            )
    if finding == MintFinding.UNCLEAR:
        raise Conflict(
            f"The token's figures match neither outcome ({figures}); nothing was retried. The token must be "
            "reconciled before this batch is minted again.",
            code="mint_unclear",
        )
    return finding


def mint_transaction_retry_guard(tx: ChainTransaction) -> None:
    """The chain page's retry is refused for closing mints: only `mint_batch_retry` checks the chain first."""
    raise ApplicationError(
        "This is a closing mint batch: retry it from the offering's dashboard, which first checks on-chain "
        "whether the batch was already minted (and never sends a released batch again).",
        code="retry_from_offering",
    )
