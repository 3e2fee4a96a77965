"""Building distributions in tests: a second admin, tax forms as onboarding leaves them, and inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from core.models import Issuer, Role, User
from core.tests.factories import MembershipFactory
from distributions.models import (
    AmountBasis,
    DestinationStatus,
    Distribution,
    DistributionKind,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    PaymentMethod,
    WithholdingReason,
)
from distributions.services.declaring import DistributionInput
from investors.models import InvestorProfile, TaxForm, TaxFormKind
from investors.services.tax import tax_form_expiry
from offerings.models import Offering


def payable_today() -> dict[str, dt.date]:
    """Record and payment dates of the portal's today, for a declaration whose record moment is set ten minutes
    ahead: that moment may fall after midnight, and the payment runs pay on or after the payment date by the
    portal's calendar, so a payment date taken from the moment would not be due until tomorrow."""
    today = timezone.localdate()
    return {"record_date": today, "payment_date": today}


def second_admin(issuer: Issuer, email: str = "second@harbor.example") -> User:
    return MembershipFactory.create(issuer=issuer, role=Role.ISSUER_ADMIN, user__email=email).user


def w9(investor: InvestorProfile, *, certified: bool = True, exempt_from_backup: bool = True) -> TaxForm:
    return TaxForm.objects.create(
        investor=investor,
        kind=TaxFormKind.W9,
        signer_name=investor.legal_name,
        signed_on=dt.date(2026, 1, 5),
        tin_certified=certified,
        not_subject_to_backup_withholding=exempt_from_backup,
    )


def w8(investor: InvestorProfile, *, signed_on: dt.date, treaty_rate_bps: int | None = None) -> TaxForm:
    kind = TaxFormKind.W8BENE if investor.is_entity else TaxFormKind.W8BEN
    return TaxForm.objects.create(
        investor=investor,
        kind=kind,
        signer_name=investor.legal_name,
        signed_on=signed_on,
        expires_on=tax_form_expiry(kind=kind, signed_on=signed_on),
        treaty_country=investor.country if treaty_rate_bps is not None else "",
        treaty_article="Article 10" if treaty_rate_bps is not None else "",
        treaty_rate_bps=treaty_rate_bps,
    )


def declaration(*, record_at: dt.datetime, **overrides: Any) -> DistributionInput:
    values: dict[str, Any] = {
        "kind": "dividend",
        "amount_basis": "total",
        "amount_minor": 1_000_000_01,
        "currency": "USD",
        "record_date": record_at.date(),
        "payment_date": record_at.date() + dt.timedelta(days=14),
        "payment_method": "bank_file",
        "record_at": record_at,
    }
    values.update(overrides)
    return DistributionInput(**values)


@dataclass(frozen=True)
class Part:
    """One holder's line as a test wants it: the withholding as the register computed it, paid as the payout would."""

    investor: InvestorProfile
    balance: int
    gross_minor: int
    rate_bps: int = 0
    reason: str = WithholdingReason.US_W9
    tax_form: TaxForm | None = None
    state: str = LinePaymentState.PAID
    reference: str = ""
    reinvest_units: int = 0


def distribution_paid(
    offering: Offering,
    actor: User,
    parts: list[Part],
    *,
    kind: str = DistributionKind.DIVIDEND,
    payment_date: dt.date = dt.date(2026, 3, 31),
    paid_at: dt.datetime | None = None,
    currency: str = "USD",
) -> Distribution:
    """A distribution whose register was computed and approved, with each line's payment fields set as the
    payout sets them (the payment itself is built and tested elsewhere)."""
    record = payment_date - dt.timedelta(days=14)
    moment = paid_at or dt.datetime.combine(payment_date, dt.time(15, 0), tzinfo=dt.UTC)
    withheld = [p.gross_minor * p.rate_bps // 10_000 for p in parts]
    gross = sum(p.gross_minor for p in parts)
    distribution = Distribution.objects.create(
        offering=offering,
        kind=kind,
        state=DistributionState.PAID,
        currency=currency,
        amount_basis=AmountBasis.TOTAL,
        amount_minor=max(gross, 1),
        record_date=record,
        record_at=dt.datetime.combine(record, dt.time(23, 59, 59), tzinfo=dt.UTC),
        payment_date=payment_date,
        payment_method=PaymentMethod.BANK_FILE,
        declared_by=actor,
        register_computed_at=moment - dt.timedelta(days=7),
        holders=len(parts),
        eligible_units=sum(p.balance for p in parts),
        total_gross_minor=gross,
        total_withheld_minor=sum(withheld),
        total_net_minor=gross - sum(withheld),
    )
    for index, (part, tax) in enumerate(zip(parts, withheld, strict=True)):
        paid = part.state in (LinePaymentState.PAID, LinePaymentState.REINVESTED)
        DistributionLine.objects.create(
            distribution=distribution,
            line_index=index,
            investor=part.investor,
            balance_at_record=part.balance,
            gross_minor=part.gross_minor,
            withholding_rate_bps=part.rate_bps,
            withholding_reason=part.reason,
            tax_form=part.tax_form,
            tax_form_kind=part.tax_form.kind if part.tax_form else "",
            withheld_minor=tax,
            net_minor=part.gross_minor - tax,
            destination_status=DestinationStatus.WALLET,
            destination_wallet="",
            reinvest=part.reinvest_units > 0,
            reinvest_units=part.reinvest_units,
            cash_minor=0 if part.state == LinePaymentState.REINVESTED else part.gross_minor - tax,
            idempotency_key=f"distribution:{distribution.public_id}:line:{index}",
            payment_state=part.state,
            payment_reference=part.reference or (f"E2E-{distribution.pk}-{index}" if paid else ""),
            paid_at=moment if paid else None,
        )
    return distribution
