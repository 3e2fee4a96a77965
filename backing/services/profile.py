"""The issuer's account of what backs a token, and the backing rule; each change audited with before and after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from backing.models import (
    BackingAsset,
    BackingProfile,
    BackingRule,
    CustodianRole,
    HolderClaim,
    LegalStructure,
)
from backing.quantities import UNIT_CODE, QuantityInvalid, ratio_parse, scale_check
from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from offerings.models import Offering


@dataclass(frozen=True)
class CustodianInput:
    name: str
    role: str


@dataclass(frozen=True)
class ProfileInput:
    asset_kind: str
    asset_details: str
    legal_structure: str
    structure_name: str
    holder_claim: str
    reserves_segregated: bool
    redemption_terms: str
    custodians: Sequence[CustodianInput]


def _profile_state(profile: BackingProfile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "asset_kind": profile.asset_kind,
        "asset_details": profile.asset_details,
        "legal_structure": profile.legal_structure,
        "structure_name": profile.structure_name,
        "holder_claim": profile.holder_claim,
        "reserves_segregated": profile.reserves_segregated,
        "redemption_terms": profile.redemption_terms,
        "custodians": [[c.name, c.role] for c in profile.custodians.order_by("pk")],
    }


def _choice(value: str, choices: type[Any], what: str) -> str:
    if value not in choices.values:
        raise ApplicationError(f"Choose {what} from the list.", code="invalid_choice")
    return value


@transaction.atomic
def backing_profile_save(*, offering: Offering, data: ProfileInput, actor: User) -> BackingProfile:
    """Create or replace the token's backing profile (custodians included)."""
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    _choice(data.asset_kind, BackingAsset, "what backs the token")
    _choice(data.legal_structure, LegalStructure, "the legal structure")
    _choice(data.holder_claim, HolderClaim, "what a holder has")
    if not data.redemption_terms.strip():
        raise ApplicationError(
            "Describe the redemption terms, even if there is no redemption.", code="redemption_terms"
        )
    custodians = [c for c in data.custodians if c.name.strip()]
    for c in custodians:
        _choice(c.role, CustodianRole, f"the role of {c.name.strip()}")
    profile = BackingProfile.objects.filter(offering=offering).first()
    before = _profile_state(profile)
    profile = profile or BackingProfile(offering=offering)
    profile.asset_kind = data.asset_kind
    profile.asset_details = data.asset_details.strip()
    profile.legal_structure = data.legal_structure
    profile.structure_name = data.structure_name.strip()[:200]
    profile.holder_claim = data.holder_claim
    profile.reserves_segregated = bool(data.reserves_segregated)
    profile.redemption_terms = data.redemption_terms.strip()
    profile.updated_by = actor
    profile.save()
    profile.custodians.all().delete()
    profile.custodians.bulk_create(
        [profile.custodians.model(profile=profile, name=c.name.strip()[:200], role=c.role) for c in custodians]
    )
    audit_record(
        actor=actor,
        action="backing.profile_saved",
        obj=profile,
        issuer=offering.issuer,
        before=before,
        after=_profile_state(profile),
    )
    return profile


def _rule_state(rule: BackingRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "unit_code": rule.unit_code,
        "unit_scale": rule.unit_scale,
        "numerator": rule.reserve_per_token_numerator,
        "denominator": rule.reserve_per_token_denominator,
        "staleness_days": rule.staleness_days,
    }


MAX_STALENESS_DAYS = 3660


@transaction.atomic
def backing_rule_save(
    *, offering: Offering, unit_code: str, unit_scale: int, reserve_per_token: str, staleness_days: int, actor: User
) -> BackingRule:
    """Set how much reserve one token unit needs (typed in the unit: "1.00", "1/3") and the staleness limit.

    From then on every mint of the token is checked against its latest approved attestation."""
    Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
    unit_code = (unit_code or "").strip()
    if not UNIT_CODE.fullmatch(unit_code):
        raise ApplicationError(
            "Name the reserve's unit: a currency code such as USD, or a unit such as g or oz.", code="unit"
        )
    try:
        scale = scale_check(unit_scale)
        numerator, denominator = ratio_parse(reserve_per_token, scale=scale)
    except QuantityInvalid as exc:
        raise ApplicationError(exc.message, code="invalid_ratio") from exc
    if (
        isinstance(staleness_days, bool)
        or not isinstance(staleness_days, int)
        or not 1 <= staleness_days <= MAX_STALENESS_DAYS
    ):
        raise ApplicationError(
            f"The staleness limit is a whole number of days from 1 to {MAX_STALENESS_DAYS}.", code="staleness"
        )
    rule = BackingRule.objects.select_for_update().filter(offering=offering).first()
    before = _rule_state(rule)
    rule = rule or BackingRule(offering=offering)
    rule.unit_code, rule.unit_scale = unit_code, scale
    rule.reserve_per_token_numerator, rule.reserve_per_token_denominator = numerator, denominator
    rule.staleness_days = staleness_days
    rule.updated_by = actor
    rule.save()
    audit_record(
        actor=actor,
        action="backing.rule_saved",
        obj=rule,
        issuer=offering.issuer,
        before=before,
        after=_rule_state(rule),
    )
    return rule
