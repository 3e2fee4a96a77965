"""A token's redemption terms, set by an issuer admin: dealing frequency and cut-off, notice period, minimum,
fee, gate, jurisdictions and how the payout goes. Every change is audited with what it was before.

A change applies to dealing days not cut off yet: a dealing day takes its fee and gate when it is priced. The
redemption burner is deployed (once for the portal) when the first token's terms are set, so its address is
known by the first dealing day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django_countries import countries

from core.access import Perm, can
from core.audit import audit_record
from core.errors import ApplicationError, NotPermitted
from core.models import User
from distributions.models import PaymentMethod
from distributions.services.declaring import STABLECOIN_CURRENCY
from offerings.models import Offering
from redemptions.dealing_days import timezone_of
from redemptions.models import DealingFrequency, RedemptionTerms
from tokens.services import redemption_burner_ensure

MAX_NOTICE_DAYS = 90


@dataclass(frozen=True)
class TermsInput:
    frequency: str
    cutoff_time: dt.time
    payout_method: str
    cutoff_timezone: str = "UTC"
    notice_days: int = 0
    minimum_units: int = 1
    fee_bps: int = 0
    gate_bps: int | None = None
    allowed_countries: list[str] = field(default_factory=list)
    active: bool = True
    lockups_apply: bool = True


def _refuse(message: str, field_name: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, extra={"field": field_name})


def _checked(offering: Offering, data: TermsInput) -> TermsInput:
    if data.frequency not in DealingFrequency.values:
        raise _refuse("Choose how often the token deals.", "frequency", "frequency")
    if data.payout_method not in PaymentMethod.values:
        raise _refuse("Choose how redemptions are paid.", "payout_method", "payout_method")
    if data.payout_method == PaymentMethod.STABLECOIN and offering.currency != STABLECOIN_CURRENCY:
        raise _refuse(
            f"The stablecoin pays {STABLECOIN_CURRENCY} and this token is priced in {offering.currency}: pay "
            "redemptions by bank file.",
            "payout_method",
            "currency_mismatch",
        )
    try:
        timezone_of(data.cutoff_timezone)
    except ValueError as exc:
        raise _refuse(str(exc), "cutoff_timezone", "timezone") from exc
    if not 0 <= data.notice_days <= MAX_NOTICE_DAYS:
        raise _refuse(f"The notice period is 0 to {MAX_NOTICE_DAYS} days.", "notice_days", "notice")
    if data.minimum_units < 1:
        raise _refuse("The minimum is at least one unit.", "minimum_units", "minimum")
    if not 0 <= data.fee_bps <= 10_000:
        raise _refuse("The fee is 0 to 10,000 basis points (100%).", "fee_bps", "fee")
    if data.gate_bps is not None and not 1 <= data.gate_bps <= 10_000:
        raise _refuse("The gate is 1 to 10,000 basis points of the supply, or empty for none.", "gate_bps", "gate")
    codes = sorted({c.strip().upper() for c in data.allowed_countries if c.strip()})
    unknown = [c for c in codes if c not in dict(countries)]
    if unknown:
        raise _refuse(f"Not a country code: {', '.join(unknown)}.", "allowed_countries", "country")
    return TermsInput(**{**data.__dict__, "allowed_countries": codes})


def _snapshot(terms: RedemptionTerms) -> dict[str, object]:
    return {
        "active": terms.active,
        "frequency": terms.frequency,
        "cutoff_time": terms.cutoff_time.isoformat(),
        "cutoff_timezone": terms.cutoff_timezone,
        "notice_days": terms.notice_days,
        "minimum_units": terms.minimum_units,
        "fee_bps": terms.fee_bps,
        "gate_bps": terms.gate_bps,
        "allowed_countries": terms.allowed_countries,
        "lockups_apply": terms.lockups_apply,
        "payout_method": terms.payout_method,
    }


@transaction.atomic
def redemption_terms_set(*, offering: Offering, actor: User, data: TermsInput) -> RedemptionTerms:
    """Set (or change) how holders of the offering's token redeem."""
    if not can(actor, Perm.ISSUER_MANAGE_DISTRIBUTIONS, offering.issuer):
        raise NotPermitted("Only an admin of the issuer sets its redemption terms.")
    data = _checked(offering, data)
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    terms = RedemptionTerms.objects.filter(offering=offering).first()
    before = _snapshot(terms) if terms is not None else None
    if terms is None:
        terms = RedemptionTerms(offering=offering)
    for name, value in data.__dict__.items():
        setattr(terms, name, value)
    terms.updated_by = actor
    terms.save()
    after = _snapshot(terms)
    if before != after:
        audit_record(
            actor=actor,
            action="redemption.terms_set",
            obj=terms,
            issuer=offering.issuer,
            before=before,
            after=after,
        )
    redemption_burner_ensure(actor=actor)
    return terms
