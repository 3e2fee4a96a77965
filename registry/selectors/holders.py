"""How holders are registered: the one read of investor registration details for the register's exports.

Every export and page of the register that names a holder reads it here, so "as of a date" has one
meaning. Tax forms and accreditation claims are read as they stood at `at` (a form signed later, or
superseded before, does not count); name, holder type and address are the investor's current ones.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.raw_rows import queryset_rows_raw
from investors.models import (
    AccreditationClaim,
    AccreditationMethod,
    AccreditationStatus,
    EntityType,
    InvestorKind,
    InvestorProfile,
    TaxForm,
    TaxFormKind,
)
from investors.selectors import holder_details_as_of

TAX_FORM_SHORT: dict[str, str] = {TaxFormKind.W9: "W-9", TaxFormKind.W8BEN: "W-8BEN", TaxFormKind.W8BENE: "W-8BEN-E"}


class HolderDetails(NamedTuple):
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


ENTITY_TYPES = dict(EntityType.choices)
ACCREDITATION_STATUSES = dict(AccreditationStatus.choices)
ACCREDITATION_METHODS = dict(AccreditationMethod.choices)


def _holder_type(kind: str, entity_type: str) -> str:
    if kind == InvestorKind.ENTITY:
        return f"Entity ({ENTITY_TYPES.get(entity_type, 'Entity')})" if entity_type else "Entity"
    return "Individual" if kind == InvestorKind.INDIVIDUAL else ""


def _text(value: Any) -> str:
    """A date or timestamp as ISO text, whether the driver returned text (SQLite) or an object (PostgreSQL)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def holder_details(
    *, investor_ids: Iterable[int] | QuerySet[Any], at: dt.datetime | None = None
) -> dict[int, HolderDetails]:
    """investor id → registration details, in three queries whatever the number of investors.

    `investor_ids` may be a queryset of ids (`.values("investor_id")`), which the database reads as a
    subquery. Reads plain values, not model instances: the master file asks for every holder there is.
    """
    ids: list[int] | QuerySet[Any]
    if isinstance(investor_ids, QuerySet):
        ids = investor_ids
    else:
        ids = sorted({i for i in investor_ids if i is not None})
        if not ids:
            return {}
    moment = at or timezone.now()
    day = moment.date().isoformat()
    moment_text = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    forms: dict[int, tuple[str, str]] = {}
    form_rows = (
        TaxForm.objects.filter(investor_id__in=ids, created_at__lte=moment)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment))
        .order_by("investor_id", "-created_at", "-id")
        .values_list("investor_id", "kind", "expires_on")
    )
    for investor_id, kind, expires_on in queryset_rows_raw(form_rows):
        forms.setdefault(investor_id, (kind, _text(expires_on)[:10]))
    claims: dict[int, tuple[str, str, str]] = {}
    claim_rows = (
        AccreditationClaim.objects.filter(investor_id__in=ids, submitted_at__lte=moment)
        .exclude(status=AccreditationStatus.WITHDRAWN)
        .order_by("investor_id", "-submitted_at", "-id")
        .values_list("investor_id", "method", "status", "expires_at")
    )
    for investor_id, method, status, expires_at in queryset_rows_raw(claim_rows):
        claims.setdefault(investor_id, (method, status, _text(expires_at)[:19]))
    profiles = InvestorProfile.objects.filter(pk__in=ids).values_list(
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
    found = {}
    types: dict[tuple[str, str], str] = {}
    # 17Ad-10(f): as of a past moment, the holder's registration then replaces the current one, and its
    # accreditation status is the one recorded then (a claim's row holds only its latest status).
    past = holder_details_as_of(investor_ids=ids, at=moment) if at is not None else {}
    for pk, public_id, kind, entity_type, name, line1, line2, city, region, postal_code, country in queryset_rows_raw(
        profiles
    ):
        then = past.get(pk)
        if then is not None:
            kind, entity_type, name, country = then.holder_type, then.entity_type, then.legal_name, then.country
            line1, line2, city, region, postal_code = (
                then.address_line1,
                then.address_line2,
                then.city,
                then.region,
                then.postal_code,
            )
        form = forms.get(pk)
        if form is None:
            form_status = "missing"
        elif form[1] and form[1] < day:
            form_status = "expired"
        else:
            form_status = "valid"
        claim = claims.get(pk)
        if then is not None and claim is not None and then.accreditation_status:
            claim = (
                then.accreditation_method or claim[0],
                then.accreditation_status,
                _text(then.accreditation_expires_at)[:19],
            )
        if claim is None:
            accreditation = "none"
        elif claim[2] and claim[2] < moment_text:
            accreditation = AccreditationStatus.EXPIRED.label
        else:
            accreditation = ACCREDITATION_STATUSES.get(claim[1], claim[1])
        holder_type = types.get((kind, entity_type))
        if holder_type is None:
            holder_type = types[kind, entity_type] = _holder_type(kind, entity_type)
        # Positional, in the field order: the master file reads millions of these.
        found[pk] = HolderDetails(
            pk,
            # SQLite keeps a UUID as its 32 hex digits; PostgreSQL's driver returns a UUID.
            public_id.hex if isinstance(public_id, uuid.UUID) else str(public_id).replace("-", ""),
            name,
            holder_type,
            ", ".join(filter(None, (line1, line2, city, region, postal_code))),
            country or "",
            TAX_FORM_SHORT.get(form[0], form[0]) if form else "",
            form_status,
            accreditation,
            ACCREDITATION_METHODS.get(claim[0], claim[0]) if claim else "",
        )
    return found
