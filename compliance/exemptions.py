"""Exemption profiles as data: what each securities exemption lets an offering do by default.

Choosing an exemption fills an offering's rules from its profile; the issuer may tighten any rule
but never loosen it (`exemption_rules_loosened` names every attempt). Figures come from
`settings.EXEMPTION_FIGURES` so operators can follow the SEC's inflation adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models

DAY_SECONDS = 24 * 3600


class Exemption(models.TextChoices):
    REG_D_506B = "reg_d_506b", "Regulation D, Rule 506(b)"
    REG_D_506C = "reg_d_506c", "Regulation D, Rule 506(c)"
    REG_S = "reg_s", "Regulation S"
    REG_CF = "reg_cf", "Regulation Crowdfunding"
    REG_A_TIER2 = "reg_a_tier2", "Regulation A+, Tier 2"


class InvestorLimit(models.TextChoices):
    NONE = "none", "No per-investor limit"
    REG_CF = "reg_cf", "Reg CF annual limit across all Reg CF offerings"
    REG_A = "reg_a", "Reg A+ Tier 2: 10% of income or net worth"


@dataclass(frozen=True)
class ExemptionRules:
    """The rules one offering applies. A profile gives the loosest rules its exemption allows."""

    accredited_only: bool
    accreditation_verified: bool
    max_non_accredited: int | None  # None: no count applies
    us_persons_allowed: bool
    general_solicitation: bool
    investor_limit: str
    issuer_raise_cap_minor: int | None  # USD cents per 12 months
    min_open_days: int
    cancel_window_hours: int  # investors may cancel until this long before the close date
    reconfirm_business_days: int  # after a material change; 0: no reconfirmation
    lockup_seconds: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _figure(name: str) -> Any:
    return settings.EXEMPTION_FIGURES[name]


def _lockup(exemption: str) -> int:
    return int(_figure("lockup_days").get(exemption, 0)) * DAY_SECONDS


def exemption_profile(exemption: str) -> ExemptionRules:
    """The default (loosest permitted) rules of an exemption."""
    lockup = _lockup(exemption)
    if exemption == Exemption.REG_D_506B:
        # 506(b)(2)(i): any number of accredited investors, at most 35 non-accredited purchasers.
        return ExemptionRules(
            accredited_only=False,
            accreditation_verified=False,
            max_non_accredited=int(_figure("rule_506b_max_non_accredited")),
            us_persons_allowed=True,
            general_solicitation=False,  # 502(c)
            investor_limit=InvestorLimit.NONE,
            issuer_raise_cap_minor=None,
            min_open_days=0,
            cancel_window_hours=0,
            reconfirm_business_days=0,
            lockup_seconds=lockup,
        )
    if exemption == Exemption.REG_D_506C:
        # 506(c)(2)(ii): every purchaser accredited, with reasonable steps to verify it.
        return ExemptionRules(
            accredited_only=True,
            accreditation_verified=True,
            max_non_accredited=0,
            us_persons_allowed=True,
            general_solicitation=True,
            investor_limit=InvestorLimit.NONE,
            issuer_raise_cap_minor=None,
            min_open_days=0,
            cancel_window_hours=0,
            reconfirm_business_days=0,
            lockup_seconds=lockup,
        )
    if exemption == Exemption.REG_S:
        # Rule 903: offshore transactions, no US persons during the distribution compliance period.
        return ExemptionRules(
            accredited_only=False,
            accreditation_verified=False,
            max_non_accredited=None,
            us_persons_allowed=False,
            general_solicitation=False,  # 902(c): no directed selling efforts in the US
            investor_limit=InvestorLimit.NONE,
            issuer_raise_cap_minor=None,
            min_open_days=0,
            cancel_window_hours=0,
            reconfirm_business_days=0,
            lockup_seconds=lockup,
        )
    if exemption == Exemption.REG_CF:
        return ExemptionRules(
            accredited_only=False,
            accreditation_verified=False,
            max_non_accredited=None,
            us_persons_allowed=True,
            general_solicitation=True,
            investor_limit=InvestorLimit.REG_CF,
            issuer_raise_cap_minor=int(_figure("reg_cf_issuer_cap_cents")),
            min_open_days=int(_figure("reg_cf_min_open_days")),
            cancel_window_hours=int(_figure("reg_cf_cancel_hours")),
            reconfirm_business_days=int(_figure("reg_cf_reconfirm_business_days")),
            lockup_seconds=lockup,
        )
    if exemption == Exemption.REG_A_TIER2:
        return ExemptionRules(
            accredited_only=False,
            accreditation_verified=False,
            max_non_accredited=None,
            us_persons_allowed=True,
            general_solicitation=True,
            investor_limit=InvestorLimit.REG_A,
            issuer_raise_cap_minor=int(_figure("reg_a_tier2_issuer_cap_cents")),
            min_open_days=0,
            cancel_window_hours=0,
            reconfirm_business_days=0,
            lockup_seconds=lockup,
        )
    raise ValueError(f"Unknown exemption {exemption!r}.")


def exemption_rules_loosened(exemption: str, rules: ExemptionRules) -> list[str]:
    """Every way `rules` is looser than the exemption allows, in words (empty when only tightened)."""
    base = exemption_profile(exemption)
    label = Exemption(exemption).label
    problems: list[str] = []
    if base.accredited_only and not rules.accredited_only:
        problems.append(f"{label} sells to accredited investors only.")
    if base.accreditation_verified and not rules.accreditation_verified:
        problems.append(f"{label} requires verified accreditation.")
    if base.max_non_accredited is not None and (
        rules.max_non_accredited is None or rules.max_non_accredited > base.max_non_accredited
    ):
        problems.append(f"{label} allows at most {base.max_non_accredited} non-accredited purchasers.")
    if rules.max_non_accredited is not None and rules.max_non_accredited < 0:
        problems.append("The number of non-accredited purchasers cannot be negative.")
    if not base.us_persons_allowed and rules.us_persons_allowed:
        problems.append(f"{label} cannot be sold to US persons.")
    if rules.general_solicitation and not base.general_solicitation:
        problems.append(f"{label} does not allow general solicitation.")
    if rules.investor_limit != base.investor_limit:
        problems.append(f"{label} applies its own per-investor limit; it cannot be changed.")
    if base.issuer_raise_cap_minor is not None and (
        rules.issuer_raise_cap_minor is None or rules.issuer_raise_cap_minor > base.issuer_raise_cap_minor
    ):
        problems.append(f"{label} caps what an issuer raises at ${base.issuer_raise_cap_minor // 100:,} per 12 months.")
    if rules.min_open_days < base.min_open_days:
        problems.append(f"{label} offerings stay open at least {base.min_open_days} days.")
    if rules.cancel_window_hours < base.cancel_window_hours:
        problems.append(f"{label} lets investors cancel until {base.cancel_window_hours} hours before the close date.")
    if base.reconfirm_business_days and (
        rules.reconfirm_business_days <= 0 or rules.reconfirm_business_days > base.reconfirm_business_days
    ):
        problems.append(
            f"{label} cancels commitments not reconfirmed within {base.reconfirm_business_days} business days "
            "of a material change."
        )
    if rules.lockup_seconds < base.lockup_seconds:
        problems.append(f"{label} securities are locked up at least {base.lockup_seconds // DAY_SECONDS} days.")
    return problems
