"""Declaring a distribution and scheduling its record date on the token; cancelling one not yet approved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import Issuer, User
from core.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR, Money
from distributions.models import (
    AmountBasis,
    Distribution,
    DistributionKind,
    DistributionState,
    PaymentMethod,
)
from distributions.selectors import record_dates_ahead
from offerings.models import Offering
from registry.selectors.ledger import ledger_total
from registry.selectors.record_date import record_date_ahead
from tokens.selectors import address_checksum, address_is_valid, chain_head_time, token_deployment
from tokens.services import CHAIN_TRANSIENT_ERRORS, token_record_date_schedule

# The token must be told of a record date before it passes; the outbox needs a little time to send it.
# settings.DISTRIBUTION_RECORD_DATE_LEAD_SECONDS sets it; this is its default.
RECORD_DATE_LEAD = dt.timedelta(minutes=5)


def record_date_lead() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "DISTRIBUTION_RECORD_DATE_LEAD_SECONDS", RECORD_DATE_LEAD.seconds))


# A payment date further out than this is a typing mistake, not a plan.
PAYMENT_WITHIN = dt.timedelta(days=366 * 2)
# The stablecoin pays US dollars (offerings.services.stablecoin converts cents to its units).
STABLECOIN_CURRENCY = "USD"


def record_moment(record_date: dt.date) -> dt.datetime:
    """The record date as the token's checkpoint sees it: the end of that day in the portal's time zone."""
    end = dt.datetime.combine(record_date, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_default_timezone())


@dataclass(frozen=True)
class DistributionInput:
    kind: str
    amount_basis: str
    amount_minor: int
    currency: str
    record_date: dt.date
    payment_date: dt.date
    payment_method: str
    excluded_wallets: Sequence[str] = field(default_factory=list)
    reinvestment_price_minor: int | None = None
    # The checkpoint moment; the end of `record_date` unless given (a record time within the day).
    record_at: dt.datetime | None = None


def _refuse(message: str, code: str, field_name: str | None = None) -> ApplicationError:
    return ApplicationError(message, code=code, extra={"field": field_name} if field_name else None)


def _chain_now() -> dt.datetime:
    """The later of the portal's clock and the chain's: the token refuses a record date before its own."""
    now = timezone.now()
    try:
        return max(now, chain_head_time())
    except CHAIN_TRANSIENT_ERRORS:
        return now


def _validate(*, offering: Offering, data: DistributionInput) -> tuple[dt.datetime, list[str]]:
    if data.kind not in DistributionKind.values:
        raise _refuse("Choose the kind of distribution.", "kind", "kind")
    if data.amount_basis not in AmountBasis.values:
        raise _refuse("Say whether the amount is the total or per token.", "amount_basis", "amount_basis")
    if data.payment_method not in PaymentMethod.values:
        raise _refuse("Choose how it is paid.", "payment_method", "payment_method")
    currency = (data.currency or "").upper()
    if currency not in CURRENCY_EXPONENTS:
        raise _refuse(
            f"{data.currency or 'The currency'} is not a currency the portal pays in.", "currency", "currency"
        )
    if data.payment_method == PaymentMethod.STABLECOIN and currency != STABLECOIN_CURRENCY:
        raise _refuse(
            f"The stablecoin pays {STABLECOIN_CURRENCY}; declare the amount in {STABLECOIN_CURRENCY} or pay by a "
            "bank payment file.",
            "currency_mismatch",
            "currency",
        )
    if not isinstance(data.amount_minor, int) or data.amount_minor <= 0:
        raise _refuse("The amount must be above zero.", "invalid_amount", "amount")
    if data.amount_minor > MAX_AMOUNT_MINOR:
        raise _refuse(f"The amount must be at most {Money(MAX_AMOUNT_MINOR, currency)}.", "invalid_amount", "amount")
    if data.amount_basis == AmountBasis.PER_UNIT:
        outstanding = ledger_total(offering=offering)
        if outstanding and data.amount_minor * outstanding > MAX_AMOUNT_MINOR:
            raise _refuse(
                f"{Money(data.amount_minor, currency)} on each of the {outstanding:,} tokens outstanding is more "
                f"than the {Money(MAX_AMOUNT_MINOR, currency)} any distribution may pay; check the amount per token.",
                "invalid_amount",
                "amount",
            )
    if data.payment_date < data.record_date:
        raise _refuse("The payment date cannot be before the record date.", "payment_before_record", "payment_date")
    record_at = data.record_at or record_moment(data.record_date)
    now = _chain_now()
    if record_at < now + record_date_lead():
        raise _refuse(
            "The record date must be in the future: the token takes its checkpoint on-chain at the end of the "
            f"record date, and it is {timezone.localtime(now):%d %B %Y %H:%M} on the chain.",
            "record_date_past",
            "record_date",
        )
    if data.payment_date - data.record_date > PAYMENT_WITHIN:
        raise _refuse("The payment date is more than two years after the record date.", "payment_far", "payment_date")
    if data.reinvestment_price_minor is not None:
        if data.reinvestment_price_minor <= 0 or data.reinvestment_price_minor > MAX_AMOUNT_MINOR:
            raise _refuse("The reinvestment price must be above zero.", "invalid_price", "reinvestment_price")
        if currency != offering.currency:
            raise _refuse(
                f"Reinvestment buys tokens priced in {offering.currency}; declare the distribution in "
                f"{offering.currency} to offer it.",
                "currency_mismatch",
                "reinvestment_price",
            )
    excluded: list[str] = []
    for wallet in data.excluded_wallets:
        wallet = wallet.strip()
        if not wallet:
            continue
        if not address_is_valid(wallet):
            raise _refuse(f"“{wallet[:60]}” is not a wallet address.", "invalid_address", "excluded_wallets")
        checksummed = address_checksum(wallet)
        if checksummed not in excluded:
            excluded.append(checksummed)
    return record_at, excluded


@transaction.atomic
def distribution_declare(*, issuer: Issuer, offering: Offering, actor: User, data: DistributionInput) -> Distribution:
    """Declare a distribution (a draft) and ask the token to schedule its record date."""
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.issuer_id != issuer.pk:
        raise ApplicationError("This offering belongs to another issuer.", code="wrong_issuer")
    token = token_deployment(owner_ref=offering.owner_ref)
    if token is None or not token.address:
        raise ApplicationError(
            "The offering's token is not on the chain yet; distributions follow its holders.", code="no_token"
        )
    record_at, excluded = _validate(offering=offering, data=data)
    pending = record_dates_ahead(offering=offering, after=timezone.now()).order_by("record_at").first()
    if pending is not None:
        raise Conflict(
            f"The token has a record date still ahead ({pending.record_date:%d %B %Y}, "
            f"{pending.get_kind_display().lower()}); it takes one record date at a time, so declare this one "
            "once that date has passed.",
            code="record_date_pending",
        )
    # A ballot's record date (or one set on the token some other way) counts too: the token refuses a second.
    ahead = record_date_ahead(offering=offering)
    if ahead is not None:
        raise Conflict(
            f"The token has a record date still ahead ({timezone.localtime(ahead):%d %B %Y %H:%M}, set for a ballot "
            "or another record); it takes one record date at a time, so declare this one once that moment has "
            "passed.",
            code="record_date_pending",
        )
    distribution = Distribution.objects.create(
        offering=offering,
        kind=data.kind,
        currency=data.currency.upper(),
        amount_basis=data.amount_basis,
        amount_minor=data.amount_minor,
        record_date=data.record_date,
        record_at=record_at,
        payment_date=data.payment_date,
        payment_method=data.payment_method,
        excluded_wallets=excluded,
        reinvestment_price_minor=data.reinvestment_price_minor,
        declared_by=actor,
    )
    distribution.record_transaction = token_record_date_schedule(
        owner_ref=offering.owner_ref,
        timestamp=int(record_at.timestamp()),
        idempotency_key=f"distribution:{settings.CHAIN_ID}:{distribution.public_id}:record-date",
        actor=actor,
        purpose=f"Record date {data.record_date:%Y-%m-%d} of {offering.token_symbol} ({distribution.kind})",
    )
    distribution.save(update_fields=["record_transaction"])
    audit_record(
        actor=actor,
        action="distribution.declared",
        obj=distribution,
        issuer=issuer,
        after={
            "offering": offering.pk,
            "kind": distribution.kind,
            "amount_basis": distribution.amount_basis,
            "amount_minor": distribution.amount_minor,
            "currency": distribution.currency,
            "record_date": distribution.record_date,
            "record_at": distribution.record_at,
            "payment_date": distribution.payment_date,
            "payment_method": distribution.payment_method,
            "excluded_wallets": excluded,
            "reinvestment_price_minor": distribution.reinvestment_price_minor,
        },
    )
    return distribution


@transaction.atomic
def distribution_cancel(*, distribution: Distribution, actor: User) -> Distribution:
    """Cancel a draft or a stopped distribution: nothing of it is paid. Its record date stays on the token."""
    locked = (
        Distribution.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=distribution.pk)
    )
    if locked.state == DistributionState.CANCELLED:
        return locked
    if locked.state == DistributionState.PROPOSED:
        raise Conflict("It waits for approval: withdraw or reject the approval request first.", code="approval_pending")
    if locked.state not in (DistributionState.DRAFT, DistributionState.STOPPED):
        raise Conflict(f"A distribution {locked.get_state_display().lower()} cannot be cancelled.", code="state")
    before = locked.state
    locked.state = DistributionState.CANCELLED
    locked.save(update_fields=["state"])
    audit_record(
        actor=actor,
        action="distribution.cancelled",
        obj=locked,
        issuer=locked.offering.issuer,
        before={"state": before},
        after={"state": locked.state},
    )
    return locked
