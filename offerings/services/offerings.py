"""Creating, editing and publishing offerings."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from compliance.eligibility import OfferingTerms
from compliance.exemptions import Exemption, ExemptionRules, exemption_profile, exemption_rules_loosened
from core.audit import audit_record
from core.countries import country_code, country_codes, country_numeric, is_country
from core.errors import ApplicationError, Conflict
from core.models import Issuer, User
from core.money import CURRENCY_EXPONENTS, Money
from offerings.models import (
    COMMITTED_STATUSES,
    DocumentKind,
    Offering,
    OfferingStatus,
    SecurityType,
    Subscription,
)
from offerings.pricing import offering_pricer
from tokens import services as chain
from tokens.services import InvestorFlag

# Limits are in USD, so offerings under exemptions with per-investor or issuer caps are priced in USD.
USD_ONLY = {Exemption.REG_CF, Exemption.REG_A_TIER2}
RULE_FIELDS = [f.name for f in fields(ExemptionRules)]
TERM_FIELDS = [
    "title",
    "summary",
    "security_type",
    "exemption",
    "currency",
    "price_minor",
    "min_investment_minor",
    "max_investment_minor",
    "soft_cap_minor",
    "hard_cap_minor",
    "opens_at",
    "closes_at",
    "allowed_countries",
    "blocked_countries",
    "token_name",
    "token_symbol",
    "payment_due_business_days",
]


@dataclass(frozen=True)
class OfferingInput:
    title: str
    security_type: str
    exemption: str
    currency: str
    price_minor: int
    min_investment_minor: int
    max_investment_minor: int | None
    soft_cap_minor: int
    hard_cap_minor: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    token_name: str
    token_symbol: str
    summary: str = ""
    allowed_countries: tuple[str, ...] = ()
    blocked_countries: tuple[str, ...] = ()
    # Tightened rules; None keeps the exemption's default for that rule.
    rules: dict[str, Any] | None = None
    # Business days an investor has to pay a reservation; None: the portal's default.
    payment_due_business_days: int | None = None


def offering_rules(offering: Offering) -> ExemptionRules:
    return ExemptionRules(**{name: getattr(offering, name) for name in RULE_FIELDS})


def offering_terms(offering: Offering, *, now: dt.datetime | None = None) -> OfferingTerms:
    """The plain terms compliance checks an investor against."""
    now = now or timezone.now()
    accepting, reason = True, ""
    if offering.status != OfferingStatus.OPEN:
        accepting, reason = False, f"This offering is {offering.get_status_display().lower()}."
    elif now < offering.opens_at:
        accepting, reason = False, f"This offering opens on {offering.opens_at:%-d %b %Y at %H:%M} UTC."
    elif now >= offering.closes_at:
        accepting, reason = False, "This offering's subscription period has ended."
    return OfferingTerms(
        exemption=offering.exemption,
        exemption_label=offering.get_exemption_display(),
        currency=offering.currency,
        # Priced otherwise (at NAV, forward), any amount in whole minor units buys the units it buys.
        price_minor=1 if offering_pricer(offering) is not None else offering.price_minor,
        min_investment_minor=offering.min_investment_minor,
        max_investment_minor=offering.max_investment_minor,
        allowed_countries=frozenset(offering.allowed_countries),
        blocked_countries=frozenset(offering.blocked_countries),
        accredited_only=offering.accredited_only,
        accreditation_verified=offering.accreditation_verified,
        max_non_accredited=offering.max_non_accredited,
        us_persons_allowed=offering.us_persons_allowed,
        investor_limit=offering.investor_limit,
        accepting=accepting,
        not_accepting_reason=reason,
    )


def _money(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


def _countries(codes: tuple[str, ...] | list[str], label: str, errors: list[str]) -> list[str]:
    cleaned = sorted({country_code(c) for c in codes} - {""})
    unknown = [c for c in cleaned if not is_country(c)]
    if unknown:
        verb = "is not a country code" if len(unknown) == 1 else "are not country codes"
        errors.append(f"{label}: {', '.join(unknown)} {verb}.")
    return [c for c in cleaned if is_country(c)]


def _validate(data: OfferingInput, *, issuer: Issuer, exclude_pk: int | None) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    values: dict[str, Any] = {name: getattr(data, name) for name in TERM_FIELDS}
    values["title"] = data.title.strip()
    if not values["title"]:
        errors.append("Give the offering a title.")
    if data.security_type not in SecurityType.values:
        errors.append("Choose a security type.")
    if data.exemption not in Exemption.values:
        errors.append("Choose an exemption.")
        return values, errors
    if data.currency not in CURRENCY_EXPONENTS:
        errors.append(f"{data.currency} is not a currency the portal accepts.")
        return values, errors
    if data.exemption in USD_ONLY and data.currency != "USD":
        errors.append(f"{Exemption(data.exemption).label} offerings are priced in USD (its limits are in dollars).")
    cur = data.currency
    if data.price_minor <= 0:
        errors.append("The price per token must be above zero.")
    else:
        for label, amount in (
            ("minimum investment", data.min_investment_minor),
            ("maximum investment", data.max_investment_minor),
            ("soft cap", data.soft_cap_minor),
            ("hard cap", data.hard_cap_minor),
        ):
            if amount is not None and amount % data.price_minor:
                errors.append(
                    f"The {label} ({_money(amount, cur)}) must be a whole number of tokens at "
                    f"{_money(data.price_minor, cur)} each."
                )
    if data.min_investment_minor < data.price_minor:
        errors.append("The minimum investment must buy at least one token.")
    if data.max_investment_minor is not None and data.max_investment_minor < data.min_investment_minor:
        errors.append("The maximum investment must not be below the minimum investment.")
    if data.soft_cap_minor <= 0:
        errors.append("The soft cap (minimum to close) must be above zero.")
    if data.hard_cap_minor < data.soft_cap_minor:
        errors.append("The hard cap must not be below the soft cap.")
    if data.closes_at <= data.opens_at:
        errors.append("The close date must be after the open date.")
    due = data.payment_due_business_days
    values["payment_due_business_days"] = due = (
        int(settings.SUBSCRIPTION_PAYMENT_DUE_BUSINESS_DAYS) if due is None else due
    )
    if not 1 <= due <= 30:
        errors.append("Investors have between 1 and 30 business days to pay a reservation.")
    symbol = data.token_symbol.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{2,11}", symbol):
        errors.append("The token symbol is 2 to 11 letters or digits.")
    values["token_symbol"] = symbol
    values["token_name"] = data.token_name.strip()
    if not values["token_name"]:
        errors.append("Give the token a name.")
    values["allowed_countries"] = _countries(data.allowed_countries, "Allowed countries", errors)
    values["blocked_countries"] = _countries(data.blocked_countries, "Blocked countries", errors)
    if set(values["allowed_countries"]) & set(values["blocked_countries"]):
        errors.append("A country cannot be both allowed and blocked.")

    profile = exemption_profile(data.exemption)
    overrides = {k: v for k, v in (data.rules or {}).items() if k in RULE_FIELDS and v is not None}
    rules = ExemptionRules(**{**profile.as_dict(), **overrides})
    errors += exemption_rules_loosened(data.exemption, rules)
    values.update(rules.as_dict())
    span = data.closes_at - data.opens_at
    if rules.min_open_days and span < dt.timedelta(days=rules.min_open_days):
        # Reg CF 227.303(a): the offering stays open at least 21 days.
        errors.append(f"{Exemption(data.exemption).label} offerings stay open at least {rules.min_open_days} days.")
    if rules.issuer_raise_cap_minor is not None:
        # Reg CF 227.100(a)(1), Reg A 251(a): what the issuer raised under the exemption in 12 months.
        since = timezone.now() - dt.timedelta(days=365)
        others = (
            Subscription.objects.filter(
                offering__issuer=issuer,
                offering__exemption=data.exemption,
                status__in=COMMITTED_STATUSES,
                created_at__gte=since,
            )
            .exclude(offering_id=exclude_pk or 0)
            .aggregate(total=Sum("amount_minor"))["total"]
            or 0
        )
        room = rules.issuer_raise_cap_minor - others
        if data.hard_cap_minor > room:
            errors.append(
                f"{Exemption(data.exemption).label} lets an issuer raise {_money(rules.issuer_raise_cap_minor, 'USD')} "
                f"in 12 months; {_money(others, 'USD')} is already committed, so the hard cap can be at most "
                f"{_money(max(room, 0), 'USD')}."
            )
    return values, errors


def _snapshot(offering: Offering) -> dict[str, Any]:
    return {name: getattr(offering, name) for name in [*TERM_FIELDS, *RULE_FIELDS]}


@transaction.atomic
def offering_create(*, issuer: Issuer, actor: User, data: OfferingInput) -> Offering:
    values, errors = _validate(data, issuer=issuer, exclude_pk=None)
    if errors:
        raise ApplicationError(" ".join(errors), code="invalid_offering", extra={"errors": errors})
    offering = Offering.objects.create(issuer=issuer, created_by=actor, **values)
    audit_record(actor=actor, action="offering.created", obj=offering, after=_snapshot(offering))
    return offering


@transaction.atomic
def offering_update(*, offering: Offering, actor: User, data: OfferingInput) -> Offering:
    offering = Offering.objects.select_for_update().get(pk=offering.pk)
    if offering.status != OfferingStatus.DRAFT:
        raise Conflict("Published terms are fixed: the token and investors rely on them.", code="published")
    values, errors = _validate(data, issuer=offering.issuer, exclude_pk=offering.pk)
    if errors:
        raise ApplicationError(" ".join(errors), code="invalid_offering", extra={"errors": errors})
    before = _snapshot(offering)
    for name, value in values.items():
        setattr(offering, name, value)
    offering.save()
    audit_record(actor=actor, action="offering.updated", obj=offering, before=before, after=_snapshot(offering))
    return offering


def token_terms(offering: Offering) -> chain.TokenTerms:
    """What the token enforces on-chain, from the offering's rules."""
    required = InvestorFlag.KYC
    if offering.accredited_only and offering.accreditation_verified:
        required |= InvestorFlag.ACCREDITED
    forbidden = InvestorFlag(0) if offering.us_persons_allowed else InvestorFlag.US_PERSON
    allowed = offering.allowed_countries or [c for c in country_codes() if c not in set(offering.blocked_countries)]
    return chain.TokenTerms(
        name=offering.token_name,
        symbol=offering.token_symbol,
        rules=chain.RULE_VERIFIED | chain.RULE_COUNTRY | chain.RULE_FLAGS | chain.RULE_LOCKUP,
        required_flags=int(required),
        forbidden_flags=int(forbidden),
        allowed_countries=sorted({country_numeric(c) for c in allowed}),
        lockup_seconds=offering.lockup_seconds,
    )


def offering_publish(*, offering: Offering, actor: User) -> Offering:
    """Deploy the offering's token through the chain pipeline and open the page to investors."""
    # The portal's registry comes first (its own transaction, so a refusal below does not undo it).
    chain.portal_registry_ensure(actor=actor)
    with transaction.atomic():
        offering = Offering.objects.select_for_update().get(pk=offering.pk)
        if offering.status != OfferingStatus.DRAFT:
            raise Conflict("This offering is already published.", code="published")
        if not offering.documents.filter(kind=DocumentKind.SUBSCRIPTION_AGREEMENT).exists():
            raise ApplicationError("Upload the subscription agreement before publishing.", code="agreement_missing")
        if offering.exemption == Exemption.REG_CF and not offering.documents.filter(kind=DocumentKind.FORM_C).exists():
            # Reg CF 227.201, 227.203(a): the offering statement filed with the SEC is given to investors.
            raise ApplicationError(
                "Upload the Form C (the Regulation Crowdfunding offering statement filed with the SEC) before "
                "publishing: investors must be able to read it.",
                code="form_c_missing",
            )
        now = timezone.now()
        if offering.closes_at <= now:
            raise ApplicationError("The close date has passed; set a later one before publishing.", code="closed")
        before: dict[str, Any] = {"status": OfferingStatus.DRAFT}
        if offering.opens_at < now:
            age = now - offering.opens_at
            if age > dt.timedelta(seconds=int(settings.OFFERING_PUBLISH_OPENS_AT_MAX_AGE_SECONDS)):
                raise ApplicationError(
                    f"The opening date ({offering.opens_at:%d %B %Y at %H:%M} UTC) has passed; an offering opens "
                    "when it is published or later. Set an opening date from now on, then publish.",
                    code="opens_in_past",
                )
            # Opening "now", typed a few minutes ago: the offering opens when it is published.
            before["opens_at"] = offering.opens_at
            offering.opens_at = now
        if offering.min_open_days and offering.closes_at - offering.opens_at < dt.timedelta(
            days=offering.min_open_days
        ):
            # Reg CF 227.303(a): at least 21 days open to the public, counted from publication.
            earliest = offering.opens_at + dt.timedelta(days=offering.min_open_days)
            raise ApplicationError(
                f"{offering.get_exemption_display()} offerings stay open at least {offering.min_open_days} days "
                f"from publication: the close date must be {earliest:%d %B %Y at %H:%M} UTC or later.",
                code="open_too_short",
            )
        chain.token_deploy(owner_ref=offering.owner_ref, terms=token_terms(offering), actor=actor)
        offering.status = OfferingStatus.OPEN
        offering.published_at = now
        offering.save(update_fields=["status", "published_at", "opens_at", "updated_at"])
        audit_record(
            actor=actor,
            action="offering.published",
            obj=offering,
            before=before,
            after={"status": offering.status, "token": offering.owner_ref, "opens_at": offering.opens_at},
        )
    return offering


def offering_opened_at(offering: Offering) -> dt.datetime:
    """When investors could first see the offering: its opening, never before its publication."""
    if offering.published_at is None:
        return offering.opens_at
    return max(offering.opens_at, offering.published_at)
