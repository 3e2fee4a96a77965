"""Stablecoin payments: transfers the indexer read into the receiving address, matched to payments.

A transfer matches when it comes from a wallet the investor linked and its amount is exactly what
one of that investor's open stablecoin payments asks for. Anything else is recorded and flagged for
a person (never guessed), like a wire with the wrong amount.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from investors.models import Wallet
from offerings.models import Payment, PaymentStatus, StablecoinMatch, StablecoinReceipt
from offerings.services.payments import payment_received
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


def stablecoin_receipts_match(*, limit: int = 1000) -> int:
    """Record every new transfer into the receiving address once and credit the ones that match."""
    last = StablecoinReceipt.objects.aggregate(last=Max("chain_event_id"))["last"] or 0
    recorded = 0
    for event in stablecoin_transfers_received(after_event_id=last)[:limit]:
        sender, amount_units = event.args["from"], int(event.args["value"])
        match, payment, amount_minor = _match(sender, amount_units)
        try:
            with transaction.atomic():
                receipt = StablecoinReceipt.objects.create(
                    chain_event_id=event.pk,
                    transaction_hash=event.transaction_hash,
                    log_index=event.log_index,
                    sender=sender,
                    amount_units=Decimal(amount_units),
                    amount_minor=amount_minor,
                    match=match,
                    payment=payment,
                )
                if payment is not None and amount_minor is not None:
                    Payment.objects.filter(pk=payment.pk).update(details={**payment.details, "paid_from": sender})
                    payment_received(
                        payment=payment,
                        amount_minor=amount_minor,
                        currency="USD",
                        external_ref=f"{event.transaction_hash}:{event.log_index}",
                        actor="stablecoin",
                        note=f"From {sender}",
                    )
                else:
                    audit_record(
                        actor="stablecoin",
                        action="payment.stablecoin_flagged",
                        obj=receipt,
                        after={"sender": sender, "amount_units": str(amount_units), "reason": match},
                    )
        except IntegrityError:
            continue  # another worker recorded this transfer first
        recorded += 1
    return recorded


@transaction.atomic
def stablecoin_receipt_return(*, receipt: StablecoinReceipt, actor: User) -> StablecoinReceipt:
    """Send a flagged transfer back to the wallet it came from (it could not be matched to anyone)."""
    locked = StablecoinReceipt.objects.select_for_update().get(pk=receipt.pk)
    if locked.match == StablecoinMatch.MATCHED:
        raise ApplicationError("This transfer paid a subscription; refund the subscription instead.", code="matched")
    if locked.match == StablecoinMatch.RETURNED:
        raise ApplicationError("This transfer was already sent back.", code="returned")
    before = {"match": locked.match}
    tx = stablecoin_send(
        to_wallet=locked.sender,
        amount=int(locked.amount_units),
        idempotency_key=f"stablecoin-return:{locked.pk}",
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
