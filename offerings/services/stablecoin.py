"""Stablecoin payments: transfers the indexer read into the receiving address, matched to payments.

A transfer matches when it comes from a wallet the investor linked and its amount is exactly what
one of that investor's open stablecoin payments asks for. Anything else is recorded and flagged for
a person (never guessed), like a wire with the wrong amount.

The indexer stores only events from final blocks, so nothing is credited before finality. A reorg
deeper than that makes the indexer drop events; a receipt whose event is gone is reversed with a
compensating ledger entry and listed for staff, and credited once more if the chain includes the same
transfer (transaction hash, log index) again.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from investors.models import Wallet
from offerings.models import Payment, PaymentStatus, StablecoinMatch, StablecoinReceipt, SubscriptionStatus
from offerings.services.payments import payment_received, payment_reversed
from tokens.models import ChainEvent
from tokens.selectors import stablecoin_transfers_received
from tokens.services import stablecoin_send

log = logging.getLogger(__name__)
PROVIDER = "stablecoin"


def units_per_cent() -> int:
    # USD cents have 2 decimals; the token has STABLECOIN_DECIMALS (6 for USDC).
    return int(10 ** (settings.STABLECOIN_DECIMALS - 2))


def cents_to_units(amount_minor: int) -> int:
    return amount_minor * units_per_cent()


def _match(sender: str, amount_units: int) -> tuple[str, Payment | None, int | None]:
    whole, rest = divmod(amount_units, units_per_cent())
    amount_minor = whole if rest == 0 else None
    wallet = Wallet.objects.filter(address=sender, removed_at__isnull=True).select_related("investor").first()
    if wallet is None:
        return StablecoinMatch.UNKNOWN_SENDER, None, amount_minor
    open_payments = list(
        Payment.objects.filter(
            provider=PROVIDER,
            status__in=[PaymentStatus.STARTED, PaymentStatus.PROCESSING],
            subscription__investor=wallet.investor,
        ).order_by("created_at")
    )
    if not open_payments:
        return StablecoinMatch.NO_OPEN_PAYMENT, None, amount_minor
    exact = [p for p in open_payments if amount_minor is not None and p.amount_minor == amount_minor]
    if len(exact) != 1:
        return StablecoinMatch.AMOUNT_MISMATCH, None, amount_minor
    return StablecoinMatch.MATCHED, exact[0], amount_minor


def _credit(receipt: StablecoinReceipt, payment: Payment) -> None:
    Payment.objects.filter(pk=payment.pk).update(details={**payment.details, "paid_from": receipt.sender})
    payment_received(
        payment=payment,
        amount_minor=int(receipt.amount_minor or 0),
        currency="USD",
        external_ref=receipt.credit_ref,
        actor="stablecoin",
        note=f"From {receipt.sender}",
    )
    StablecoinReceipt.objects.filter(pk=receipt.pk).update(credited=True)


def _dropped_note(receipt: StablecoinReceipt) -> str:
    if receipt.match == StablecoinMatch.RETURNED:
        return "It had been sent back: the portal returned money the chain no longer shows arriving."
    if receipt.payment is None:
        return "It was never credited; nothing to reverse."
    subscription = receipt.payment.subscription
    if subscription.status in (SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED):
        return (
            f"The credit was reversed, but the subscription was already {subscription.get_status_display().lower()}: "
            "tokens exist for money the portal does not hold."
        )
    return "The credit was reversed; the payment is open again until the transfer is on the chain once more."


def _follow_reorgs() -> int:
    """Receipts whose event the indexer dropped: the same transfer elsewhere, or a reversal."""
    received = stablecoin_transfers_received()
    gone = StablecoinReceipt.objects.filter(reorged_at__isnull=True, chain_event_id__isnull=False).filter(
        ~Exists(received.filter(pk=OuterRef("chain_event_id")))
    )
    changed = 0
    for receipt_id in list(gone.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            receipt = (
                StablecoinReceipt.objects.select_for_update().select_related("payment__subscription").get(pk=receipt_id)
            )
            if receipt.reorged_at is not None or receipt.chain_event_id is None:
                continue  # another pass dealt with it
            if received.filter(pk=receipt.chain_event_id).exists():
                continue  # its event is back (a concurrent pass re-read it)
            again = received.filter(transaction_hash=receipt.transaction_hash, log_index=receipt.log_index).first()
            if again is not None and not StablecoinReceipt.objects.filter(chain_event_id=again.pk).exists():
                # Re-included in a new block before this pass saw it gone: the same holding, nothing to undo.
                receipt.chain_event_id, receipt.block_number = again.pk, again.block_number
                receipt.save(update_fields=["chain_event_id", "block_number"])
                continue
            note = _dropped_note(receipt)
            if receipt.credited and receipt.payment is not None:
                payment_reversed(
                    payment=receipt.payment,
                    amount_minor=int(receipt.amount_minor or 0),
                    currency="USD",
                    external_ref=receipt.credit_ref,
                    actor="stablecoin",
                    note=f"The chain dropped the transfer from {receipt.sender}",
                )
            before = {"block": receipt.block_number, "credited": receipt.credited}
            receipt.reorged_at, receipt.reorg_note = timezone.now(), note
            receipt.chain_event_id, receipt.credited = None, False
            receipt.save(update_fields=["reorged_at", "reorg_note", "chain_event_id", "credited"])
            audit_record(
                actor="stablecoin",
                action="payment.stablecoin_reorged",
                obj=receipt,
                before=before,
                after={"credited": False, "note": note},
            )
            log.error("stablecoin transfer %s dropped by a reorg: %s", receipt.credit_ref, note)
            changed += 1
    return changed


def _include_again(receipt_id: int, event: ChainEvent) -> bool:
    with transaction.atomic():
        receipt = StablecoinReceipt.objects.select_for_update().select_related("payment").get(pk=receipt_id)
        if receipt.reorged_at is None:
            return False  # it still points at an event on the chain; a later pass sorts this out
        receipt.chain_event_id, receipt.block_number = event.pk, event.block_number
        receipt.reorged_at, receipt.reorg_note = None, ""
        receipt.inclusions += 1
        receipt.save(update_fields=["chain_event_id", "block_number", "reorged_at", "reorg_note", "inclusions"])
        if receipt.match == StablecoinMatch.MATCHED and receipt.payment is not None:
            _credit(receipt, receipt.payment)
        audit_record(
            actor="stablecoin",
            action="payment.stablecoin_included_again",
            obj=receipt,
            after={"block": event.block_number, "inclusions": receipt.inclusions},
        )
    return True


def stablecoin_receipts_match(*, limit: int = 1000) -> int:
    """Record every new transfer into the receiving address once and credit the ones that match.

    First follows reorgs (receipts whose event is gone); then reads the events no receipt points at.
    """
    changed = _follow_reorgs()
    received = stablecoin_transfers_received()
    unread = received.filter(~Exists(StablecoinReceipt.objects.filter(chain_event_id=OuterRef("pk")))).order_by("pk")
    for event in list(unread[:limit]):
        known = (
            StablecoinReceipt.objects.filter(transaction_hash=event.transaction_hash, log_index=event.log_index)
            .values_list("pk", flat=True)
            .first()
        )
        if known is not None:
            changed += _include_again(known, event)
            continue
        sender, amount_units = event.args["from"], int(event.args["value"])
        match, payment, amount_minor = _match(sender, amount_units)
        try:
            with transaction.atomic():
                receipt = StablecoinReceipt.objects.create(
                    chain_event_id=event.pk,
                    transaction_hash=event.transaction_hash,
                    log_index=event.log_index,
                    block_number=event.block_number,
                    sender=sender,
                    amount_units=Decimal(amount_units),
                    amount_minor=amount_minor,
                    match=match,
                    payment=payment,
                )
                if payment is not None and amount_minor is not None:
                    _credit(receipt, payment)
                else:
                    audit_record(
                        actor="stablecoin",
                        action="payment.stablecoin_flagged",
                        obj=receipt,
                        after={"sender": sender, "amount_units": str(amount_units), "reason": match},
                    )
        except IntegrityError:
            continue  # another worker recorded this transfer first
        changed += 1
    return changed


@transaction.atomic
def stablecoin_receipt_return(*, receipt: StablecoinReceipt, actor: User) -> StablecoinReceipt:
    """Send a flagged transfer back to the wallet it came from (it could not be matched to anyone).

    Once per transfer: the receipt row is locked and its state checked, and the chain transaction's
    idempotency key is the transfer's own (transaction hash, log index).
    """
    locked = StablecoinReceipt.objects.select_for_update().get(pk=receipt.pk)
    if locked.match == StablecoinMatch.MATCHED:
        raise ApplicationError("This transfer paid a subscription; refund the subscription instead.", code="matched")
    if locked.match == StablecoinMatch.RETURNED:
        raise ApplicationError("This transfer was already sent back.", code="returned")
    if not locked.on_chain:
        raise ApplicationError(
            "The chain no longer holds this transfer (a reorg dropped it); nothing can be sent back.", code="reorged"
        )
    before = {"match": locked.match}
    tx = stablecoin_send(
        to_wallet=locked.sender,
        amount=int(locked.amount_units),
        idempotency_key=f"stablecoin-return:{locked.transaction_hash}:{locked.log_index}",
        purpose=f"Return an unmatched stablecoin transfer to {locked.sender}",
        actor=actor,
    )
    locked.match, locked.returned_at, locked.returned_by = StablecoinMatch.RETURNED, timezone.now(), actor
    locked.save(update_fields=["match", "returned_at", "returned_by"])
    audit_record(
        actor=actor,
        action="payment.stablecoin_returned",
        obj=locked,
        before=before,
        after={"match": locked.match, "chain_transaction": tx.idempotency_key},
    )
    return locked
