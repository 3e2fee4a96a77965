"""How holders are registered: the one read of investor registration details for the register's exports.

Every export and page of the register that names a holder reads it here, so "as of a date" has one
meaning. Tax forms and accreditation claims are read as they stood at `at` (a form signed later, or
superseded before, does not count); name, holder type and address are the investor's current ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from investors.models import (
    AccreditationClaim,
    AccreditationStatus,
    EntityType,
    InvestorKind,
    InvestorProfile,
    TaxForm,
    TaxFormKind,
)

TAX_FORM_SHORT: dict[str, str] = {TaxFormKind.W9: "W-9", TaxFormKind.W8BEN: "W-8BEN", TaxFormKind.W8BENE: "W-8BEN-E"}


@dataclass(frozen=True)
class HolderDetails:
    investor_id: int
    reference: str  # the id the on-chain registry knows the investor by
    legal_name: str
    holder_type: str  # "Individual", or "Entity (Limited liability company)"
    address: str  # one line: street, city, region, postal code
    country: str  # ISO 3166-1 alpha-2
    tax_form: str  # "W-9", "W-8BEN", "W-8BEN-E", or "" when none was ever signed
    tax_form_status: str  # "valid", "expired" or "missing"
    accreditation_status: str
    accreditation_method: str


def _holder_type(profile: InvestorProfile) -> str:
    if profile.kind == InvestorKind.ENTITY:
        kind = EntityType(profile.entity_type).label if profile.entity_type in EntityType.values else "Entity"
        return f"Entity ({kind})"
    return "Individual" if profile.kind == InvestorKind.INDIVIDUAL else ""


def _address(profile: InvestorProfile) -> str:
    parts = [profile.address_line1, profile.address_line2, profile.city, profile.region, profile.postal_code]
    return ", ".join(p for p in parts if p)


def holder_details(*, investor_ids: Iterable[int], at: dt.datetime | None = None) -> dict[int, HolderDetails]:
    """investor id → registration details, in three queries whatever the number of investors."""
    ids = sorted({i for i in investor_ids if i is not None})
    if not ids:
        return {}
    moment = at or timezone.now()
    day = moment.date()
    profiles = InvestorProfile.objects.filter(pk__in=ids).only(
        "id",
        "public_id",
        "kind",
        "entity_type",
        "legal_name",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
    )
    forms: dict[int, TaxForm] = {}
    form_rows = (
        TaxForm.objects.filter(investor_id__in=ids, created_at__lte=moment)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment))
        .only("investor_id", "kind", "expires_on", "created_at")
        .order_by("investor_id", "-created_at", "-id")
    )
    for row in form_rows:
        forms.setdefault(row.investor_id, row)
    claims: dict[int, AccreditationClaim] = {}
    claim_rows = (
        AccreditationClaim.objects.filter(investor_id__in=ids, submitted_at__lte=moment)
        .exclude(status=AccreditationStatus.WITHDRAWN)
        .only("investor_id", "method", "status", "expires_at", "submitted_at")
        .order_by("investor_id", "-submitted_at", "-id")
    )
    for claim_row in claim_rows:
        claims.setdefault(claim_row.investor_id, claim_row)
    found = {}
    for p in profiles:
        form = forms.get(p.pk)
        if form is None:
            form_status = "missing"
        elif form.expires_on is not None and form.expires_on < day:
            form_status = "expired"
        else:
            form_status = "valid"
        claim = claims.get(p.pk)
        if claim is None:
            accreditation = "none"
        elif claim.expires_at is not None and claim.expires_at < moment:
            accreditation = AccreditationStatus.EXPIRED.label
        else:
            accreditation = claim.get_status_display()
        found[p.pk] = HolderDetails(
            investor_id=p.pk,
            reference=p.reference,
            legal_name=p.legal_name,
            holder_type=_holder_type(p),
            address=_address(p),
            country=str(p.country or ""),
            tax_form=TAX_FORM_SHORT.get(form.kind, form.kind) if form else "",
            tax_form_status=form_status,
            accreditation_status=accreditation,
            accreditation_method=claim.get_method_display() if claim else "",
        )
    return found
