"""Each eligibility rule, as a table of cases: who may subscribe what, and the reason when not."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from compliance.eligibility import (
    EligibilityContext,
    OfferingTerms,
    ReasonCode,
    reg_cf_annual_limit,
    subscription_eligibility,
)
from compliance.exemptions import Exemption, ExemptionRules, InvestorLimit, exemption_profile, exemption_rules_loosened
from investors.models import (
    AccreditationStatus,
    InvestorProfile,
    KycStatus,
    ScreeningStatus,
)
from investors.tests.support import verified_investor

C = ReasonCode
WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USD = 100  # cents per dollar


def investor(**kwargs: Any) -> InvestorProfile:
    """An approved investor whose one wallet is WALLET (registered or not as each case's context says)."""
    defaults: dict[str, Any] = {
        "name": "Dana Reyes",
        "wallet": WALLET,
        "register": False,
        "accreditation_expires_in": dt.timedelta(days=60),
    }
    return verified_investor(**{**defaults, **kwargs})


def terms(exemption: str = Exemption.REG_D_506C, **overrides: Any) -> OfferingTerms:
    rules = exemption_profile(exemption)
    values: dict[str, Any] = {
        "exemption": exemption,
        "exemption_label": Exemption(exemption).label,
        "currency": "USD",
        "price_minor": 10 * USD,
        "min_investment_minor": 1_000 * USD,
        "max_investment_minor": None,
        "accredited_only": rules.accredited_only,
        "accreditation_verified": rules.accreditation_verified,
        "max_non_accredited": rules.max_non_accredited,
        "us_persons_allowed": rules.us_persons_allowed,
        "investor_limit": rules.investor_limit,
    }
    values.update(overrides)
    return OfferingTerms(**values)


def context(**overrides: Any) -> EligibilityContext:
    values: dict[str, Any] = {"registered_wallets": frozenset({WALLET})}
    values.update(overrides)
    return EligibilityContext(**values)


CASES = [
    # (case id, investor kwargs, terms, amount in cents, context kwargs, expected reason fragments; [] = allowed,
    #  then the expected reason codes)
    ("506c verified accredited", {"accreditation": AccreditationStatus.VERIFIED}, terms(), 5_000 * USD, {}, [], set()),
    (
        "506c self-certified is not enough",
        {"accreditation": AccreditationStatus.SELF_CERTIFIED},
        terms(),
        5_000 * USD,
        {},
        ["whose status was verified"],
        {C.ACCREDITATION_NOT_VERIFIED},
    ),
    (
        "506c not accredited",
        {},
        terms(),
        5_000 * USD,
        {},
        ["whose status was verified"],
        {C.ACCREDITATION_NOT_VERIFIED},
    ),
    (
        "kyc pending",
        {"kyc": KycStatus.PENDING, "accreditation": "verified"},
        terms(),
        5_000 * USD,
        {},
        ["under review"],
        {C.KYC_PENDING},
    ),
    (
        "kyc expired",
        {"kyc_expires_in": dt.timedelta(days=-1), "accreditation": "verified"},
        terms(),
        5_000 * USD,
        {},
        ["expired"],
        {C.KYC_EXPIRED},
    ),
    (
        "sanctions under review",
        {"screening": ScreeningStatus.UNDER_REVIEW, "accreditation": "verified"},
        terms(),
        5_000 * USD,
        {},
        ["sanctions screening is not clear"],
        {C.SCREENING_NOT_CLEAR},
    ),
    (
        "sanctions blocked",
        {"screening": ScreeningStatus.BLOCKED, "accreditation": "verified"},
        terms(),
        5_000 * USD,
        {},
        ["found a match"],
        {C.SCREENING_BLOCKED},
    ),
    (
        "506b self-certified accredited",
        {"accreditation": "self_certified"},
        terms(Exemption.REG_D_506B),
        5_000 * USD,
        {},
        [],
        set(),
    ),
    (
        "506b non-accredited with places left",
        {},
        terms(Exemption.REG_D_506B),
        5_000 * USD,
        {"non_accredited_used": 34},
        [],
        set(),
    ),
    (
        "506b non-accredited, 35 used in 90 days",
        {},
        terms(Exemption.REG_D_506B),
        5_000 * USD,
        {"non_accredited_used": 35},
        ["no places left"],
        {C.NON_ACCREDITED_PLACES_FULL},
    ),
    (
        "506b already counted purchaser buys again",
        {},
        terms(Exemption.REG_D_506B),
        5_000 * USD,
        {"non_accredited_used": 35, "counted_as_non_accredited": True},
        [],
        set(),
    ),
    ("reg s non-US person", {"country": "DE"}, terms(Exemption.REG_S), 5_000 * USD, {}, [], set()),
    (
        "reg s US person",
        {"country": "US"},
        terms(Exemption.REG_S),
        5_000 * USD,
        {},
        ["cannot be sold to US persons"],
        {C.US_PERSON},
    ),
    # Reg CF 227.100(a)(2): the $124,000 boundary.
    (
        "reg cf both at $124,000: 10% = $12,400 allowed",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        12_400 * USD,
        {"annual_income_minor": 124_000 * USD, "net_worth_minor": 124_000 * USD},
        [],
        set(),
    ),
    (
        "reg cf both at $124,000: $12,410 is over",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        12_410 * USD,
        {"annual_income_minor": 124_000 * USD, "net_worth_minor": 124_000 * USD},
        ["limits you to 12,400.00 USD"],
        {C.REG_CF_LIMIT},
    ),
    (
        "reg cf income one cent under $124,000: 5% of the greater ($124,000) = $6,200 allowed",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        6_200 * USD,
        {"annual_income_minor": 124_000 * USD - 1, "net_worth_minor": 124_000 * USD},
        [],
        set(),
    ),
    (
        "reg cf income one cent under $124,000: $6,210 is over",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        6_210 * USD,
        {"annual_income_minor": 124_000 * USD - 1, "net_worth_minor": 124_000 * USD},
        ["limits you to 6,200.00 USD"],
        {C.REG_CF_LIMIT},
    ),
    (
        "reg cf low income: the $2,500 floor",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        2_500 * USD,
        {"annual_income_minor": 30_000 * USD, "net_worth_minor": 20_000 * USD},
        [],
        set(),
    ),
    (
        "reg cf counts the last 12 months across offerings",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        2_000 * USD,
        {
            "annual_income_minor": 30_000 * USD,
            "net_worth_minor": 20_000 * USD,
            "reg_cf_invested_12m_minor": 1_000 * USD,
        },
        ["you have invested 1,000.00 USD", "at most 1,500.00 USD is left"],
        {C.REG_CF_LIMIT},
    ),
    (
        "reg cf high earners capped at $124,000",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        124_010 * USD,
        {"annual_income_minor": 5_000_000 * USD, "net_worth_minor": 9_000_000 * USD},
        ["limits you to 124,000.00 USD"],
        {C.REG_CF_LIMIT},
    ),
    (
        "reg cf accredited: no limit",
        {"accreditation": "self_certified"},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        500_000 * USD,
        {},
        [],
        set(),
    ),
    (
        "reg cf without figures",
        {},
        terms(Exemption.REG_CF, min_investment_minor=10 * USD),
        1_000 * USD,
        {},
        ["annual income and net worth"],
        {C.FINANCIALS_MISSING},
    ),
    (
        "reg a tier 2: 10% of the greater",
        {},
        terms(Exemption.REG_A_TIER2),
        10_000 * USD,
        {"annual_income_minor": 60_000 * USD, "net_worth_minor": 100_000 * USD},
        [],
        set(),
    ),
    (
        "reg a tier 2 over 10% counting earlier commitments",
        {},
        terms(Exemption.REG_A_TIER2),
        5_000 * USD,
        {
            "annual_income_minor": 60_000 * USD,
            "net_worth_minor": 100_000 * USD,
            "existing_commitment_minor": 6_000 * USD,
        },
        ["at most 4,000.00 USD more"],
        {C.REG_A_TIER2_LIMIT},
    ),
    (
        "country not in the allowed list",
        {"country": "FR", "accreditation": "verified"},
        terms(allowed_countries=frozenset({"US", "DE"})),
        5_000 * USD,
        {},
        ["not open to investors in France"],
        {C.COUNTRY_NOT_ALLOWED},
    ),
    (
        "country blocked",
        {"country": "DE", "accreditation": "verified"},
        terms(blocked_countries=frozenset({"DE"})),
        5_000 * USD,
        {},
        ["not open to investors in Germany"],
        {C.COUNTRY_BLOCKED},
    ),
    (
        "below the minimum",
        {"accreditation": "verified"},
        terms(),
        500 * USD,
        {},
        ["minimum investment is 1,000.00 USD"],
        {C.BELOW_MINIMUM},
    ),
    (
        "above the maximum with an earlier commitment",
        {"accreditation": "verified"},
        terms(max_investment_minor=10_000 * USD),
        5_000 * USD,
        {"existing_commitment_minor": 6_000 * USD},
        ["maximum investment per investor is 10,000.00 USD; you already committed 6,000.00 USD"],
        {C.ABOVE_MAXIMUM},
    ),
    (
        "not a whole number of tokens",
        {"accreditation": "verified"},
        terms(),
        1_005 * USD,
        {},
        ["whole number of tokens"],
        {C.AMOUNT_NOT_WHOLE_TOKENS},
    ),
    (
        "no wallet",
        {"accreditation": "verified", "wallet": None},
        terms(),
        5_000 * USD,
        {},
        ["wallet"],
        {C.NO_REGISTERED_WALLET},
    ),
    (
        "wallet linked but not registered on-chain",
        {"accreditation": "verified"},
        terms(),
        5_000 * USD,
        {"registered_wallets": frozenset()},
        ["registered on-chain"],
        {C.NO_REGISTERED_WALLET},
    ),
    (
        "offering closed",
        {"accreditation": "verified"},
        terms(accepting=False, not_accepting_reason="This offering is closed."),
        5_000 * USD,
        {},
        ["This offering is closed."],
        {C.NOT_ACCEPTING},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "offering", "amount", "ctx", "expected", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule(kwargs, offering, amount, ctx, expected, codes) -> None:
    result = subscription_eligibility(
        investor=investor(**kwargs), terms=offering, amount_minor=amount, context=context(**ctx)
    )
    if not expected:
        assert result.allowed, result.reasons
        assert result.reasons == []
    else:
        assert not result.allowed
        text = " ".join(r.message for r in result.reasons)
        for fragment in expected:
            assert fragment in text, text
    assert {r.code for r in result.reasons} == codes, result.reasons


@pytest.mark.django_db
def test_every_reason_is_given_not_only_the_first() -> None:
    person = investor(kyc=KycStatus.PENDING, screening=ScreeningStatus.UNDER_REVIEW, country="FR", wallet=None)
    result = subscription_eligibility(
        investor=person,
        terms=terms(allowed_countries=frozenset({"US"})),
        amount_minor=1_005 * USD,
        context=context(registered_wallets=frozenset()),
    )
    assert len(result.reasons) == 6, result.reasons
    assert [r.code for r in result.reasons] == [
        C.KYC_PENDING,
        C.SCREENING_NOT_CLEAR,
        C.COUNTRY_NOT_ALLOWED,
        C.ACCREDITATION_NOT_VERIFIED,
        C.AMOUNT_NOT_WHOLE_TOKENS,
        C.NO_REGISTERED_WALLET,
    ]
    assert result.reasons[2].params == {"country": "FR"}


@pytest.mark.parametrize(
    ("income", "worth", "limit"),
    [
        (124_000 * USD, 124_000 * USD, 12_400 * USD),
        (124_000 * USD - 1, 124_000 * USD, 6_200 * USD),
        (124_000 * USD, 124_000 * USD - 1, 6_200 * USD),
        (124_000 * USD - 1, 124_000 * USD - 1, 6_199_99),
        (40_000 * USD, 40_000 * USD, 2_500 * USD),
        (60_000 * USD, 10_000 * USD, 3_000 * USD),
        (2_000_000 * USD, 500_000 * USD, 124_000 * USD),
    ],
)
def test_reg_cf_limit_formula(income: int, worth: int, limit: int) -> None:
    assert reg_cf_annual_limit(income_minor=income, net_worth_minor=worth) == limit


def test_exemption_rules_can_be_tightened_but_not_loosened() -> None:
    base = exemption_profile(Exemption.REG_CF)
    tighter = dataclasses.replace(base, lockup_seconds=base.lockup_seconds * 2, cancel_window_hours=72)
    assert exemption_rules_loosened(Exemption.REG_CF, tighter) == []
    looser = dataclasses.replace(base, lockup_seconds=0, min_open_days=10, issuer_raise_cap_minor=None)
    problems = exemption_rules_loosened(Exemption.REG_CF, looser)
    assert len(problems) == 3
    assert any("at least 21 days" in p for p in problems)
    c = exemption_profile(Exemption.REG_D_506C)
    assert exemption_rules_loosened(Exemption.REG_D_506C, dataclasses.replace(c, accreditation_verified=False))
    s = exemption_profile(Exemption.REG_S)
    assert "cannot be sold to US persons" in " ".join(
        exemption_rules_loosened(Exemption.REG_S, dataclasses.replace(s, us_persons_allowed=True))
    )
    assert isinstance(base, ExemptionRules) and base.investor_limit == InvestorLimit.REG_CF


def test_figures_come_from_settings(settings) -> None:
    settings.EXEMPTION_FIGURES = {**settings.EXEMPTION_FIGURES, "reg_cf_limit_cap_cents": 130_000 * USD}
    assert reg_cf_annual_limit(income_minor=5_000_000 * USD, net_worth_minor=5_000_000 * USD) == 130_000 * USD
