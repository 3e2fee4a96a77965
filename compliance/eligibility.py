"""May this investor subscribe this amount to this offering? Every reason, with a stable code and in words
an investor reads.

`subscription_eligibility` is the one check the subscription API, the subscription pages and
closing all call. It knows investors (compliance sits below offerings), so the offering arrives as
plain `OfferingTerms`, and what only the offerings app can count (earlier Reg CF investments,
506(b) purchasers used) arrives in an `EligibilityContext`.

It reads the investor's `accreditation_claims` and `wallets` through `.all()`, so a caller that
checks many investors prefetches them and passes `registered_wallets` to stay at a fixed number
of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from compliance.exemptions import InvestorLimit
from core.countries import country_code, country_name
from core.money import Money
from investors.models import AccreditationStatus, InvestorProfile, KycStatus, ScreeningStatus


class ReasonCode(models.TextChoices):
    """Stable codes of the reasons an investor may not subscribe; pages and API clients choose by these."""

    NO_INVESTOR_ACCOUNT = "no_investor_account", "No investor account yet"
    NOT_ACCEPTING = "not_accepting", "Offering not accepting subscriptions"
    NOT_ADMITTED = "not_admitted", "Declined by the issuer"
    KYC_NOT_SUBMITTED = "kyc_not_submitted", "Identity not submitted"
    KYC_PENDING = "kyc_pending", "Identity under review"
    KYC_MORE_INFO = "kyc_more_info", "Identity review needs more information"
    KYC_REJECTED = "kyc_rejected", "Identity not approved"
    KYC_EXPIRED = "kyc_expired", "Identity verification expired"
    KYC_UNVERIFIED = "kyc_unverified", "Identity not verified"
    SCREENING_NOT_CLEAR = "screening_not_clear", "Sanctions screening not clear"
    SCREENING_BLOCKED = "screening_blocked", "Sanctions screening match"
    COUNTRY_NOT_ALLOWED = "country_not_allowed", "Country not allowed"
    COUNTRY_BLOCKED = "country_blocked", "Country blocked"
    ACCREDITATION_NOT_VERIFIED = "accreditation_not_verified", "Accreditation not verified"
    ACCREDITATION_REQUIRED = "accreditation_required", "Accredited investors only"
    NON_ACCREDITED_PLACES_FULL = "non_accredited_places_full", "No places left for non-accredited investors"
    US_PERSON = "us_person", "US persons excluded"
    FINANCIALS_MISSING = "financials_missing", "Income and net worth needed"
    REG_CF_LIMIT = "reg_cf_limit", "Regulation Crowdfunding investment limit"
    REG_A_TIER2_LIMIT = "reg_a_tier2_limit", "Regulation A+ Tier 2 investment limit"
    AMOUNT_NOT_POSITIVE = "amount_not_positive", "Amount not above zero"
    AMOUNT_NOT_WHOLE_TOKENS = "amount_not_whole_tokens", "Amount not a whole number of tokens"
    BELOW_MINIMUM = "below_minimum", "Below the minimum investment"
    ABOVE_MAXIMUM = "above_maximum", "Above the maximum investment"
    NO_REGISTERED_WALLET = "no_registered_wallet", "No wallet registered on-chain"
    # Moving units between holders (transfers/eligibility.py): what the register and the token's rules say.
    RECEIVER_UNKNOWN = "receiver_unknown", "Receiving wallet not an investor's"
    SAME_WALLET = "same_wallet", "Sending and receiving wallet the same"
    TOKEN_PAUSED = "token_paused", "Token paused"
    SENDER_FROZEN = "sender_frozen", "Sending wallet frozen"
    RECEIVER_FROZEN = "receiver_frozen", "Receiving wallet frozen"
    INSUFFICIENT_BALANCE = "insufficient_balance", "More than the wallet holds"
    AMOUNT_FROZEN = "amount_frozen", "Units frozen"
    TOKENS_LOCKED = "tokens_locked", "Units in their lock-up"
    MAX_INVESTORS = "max_investors", "Holder limit of the token reached"
    MAX_BALANCE = "max_balance", "Per-investor maximum of the token reached"


# Reasons that depend on the income and net worth the investor types with the amount: a page that
# shows what stands in the way before anything is typed leaves them out.
FIGURE_REASONS = frozenset({ReasonCode.FINANCIALS_MISSING, ReasonCode.REG_CF_LIMIT, ReasonCode.REG_A_TIER2_LIMIT})


# Reasons nothing the investor does will change for this offering (who they are, where they live, what the
# issuer or the screening decided, the offering no longer selling): pages say "not open to you", never "not
# yet", and offer no amount form. The others are steps still to take or decisions still to come.
PERMANENT_REASONS = frozenset(
    {
        ReasonCode.NOT_ACCEPTING,
        ReasonCode.NOT_ADMITTED,
        ReasonCode.KYC_REJECTED,
        ReasonCode.SCREENING_BLOCKED,
        ReasonCode.COUNTRY_NOT_ALLOWED,
        ReasonCode.COUNTRY_BLOCKED,
        ReasonCode.US_PERSON,
        ReasonCode.NON_ACCREDITED_PLACES_FULL,
    }
)


@dataclass(frozen=True)
class Reason:
    """Why an investor may not subscribe: a stable `code`, the sentence they read, and its figures."""

    code: ReasonCode
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "params": dict(self.params)}


NO_INVESTOR_ACCOUNT = Reason(
    ReasonCode.NO_INVESTOR_ACCOUNT, "Set up your investor account first: identity, documents, tax form and a wallet."
)


@dataclass(frozen=True)
class OfferingTerms:
    exemption: str
    exemption_label: str
    currency: str
    price_minor: int
    min_investment_minor: int
    max_investment_minor: int | None
    allowed_countries: frozenset[str] = frozenset()  # empty: every country not blocked
    blocked_countries: frozenset[str] = frozenset()
    accredited_only: bool = False
    accreditation_verified: bool = False
    max_non_accredited: int | None = None
    us_persons_allowed: bool = True
    investor_limit: str = InvestorLimit.NONE
    accepting: bool = True
    not_accepting_reason: str = "This offering is not accepting subscriptions."


@dataclass(frozen=True)
class EligibilityContext:
    """Facts the offerings app counts for the check."""

    # This investor's open commitments in this offering, not counting the one being checked.
    existing_commitment_minor: int = 0
    # Reg CF 227.100(a)(2): what the investor put into Reg CF offerings in the last 12 months.
    reg_cf_invested_12m_minor: int = 0
    # 506(b)(2)(i): non-accredited purchasers across the issuer's 506(b) offerings within 90 days.
    non_accredited_used: int = 0
    counted_as_non_accredited: bool = False
    # Self-certified (Reg CF 227.100(c), Reg A 251(d)(2)(i)(D)), in USD cents. Entities: revenue, net assets.
    annual_income_minor: int | None = None
    net_worth_minor: int | None = None
    # The offering's issuer declined the investor's application (its own decision, not identity).
    declined_by_issuer: bool = False
    # Wallet addresses the on-chain registry holds for the investor; None looks them up.
    registered_wallets: frozenset[str] | None = None
    now: dt.datetime | None = None


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reasons: list[Reason] = field(default_factory=list)
    # The most this investor may still commit under a per-investor limit (None: no such limit).
    limit_remaining_minor: int | None = None


def _money(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


def _figure(name: str) -> int:
    figures: dict[str, Any] = settings.EXEMPTION_FIGURES
    return int(figures[name])


def reg_cf_annual_limit(*, income_minor: int, net_worth_minor: int) -> int:
    """Reg CF 227.100(a)(2), for an investor who is not accredited, in USD cents."""
    threshold = _figure("reg_cf_limit_threshold_cents")
    greater = max(income_minor, net_worth_minor)
    if income_minor < threshold or net_worth_minor < threshold:
        # (i) the greater of $2,500 or 5% of the greater of annual income or net worth
        return max(_figure("reg_cf_limit_floor_cents"), greater * _figure("reg_cf_limit_low_bps") // 10_000)
    # (ii) 10% of the greater of annual income or net worth, not more than $124,000
    return min(greater * _figure("reg_cf_limit_high_bps") // 10_000, _figure("reg_cf_limit_cap_cents"))


def reg_a_tier2_limit(*, income_minor: int, net_worth_minor: int) -> int:
    """Reg A 230.251(d)(2)(i)(C): 10% of the greater of annual income or net worth, per offering."""
    return max(income_minor, net_worth_minor) * _figure("reg_a_tier2_limit_bps") // 10_000


def accredited_status(investor: InvestorProfile, *, now: dt.datetime) -> tuple[bool, bool]:
    """(verified accredited, self-certified or verified) from claims that have not expired."""
    verified = certified = False
    for claim in investor.accreditation_claims.all():
        if claim.expires_at is not None and claim.expires_at <= now:
            continue
        if claim.status == AccreditationStatus.VERIFIED:
            verified = certified = True
        elif claim.status == AccreditationStatus.SELF_CERTIFIED:
            certified = True
    return verified, certified


def _registered(investor: InvestorProfile, context: EligibilityContext) -> frozenset[str]:
    if context.registered_wallets is not None:
        return context.registered_wallets
    from tokens.selectors import registry_wallets_confirmed

    return registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())


def verified_wallets(investor: InvestorProfile, *, registered: frozenset[str]) -> list[str]:
    """Linked, not removed, and confirmed in the on-chain registry, oldest first."""
    return [w.address for w in investor.wallets.all() if w.removed_at is None and w.address in registered]


_KYC_REASONS: dict[str, Reason] = {
    KycStatus.NOT_SUBMITTED: Reason(
        ReasonCode.KYC_NOT_SUBMITTED,
        "Your identity has not been verified yet. Finish onboarding and submit it for review.",
    ),
    KycStatus.PENDING: Reason(ReasonCode.KYC_PENDING, "Your identity verification is still under review."),
    KycStatus.MORE_INFO: Reason(
        ReasonCode.KYC_MORE_INFO,
        "The compliance team asked you for more information before verifying your identity.",
    ),
    KycStatus.REJECTED: Reason(ReasonCode.KYC_REJECTED, "Your identity verification was not approved."),
    KycStatus.EXPIRED: Reason(
        ReasonCode.KYC_EXPIRED, "Your identity verification has expired. Renew it from your investor status page."
    ),
}


def _kyc_reasons(investor: InvestorProfile, now: dt.datetime) -> list[Reason]:
    if investor.kyc_status == KycStatus.APPROVED:
        if investor.kyc_expires_at is None or investor.kyc_expires_at <= now:
            return [_KYC_REASONS[KycStatus.EXPIRED]]
        return []
    return [
        _KYC_REASONS.get(investor.kyc_status, Reason(ReasonCode.KYC_UNVERIFIED, "Your identity has not been verified."))
    ]


def _limit_reasons(
    *,
    investor: InvestorProfile,
    terms: OfferingTerms,
    amount_minor: int,
    context: EligibilityContext,
    accredited: bool,
) -> tuple[list[Reason], int | None]:
    if terms.investor_limit == InvestorLimit.NONE or accredited:
        return [], None
    income, worth = context.annual_income_minor, context.net_worth_minor
    if income is None or worth is None or income < 0 or worth < 0:
        what = "annual revenue and net assets" if investor.is_entity else "annual income and net worth"
        return [
            Reason(
                ReasonCode.FINANCIALS_MISSING,
                f"Tell us your {what} so we can work out your investment limit for this offering.",
                {"entity": investor.is_entity},
            )
        ], None
    if terms.investor_limit == InvestorLimit.REG_CF:
        limit = reg_cf_annual_limit(income_minor=income, net_worth_minor=worth)
        remaining = max(limit - context.reg_cf_invested_12m_minor, 0)
        if amount_minor > remaining:
            already = context.reg_cf_invested_12m_minor
            return [
                Reason(
                    ReasonCode.REG_CF_LIMIT,
                    f"Regulation Crowdfunding limits you to {_money(limit, 'USD')} across all crowdfunding "
                    f"offerings in 12 months; you have invested {_money(already, 'USD')} in that time, so at most "
                    f"{_money(remaining, 'USD')} is left.",
                    {"limit_minor": limit, "invested_minor": already, "remaining_minor": remaining, "currency": "USD"},
                )
            ], remaining
        return [], remaining
    limit = reg_a_tier2_limit(income_minor=income, net_worth_minor=worth)
    remaining = max(limit - context.existing_commitment_minor, 0)
    if amount_minor > remaining:
        return [
            Reason(
                ReasonCode.REG_A_TIER2_LIMIT,
                f"Regulation A+ Tier 2 limits investors who are not accredited to 10% of the greater of annual "
                f"income and net worth: {_money(limit, 'USD')} in this offering, so at most "
                f"{_money(remaining, 'USD')} more.",
                {"limit_minor": limit, "remaining_minor": remaining, "currency": "USD"},
            )
        ], remaining
    return [], remaining


def subscription_eligibility(
    *, investor: InvestorProfile, terms: OfferingTerms, amount_minor: int, context: EligibilityContext
) -> Eligibility:
    """Allowed, or denied with every reason that applies (not only the first)."""
    now = context.now or timezone.now()
    reasons: list[Reason] = []
    if not terms.accepting:
        reasons.append(Reason(ReasonCode.NOT_ACCEPTING, terms.not_accepting_reason))
    if context.declined_by_issuer:
        reasons.append(Reason(ReasonCode.NOT_ADMITTED, "The issuer of this offering did not admit you as an investor."))
    reasons += _kyc_reasons(investor, now)
    if investor.screening_status == ScreeningStatus.BLOCKED:
        reasons.append(
            Reason(ReasonCode.SCREENING_BLOCKED, "You cannot invest: your sanctions screening found a match.")
        )
    elif investor.screening_status != ScreeningStatus.CLEAR:
        reasons.append(Reason(ReasonCode.SCREENING_NOT_CLEAR, "Your sanctions screening is not clear yet."))
    country = country_code(investor.country)
    if terms.allowed_countries and country not in terms.allowed_countries:
        reasons.append(
            Reason(
                ReasonCode.COUNTRY_NOT_ALLOWED,
                f"This offering is not open to investors in {country_name(country) or 'your country'}.",
                {"country": country},
            )
        )
    elif country in terms.blocked_countries:
        reasons.append(
            Reason(
                ReasonCode.COUNTRY_BLOCKED,
                f"This offering is not open to investors in {country_name(country)}.",
                {"country": country},
            )
        )

    verified, certified = accredited_status(investor, now=now)
    if terms.accredited_only and terms.accreditation_verified and not verified:
        # 506(c)(2)(ii): reasonable steps to verify accredited status.
        reasons.append(
            Reason(
                ReasonCode.ACCREDITATION_NOT_VERIFIED,
                f"{terms.exemption_label} offerings are open only to accredited investors whose status was "
                "verified; yours is not verified (or has expired).",
                {"exemption": terms.exemption},
            )
        )
    elif terms.accredited_only and not certified:
        reasons.append(
            Reason(
                ReasonCode.ACCREDITATION_REQUIRED,
                f"{terms.exemption_label} offerings are open only to accredited investors.",
                {"exemption": terms.exemption},
            )
        )
    elif (
        terms.max_non_accredited is not None
        and not certified
        and not context.counted_as_non_accredited
        and context.non_accredited_used >= terms.max_non_accredited
    ):
        # 506(b)(2)(i): at most 35 non-accredited purchasers across 506(b) sales within 90 days.
        reasons.append(
            Reason(
                ReasonCode.NON_ACCREDITED_PLACES_FULL,
                "This offering has no places left for investors who are not accredited. "
                "Certify your accreditation to subscribe.",
                {"max_non_accredited": terms.max_non_accredited},
            )
        )
    if not terms.us_persons_allowed and investor.is_us_person:
        # Reg S Rule 903: offers and sales to non-US persons, in offshore transactions.
        reasons.append(
            Reason(
                ReasonCode.US_PERSON,
                f"{terms.exemption_label} offerings cannot be sold to US persons.",
                {"exemption": terms.exemption},
            )
        )

    limit_reasons, remaining = _limit_reasons(
        investor=investor, terms=terms, amount_minor=amount_minor, context=context, accredited=certified
    )
    reasons += limit_reasons

    currency = terms.currency
    if amount_minor <= 0:
        reasons.append(Reason(ReasonCode.AMOUNT_NOT_POSITIVE, "Enter an amount above zero."))
    else:
        if amount_minor % terms.price_minor:
            reasons.append(
                Reason(
                    ReasonCode.AMOUNT_NOT_WHOLE_TOKENS,
                    f"The amount must buy a whole number of tokens at {_money(terms.price_minor, currency)} each.",
                    {"price_minor": terms.price_minor, "currency": currency},
                )
            )
        if amount_minor < terms.min_investment_minor:
            reasons.append(
                Reason(
                    ReasonCode.BELOW_MINIMUM,
                    f"The minimum investment is {_money(terms.min_investment_minor, currency)}.",
                    {"min_investment_minor": terms.min_investment_minor, "currency": currency},
                )
            )
        existing = context.existing_commitment_minor
        if terms.max_investment_minor is not None and amount_minor + existing > terms.max_investment_minor:
            reasons.append(
                Reason(
                    ReasonCode.ABOVE_MAXIMUM,
                    f"The maximum investment per investor is {_money(terms.max_investment_minor, currency)}"
                    + (f"; you already committed {_money(existing, currency)}." if existing else "."),
                    {
                        "max_investment_minor": terms.max_investment_minor,
                        "existing_commitment_minor": existing,
                        "currency": currency,
                    },
                )
            )

    if not verified_wallets(investor, registered=_registered(investor, context)):
        reasons.append(
            Reason(
                ReasonCode.NO_REGISTERED_WALLET,
                "You need a wallet that is linked and registered on-chain to receive the tokens. "
                "Link one on your wallets page; registration follows verification.",
            )
        )
    return Eligibility(allowed=not reasons, reasons=reasons, limit_remaining_minor=remaining)
