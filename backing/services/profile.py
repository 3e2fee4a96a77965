"""The issuer's account of what backs a token, each change audited with before and after (the backing rule,
which decides what may be minted, changes only with a second person: backing/services/rule.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from backing.models import BackingAsset, BackingProfile, CustodianRole, HolderClaim, LegalStructure
from backing.transparency import transparency_forget
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
    transparency_forget(offering=offering)
    return profile
